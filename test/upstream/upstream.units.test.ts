/**
 * The pure parts of the upstream proxy with fixed inputs: upstream selection (priority, scope rules in
 * the auth-scope glob dialect), the circuit breaker on an injected clock, Bearer challenges, and each
 * protocol's upstream formats (npm's packument merge, OCI names, Cargo's index and dl, PyPI's PEP 691
 * page, Maven's path kinds, Composer's minified metadata, RubyGems' compact index).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../ts/upstream/classes.circuitbreaker.js';
import { selectUpstreams, upstreamAcceptsName, validateUpstreamConfig } from '../../ts/upstream/helpers.upstreamselect.js';
import { parseBearerChallenge, parseTokenResponse, tokenRequestUrl } from '../../ts/upstream/helpers.bearerchallenge.js';
import { statedDigests } from '../../ts/upstream/helpers.digestheader.js';
import { mergeWithUpstream, parseUpstreamPackument, upstreamTarball } from '../../ts/npm/helpers.npmupstream.js';
import { checkUpstreamManifest, upstreamRepositoryName } from '../../ts/oci/helpers.ociupstream.js';
import { scopeGrants } from '../../ts/core/helpers.scope.js';
import { downloadUrl, mergeIndexFiles, parseIndexFile, parseUpstreamConfig } from '../../ts/cargo/helpers.cargoupstream.js';
import { mergeProjectPage, parseUpstreamProject, upstreamFileOf } from '../../ts/pypi/helpers.pypiupstream.js';
import { classifyUpstreamPath, parseUpstreamSha1 } from '../../ts/maven/helpers.mavenupstream.js';
import { expandVersions, mergeMetadataFile, parseUpstreamMetadata } from '../../ts/composer/helpers.composerupstream.js';
import { minifyVersions } from '../../ts/composer/helpers.composer.js';
import { dependencyEntriesOfInfo, gemJsonWithOurUrls, infoChecksum, mergeVersionsFiles, parseVersionsFile, servedIndexOfVersionsLines } from '../../ts/rubygems/helpers.rubygemsupstream.js';
import type { IUpstreamRegistryConfig } from '../../ts/upstream/interfaces.upstream.js';

const upstream = (id: string, priority: number, extra: Partial<IUpstreamRegistryConfig> = {}): IUpstreamRegistryConfig => ({
  id,
  url: 'https://registry.example.com',
  priority,
  enabled: true,
  ...extra,
});

describe('upstream selection', () => {
  it('orders by priority, skips disabled upstreams and keeps configuration order on ties', () => {
    const chosen = selectUpstreams(
      { enabled: true, upstreams: [upstream('c', 5), upstream('a', 1), upstream('off', 0, { enabled: false }), upstream('b', 5)] },
      'anything',
    );
    assert.deepEqual(chosen.map((u) => u.id), ['a', 'c', 'b']);
  });

  it('routes names by include and exclude rules', () => {
    const rules = [{ pattern: '@company/*', action: 'include' as const }];
    assert.equal(upstreamAcceptsName(rules, '@company/tool'), true);
    assert.equal(upstreamAcceptsName(rules, '@company/deep/er'), true);
    assert.equal(upstreamAcceptsName(rules, 'left-pad'), false);
    assert.equal(upstreamAcceptsName([{ pattern: '@company/*', action: 'exclude' }], '@company/tool'), false);
    assert.equal(upstreamAcceptsName([{ pattern: '@company/*', action: 'exclude' }], 'left-pad'), true);
    assert.equal(upstreamAcceptsName([{ pattern: '*', action: 'include' }, { pattern: 'evil-*', action: 'exclude' }], 'evil-pkg'), false);
    assert.equal(upstreamAcceptsName(undefined, 'x'), true);
  });

  it('reads a pattern exactly as an auth scope reads the same name', () => {
    for (const [pattern, name] of [
      ['@company/*', '@company/a'],
      ['library/*', 'library/a/b'],
      ['lib*pad', 'left-pad'],
      ['lib*pad', 'libpad'],
      ['a.b', 'aXb'],
    ]) {
      assert.equal(upstreamAcceptsName([{ pattern, action: 'include' }], name), scopeGrants(`npm:package:${pattern}:read`, `npm:package:${name}`, 'read'), `${pattern} vs ${name}`);
    }
  });

  it('refuses ids that cannot be a storage segment, duplicate ids, bad URLs and incomplete auth', () => {
    assert.throws(() => validateUpstreamConfig('npm', { enabled: true, upstreams: [upstream('../x', 1)] }), /upstream id/);
    assert.throws(() => validateUpstreamConfig('npm', { enabled: true, upstreams: [upstream('a', 1), upstream('a', 2)] }), /used twice/);
    assert.throws(() => validateUpstreamConfig('npm', { enabled: true, upstreams: [upstream('a', 1, { url: 'ftp://registry.example.com' })] }), /http/);
    assert.throws(() => validateUpstreamConfig('npm', { enabled: true, upstreams: [upstream('a', 1, { auth: { type: 'bearer' } })] }), /without a token/);
    validateUpstreamConfig('npm', { enabled: true, upstreams: [upstream('a', 1, { auth: { type: 'basic', username: 'u', password: 'p' } })] });
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, lets one probe through once the delay passed, and closes on its success', () => {
    let now = 1000;
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 500, now: () => now });
    breaker.recordFailure();
    breaker.recordFailure();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), true);
    breaker.recordFailure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryAcquire(), false);
    now += 499;
    assert.equal(breaker.tryAcquire(), false);
    now += 1;
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryAcquire(), true, 'the probe');
    assert.equal(breaker.tryAcquire(), false, 'only one probe at a time');
    breaker.recordSuccess();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), true);
  });

  it('reopens for another period when the probe fails; a released probe may be retried', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100, now: () => now });
    breaker.recordFailure();
    now = 100;
    assert.equal(breaker.tryAcquire(), true);
    breaker.release();
    assert.equal(breaker.tryAcquire(), true, 'released: the next caller probes');
    breaker.recordFailure();
    assert.equal(breaker.state, 'open');
    now = 199;
    assert.equal(breaker.tryAcquire(), false);
    now = 200;
    assert.equal(breaker.state, 'half-open');
  });
});

describe('bearer challenges', () => {
  it('parses the challenge of a token-auth registry and builds the token request', () => {
    const challenge = parseBearerChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:library/alpine:pull"');
    assert.deepEqual(challenge, { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:library/alpine:pull' });
    assert.equal(tokenRequestUrl(challenge!), 'https://auth.example.com/token?service=registry.example.com&scope=repository%3Alibrary%2Falpine%3Apull');
    assert.equal(parseBearerChallenge('Basic realm="x"'), null);
    assert.equal(parseBearerChallenge('Bearer service="x"'), null, 'no realm, no flow');
    assert.deepEqual(parseTokenResponse({ access_token: 't', expires_in: 300 }), { token: 't', expiresInSeconds: 300 });
    assert.deepEqual(parseTokenResponse({ token: 't' }), { token: 't', expiresInSeconds: 60 });
    assert.equal(parseTokenResponse({}), null);
  });
});

describe('digests an upstream states for its answer', () => {
  const sha256 = 'a'.repeat(64);
  const base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  it('reads sha-256 and sha-512 from Repr-Digest and Content-Digest, and nothing else', () => {
    assert.deepEqual(statedDigests(new Headers({ 'repr-digest': `sha-256=:${base64(sha256)}:` })), { sha256 });
    assert.deepEqual(statedDigests(new Headers({ 'content-digest': `md5=:AAAA:, unixsum=:AAAA:, sha-512=:${base64('b'.repeat(128))}:` })), { sha512: 'b'.repeat(128) });
    assert.deepEqual(statedDigests(new Headers({ 'repr-digest': `sha-256=:${base64('ab')}:`, 'content-digest': 'sha-256=not-a-byte-sequence' })), {}, 'a wrong length or form is no digest');
    assert.deepEqual(statedDigests(new Headers()), {});
  });

  it('states nothing about a content-coded body (fetch hands over the decoded bytes)', () => {
    assert.deepEqual(statedDigests(new Headers({ 'repr-digest': `sha-256=:${base64(sha256)}:`, 'content-encoding': 'gzip' })), {});
    assert.deepEqual(statedDigests(new Headers({ 'repr-digest': `sha-256=:${base64(sha256)}:`, 'content-encoding': 'identity' })), { sha256 });
  });
});

describe('npm upstream formats', () => {
  const remote = Buffer.from(
    JSON.stringify({
      name: 'pkg',
      'dist-tags': { latest: '2.0.0', beta: 'not-a-version' },
      versions: {
        '1.0.0': { name: 'pkg', version: '1.0.0', dist: { tarball: 'https://registry.example.com/pkg/-/pkg-1.0.0.tgz', shasum: 'a'.repeat(40) } },
        '2.0.0': { name: 'pkg', version: '2.0.0', dist: { tarball: 'https://cdn.example.net/pkg-2.0.0.tgz', integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` } },
        '../../x': { name: 'pkg', version: '../../x', dist: { tarball: 'https://registry.example.com/x' } },
      },
      time: { '1.0.0': '2020-01-01T00:00:00.000Z' },
    }),
  );

  it('keeps only versions it can name, and tags that point at them', () => {
    const doc = parseUpstreamPackument(remote, 'pkg')!;
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '2.0.0']);
    assert.deepEqual(doc['dist-tags'], { latest: '2.0.0' });
    assert.equal(parseUpstreamPackument(remote, 'other'), null, 'a document for another name is refused');
    assert.equal(parseUpstreamPackument(Buffer.from('nope'), 'pkg'), null);
  });

  it('merges: tarball URLs ours, local versions and tags win, the local document untouched', () => {
    const doc = parseUpstreamPackument(remote, 'pkg')!;
    const local = parseUpstreamPackument(
      Buffer.from(JSON.stringify({ name: 'pkg', 'dist-tags': { latest: '2.0.0', internal: '2.0.0' }, versions: { '2.0.0': { name: 'pkg', version: '2.0.0', description: 'ours', dist: { tarball: 'https://registry.example.com/npm/pkg/-/pkg-2.0.0.tgz' } } }, time: {} })),
      'pkg',
    )!;
    const frozen = JSON.stringify(local);
    const merged = mergeWithUpstream(local, doc, 'https://registry.example.com/npm');
    assert.equal(merged.versions['1.0.0'].dist.tarball, 'https://registry.example.com/npm/pkg/-/pkg-1.0.0.tgz');
    assert.equal(merged.versions['2.0.0'].description, 'ours');
    assert.deepEqual(merged['dist-tags'], { latest: '2.0.0', internal: '2.0.0' });
    assert.equal(JSON.stringify(local), frozen);
  });

  it('fetches tarballs from the upstream origin only, with the digest the packument gives', () => {
    const doc = parseUpstreamPackument(remote, 'pkg')!;
    assert.deepEqual(upstreamTarball(doc, 'https://registry.example.com', '1.0.0'), {
      url: 'https://registry.example.com/pkg/-/pkg-1.0.0.tgz',
      expect: { sha1: 'a'.repeat(40) },
    });
    const offOrigin = upstreamTarball(doc, 'https://registry.example.com/', '2.0.0')!;
    assert.equal(offOrigin.url, 'https://registry.example.com/pkg/-/pkg-2.0.0.tgz', 'another origin is not followed');
    assert.equal(offOrigin.expect.sha512, '01'.repeat(64));
    assert.equal(upstreamTarball(doc, 'https://registry.example.com', '9.9.9'), null);
  });
});

describe('oci upstream formats', () => {
  it('puts single-segment names below the configured namespace', () => {
    assert.equal(upstreamRepositoryName(upstream('hub', 1, { ociDefaultNamespace: 'library' }), 'alpine'), 'library/alpine');
    assert.equal(upstreamRepositoryName(upstream('hub', 1, { ociDefaultNamespace: 'library' }), 'team/app'), 'team/app');
    assert.equal(upstreamRepositoryName(upstream('hub', 1), 'alpine'), 'alpine');
  });

  it('accepts a manifest only with a type we serve and the digest asked for', () => {
    const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
    const checked = checkUpstreamManifest(bytes, 'application/vnd.oci.image.manifest.v1+json', null)!;
    assert.match(checked.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(checkUpstreamManifest(bytes, undefined, null), checked, 'the type from inside the document');
    assert.equal(checkUpstreamManifest(bytes, 'text/html', null), null);
    const other = { algorithm: 'sha256' as const, hex: '0'.repeat(64), digest: `sha256:${'0'.repeat(64)}` };
    assert.equal(checkUpstreamManifest(bytes, 'application/vnd.oci.image.manifest.v1+json', other), null);
  });
});

describe('cargo, pypi and maven upstream formats', () => {
  const line = (name: string, vers: string, cksum = 'a'.repeat(64)) => JSON.stringify({ name, vers, deps: [], cksum, features: {}, yanked: false });

  it('cargo: fills the dl template, or appends the standard path without markers', () => {
    const entry = parseIndexFile(`${line('Serde_Json', '1.0.0')}\n`, 'serde_json')[0];
    assert.equal(downloadUrl('https://crates.example.com/api/v1/crates', entry), 'https://crates.example.com/api/v1/crates/Serde_Json/1.0.0/download');
    assert.equal(
      downloadUrl('https://static.example.com/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate?sum={sha256-checksum}', entry),
      `https://static.example.com/Se/rd/se/rd/Serde_Json/Serde_Json-1.0.0.crate?sum=${'a'.repeat(64)}`,
    );
    const short = parseIndexFile(line('Ab', '0.1.0'), 'ab')[0];
    assert.equal(downloadUrl('https://static.example.com/{prefix}/{crate}', short), 'https://static.example.com/2/Ab');
    assert.equal(parseUpstreamConfig(Buffer.from('{"dl":"ftp://x"}')), null);
  });

  it('cargo: keeps the lines of the crate asked for and lets local versions replace upstream ones', () => {
    const upstream = parseIndexFile([line('tool', '1.0.0'), line('other', '1.0.0'), 'not json', line('tool', '1.1.0', 'b'.repeat(64)), line('tool', '2.0.0', 'short')].join('\n'), 'tool');
    assert.deepEqual(upstream.map((entry) => entry.vers), ['1.0.0', '1.1.0']);
    const local = parseIndexFile(line('tool', '1.1.0+build', 'c'.repeat(64)), 'tool');
    const merged = mergeIndexFiles(local, upstream).trim().split('\n').map((text) => JSON.parse(text));
    assert.deepEqual(merged.map((entry) => [entry.vers, entry.cksum[0]]), [['1.0.0', 'a'], ['1.1.0+build', 'c']]);
  });

  it('pypi: reads a PEP 691 page (relative URLs resolved, unsafe names and missing digests left out) and finds files and metadata', () => {
    const page = parseUpstreamProject(
      Buffer.from(
        JSON.stringify({
          name: 'demo',
          versions: ['1.0'],
          files: [
            { filename: 'demo-1.0-py3-none-any.whl', url: '../../packages/demo-1.0-py3-none-any.whl', hashes: { sha256: '1'.repeat(64) }, 'core-metadata': { sha256: '2'.repeat(64) }, yanked: 'broken' },
            { filename: 'demo-1.0.tar.gz', url: 'https://files.example.com/demo-1.0.tar.gz', hashes: { md5: 'x' } },
            { filename: '../evil.whl', url: 'https://files.example.com/evil.whl', hashes: { sha256: '3'.repeat(64) } },
          ],
        }),
      ),
      'https://pypi.example.com/simple/demo/',
    )!;
    assert.deepEqual(page.files.map((file) => file.filename), ['demo-1.0-py3-none-any.whl']);
    assert.equal(page.files[0].url, 'https://pypi.example.com/packages/demo-1.0-py3-none-any.whl');
    assert.equal(page.files[0].yanked, 'broken');
    assert.deepEqual(upstreamFileOf(page, 'demo-1.0-py3-none-any.whl.metadata'), { url: 'https://pypi.example.com/packages/demo-1.0-py3-none-any.whl.metadata', sha256: '2'.repeat(64), metadata: true });
    assert.equal(upstreamFileOf(page, 'demo-1.0.tar.gz'), null);
    const merged = mergeProjectPage('demo', null, page, (file) => `https://registry.example.com/pypi/packages/demo/${file}`);
    assert.equal(merged.links[0].url, 'https://registry.example.com/pypi/packages/demo/demo-1.0-py3-none-any.whl');
    assert.deepEqual(Object.keys(merged.project.releases), ['1.0']);
  });

  it('maven: metadata and SNAPSHOT checksums revalidate, release files are artifacts, plain SNAPSHOT files are not proxied', () => {
    assert.deepEqual(classifyUpstreamPath('com/example/lib/maven-metadata.xml'), { kind: 'document', name: 'com.example:lib', immutable: false, contentType: 'application/xml' });
    assert.deepEqual(classifyUpstreamPath('com/example/lib/1.0-SNAPSHOT/maven-metadata.xml.sha1'), { kind: 'document', name: 'com.example:lib', immutable: false, contentType: 'text/plain; charset=utf-8' });
    assert.deepEqual(classifyUpstreamPath('com/example/lib/1.0/lib-1.0.jar'), { kind: 'artifact', name: 'com.example:lib' });
    assert.deepEqual(classifyUpstreamPath('com/example/lib/1.0/lib-1.0.jar.sha1'), { kind: 'document', name: 'com.example:lib', immutable: true, contentType: 'text/plain; charset=utf-8' });
    assert.deepEqual(classifyUpstreamPath('com/example/lib/1.0-SNAPSHOT/lib-1.0-20240101.120000-3.jar'), { kind: 'artifact', name: 'com.example:lib' });
    assert.equal(classifyUpstreamPath('com/example/lib/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar'), null);
    assert.equal(classifyUpstreamPath('com/example/'), null);
    assert.equal(parseUpstreamSha1(Buffer.from(`${'A'.repeat(40)}  lib-1.0.jar\n`)), 'a'.repeat(40));
    assert.equal(parseUpstreamSha1(Buffer.from('<html>')), null);
  });
});

describe('composer upstream formats', () => {
  const sha = (c: string) => c.repeat(40);
  const entry = (version: string, dist: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name: 'acme/lib',
    version,
    version_normalized: `${version}.0`,
    type: 'library',
    dist: { type: 'zip', ...dist },
    ...extra,
  });

  it('expands composer/2.0 back into whole versions (keys carried over, __unset removed)', () => {
    const versions = [entry('2.0.0', { url: 'a', reference: sha('a') }, { license: 'MIT' }), entry('1.0.0', { url: 'b', reference: sha('b') }), entry('0.9.0', { url: 'c', reference: sha('c') })];
    assert.deepEqual(expandVersions(minifyVersions(versions)), versions);
    assert.deepEqual(expandVersions([{ a: 1, b: 2 }, { b: '__unset' }, 'junk', { c: 3 }]), [{ a: 1, b: 2 }, { a: 1 }, { a: 1, c: 3 }]);
  });

  it('keeps zip versions it can name (sha1, else 40-hex reference), resolves relative dist URLs, and lets local versions win', () => {
    const body = Buffer.from(
      JSON.stringify({
        minified: 'composer/2.0',
        packages: {
          'acme/lib': minifyVersions([
            entry('3.0.0', { url: '/zips/3.zip', reference: sha('c'), shasum: sha('d') }),
            entry('2.0.0', { url: 'https://code.example.com/2.zip', reference: sha('e'), shasum: '' }),
            entry('1.5.0', { url: 'https://code.example.com/1.5.zip', reference: 'v1.5.0', shasum: '' }),
            entry('1.0.0', { url: 'https://code.example.com/1.tar', reference: sha('f'), shasum: '', type: 'tar' }),
          ]),
        },
      }),
    );
    const parsed = parseUpstreamMetadata(body, 'acme/lib', 'https://registry.example.com/p2/acme/lib.json')!;
    assert.deepEqual(
      parsed.map((version) => [version.entry.version, version.distId, version.distUrl, version.sha1]),
      [
        ['3.0.0', sha('d'), 'https://registry.example.com/zips/3.zip', sha('d')],
        ['2.0.0', sha('e'), 'https://code.example.com/2.zip', undefined],
      ],
    );
    assert.equal(parseUpstreamMetadata(Buffer.from('<html>'), 'acme/lib', 'https://registry.example.com/'), null);
    assert.equal(parseUpstreamMetadata(Buffer.from('{"packages":{}}'), 'acme/lib', 'https://registry.example.com/'), null);

    const local = entry('3.0.0', { url: 'https://ours.example.com/dists/acme/lib/x.zip', reference: sha('1'), shasum: sha('1') });
    const merged = JSON.parse(mergeMetadataFile('acme/lib', [local as never], parsed, (id) => `https://ours.example.com/dists/acme/lib/${id}.zip`).toString());
    const versions = expandVersions(merged.packages['acme/lib']) as { version: string; dist: { url: string; shasum: string } }[];
    assert.deepEqual(
      versions.map((version) => [version.version, version.dist.url, version.dist.shasum]),
      [
        ['3.0.0', 'https://ours.example.com/dists/acme/lib/x.zip', sha('1')],
        ['2.0.0', `https://ours.example.com/dists/acme/lib/${sha('e')}.zip`, ''],
      ],
    );
  });
});

describe('rubygems upstream formats', () => {
  it('merges /versions: by priority within scope rules, a name owned by its first source, local lines last', () => {
    const first = parseVersionsFile(Buffer.from('created_at: 2024-01-01T00:00:00Z\n---\nrack 1.0,1.1 aaa\nrails 7.0 bbb\nacme-lib 1.0 ccc\nrack 1.2 ddd\n'))!;
    assert.equal(first.createdAt, '2024-01-01T00:00:00Z');
    const second = parseVersionsFile(Buffer.from('created_at: 2024-02-02T00:00:00Z\n---\nacme-lib 2.0 eee\nrack 9.9 fff\nacme-tool 1.0 ggg\n'))!;
    const merged = mergeVersionsFiles(
      first.createdAt,
      [
        { lines: first.lines, accepts: (name) => !name.startsWith('acme-') },
        { lines: second.lines, accepts: (name) => name.startsWith('acme-') },
      ],
      new Set(['rails']),
      'rails 8.0 hhh\n',
    );
    assert.equal(merged, 'created_at: 2024-01-01T00:00:00Z\n---\nrack 1.0,1.1 aaa\nrack 1.2 ddd\nacme-lib 2.0 eee\nacme-tool 1.0 ggg\nrails 8.0 hhh\n');
    assert.equal(parseVersionsFile(Buffer.from('<html>')), null);
  });

  it('replays /versions lines into the versions each gem serves (additions, yanks, platforms)', () => {
    assert.deepEqual(servedIndexOfVersionsLines(['rack 1.0,1.1,1.1-java aaa', 'rails 7.0 bbb', 'rack -1.0,1.2 ccc', 'rails -7.0 ddd']), {
      rack: [
        { version: '1.1', platform: 'ruby' },
        { version: '1.1', platform: 'java' },
        { version: '1.2', platform: 'ruby' },
      ],
      rails: [],
    });
  });

  it('reads the dependency API entries from an /info file, and points an upstream gem document here', () => {
    const info = Buffer.from(`---\n1.0.0 |checksum:${'b'.repeat(64)}\n1.1.0-x86_64-linux dep:>= 1&< 2,other:>= 0|checksum:${'c'.repeat(64)},ruby:>= 2.7\n`);
    assert.deepEqual(dependencyEntriesOfInfo('lib', info), [
      { name: 'lib', number: '1.0.0', platform: 'ruby', dependencies: [] },
      { name: 'lib', number: '1.1.0', platform: 'x86_64-linux', dependencies: [['dep', '>= 1, < 2'], ['other', '>= 0']] },
    ]);
    const document = Buffer.from(JSON.stringify({ name: 'lib', version: '1.0.0', gem_uri: 'https://registry.example.com/gems/lib-1.0.0.gem', project_uri: 'https://registry.example.com/gems/lib' }));
    assert.deepEqual(JSON.parse(gemJsonWithOurUrls(document, 'https://ours.example.com/rubygems')!.toString()), {
      name: 'lib',
      version: '1.0.0',
      gem_uri: 'https://ours.example.com/rubygems/gems/lib-1.0.0.gem',
      project_uri: 'https://ours.example.com/rubygems/api/v1/gems/lib.json',
    });
    assert.equal(gemJsonWithOurUrls(Buffer.from('[1]'), 'https://ours.example.com'), null);
    assert.equal(gemJsonWithOurUrls(Buffer.from('<html>'), 'https://ours.example.com'), null);
  });

  it("reads a version's checksum from an /info file", () => {
    const sha = 'a'.repeat(64);
    const info = Buffer.from(`---\n1.0.0 |checksum:${'b'.repeat(64)}\n1.1.0 dep:>= 1&< 2|checksum:${sha},ruby:>= 2.7\n1.1.0-x86_64-linux |checksum:${'c'.repeat(64)}\n2.0.0 |ruby:>= 3\n`);
    assert.equal(infoChecksum(info, '1.1.0'), sha);
    assert.equal(infoChecksum(info, '1.1.0-x86_64-linux'), 'c'.repeat(64));
    assert.equal(infoChecksum(info, '2.0.0'), null);
    assert.equal(infoChecksum(info, '3.0.0'), null);
  });
});
