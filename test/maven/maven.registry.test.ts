import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { assertHeadAndNotModifiedLikeGet } from '../helpers/headlikeget.js';
import { createMavenRegistry, hex, pomOf, type IMavenTestRegistry } from './maven.fixtures.js';

const LIB = '/maven/com/example/lib';
const jar = (text: string) => Buffer.from(`PK fake jar ${text}`);

describe('maven: deploy and read', () => {
  let r: IMavenTestRegistry;
  before(async () => {
    r = await createMavenRegistry();
  });
  after(() => r.close());

  it('stores a file and serves it with every checksum computed in the upload', async () => {
    assert.equal((await r.deploy(`${LIB}/1.0/lib-1.0.pom`, pomOf('com.example', 'lib', '1.0'))).status, 201);
    const bytes = jar('1.0');
    assert.equal((await r.deploy(`${LIB}/1.0/lib-1.0.jar`, bytes)).status, 201);
    const got = await r.request('GET', `${LIB}/1.0/lib-1.0.jar`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, bytes);
    assert.equal(got.headers['content-type'], 'application/java-archive');
    assert.equal(got.headers['content-length'], String(bytes.length));
    for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) {
      const checksum = await r.request('GET', `${LIB}/1.0/lib-1.0.jar.${algorithm}`);
      assert.equal(checksum.status, 200);
      assert.equal(checksum.text.trim(), hex(algorithm, bytes));
    }
    const again = await r.request('GET', `${LIB}/1.0/lib-1.0.jar`, { headers: { 'if-none-match': got.headers.etag } });
    assert.equal(again.status, 304);
    const range = await r.request('GET', `${LIB}/1.0/lib-1.0.jar`, { headers: { range: 'bytes=3-6' } });
    assert.equal(range.status, 206);
    assert.deepEqual(range.bytes, bytes.subarray(3, 7));
    const head = await r.request('HEAD', `${LIB}/1.0/lib-1.0.jar`);
    assert.equal(head.status, 200);
    assert.equal(head.bytes.length, 0);
  });

  it('stores classifiers and any extension, streamed', async () => {
    const sources = crypto.randomBytes(300_000);
    assert.equal((await r.request('PUT', `${LIB}/1.0/lib-1.0-sources.jar`, { body: Readable.from([sources]) as any })).status, 201);
    assert.deepEqual((await r.request('GET', `${LIB}/1.0/lib-1.0-sources.jar`)).bytes, sources);
    assert.equal((await r.deploy(`${LIB}/1.0/lib-1.0-dist.tar.gz`, 'tarball')).status, 201);
    assert.equal((await r.request('GET', `${LIB}/1.0/lib-1.0-dist.tar.gz`)).text, 'tarball');
  });

  it('derives maven-metadata.xml in Maven version order, with latest, release, lastUpdated and checksums', async () => {
    for (const version of ['1.10', '1.2', '1.0-rc1', '2.0-SNAPSHOT']) {
      r.clock.now = new Date('2026-11-27T08:00:00Z');
      const file = version.endsWith('-SNAPSHOT') ? `lib-2.0-20261127.080000-1.pom` : `lib-${version}.pom`;
      assert.equal((await r.deploy(`${LIB}/${version}/${file}`, pomOf('com.example', 'lib', version))).status, 201, version);
    }
    const res = await r.request('GET', `${LIB}/maven-metadata.xml`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/xml');
    const versions = [...res.text.matchAll(/<version>([^<]+)<\/version>/g)].map((m) => m[1]);
    assert.deepEqual(versions, ['1.0-rc1', '1.0', '1.2', '1.10', '2.0-SNAPSHOT']);
    assert.match(res.text, /<latest>2\.0-SNAPSHOT<\/latest>/);
    assert.match(res.text, /<release>1\.10<\/release>/);
    assert.match(res.text, /<lastUpdated>20261127080000<\/lastUpdated>/);
    assert.match(res.text, /<groupId>com\.example<\/groupId>/);
    for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) {
      const checksum = await r.request('GET', `${LIB}/maven-metadata.xml.${algorithm}`);
      assert.equal(checksum.text.trim(), hex(algorithm, res.bytes));
    }
  });

  it('answers maven-metadata.xml\'s HEAD and 304 with the headers of the GET they stand for, gzip asked or not', async () => {
    const artifact = '/maven/org/headvary/docs';
    // Over the 1 KiB below which nothing is compressed.
    for (let minor = 0; minor < 40; minor++) {
      const version = `3.${minor}.0`;
      assert.equal((await r.deploy(`${artifact}/${version}/docs-${version}.pom`, pomOf('org.headvary', 'docs', version))).status, 201, version);
    }
    await assertHeadAndNotModifiedLikeGet((method, headers) => r.request(method, `${artifact}/maven-metadata.xml`, { headers }));
  });

  it('accepts client metadata but serves its own', async () => {
    const before = (await r.request('GET', `${LIB}/maven-metadata.xml`)).text;
    const client = '<?xml version="1.0"?><metadata><groupId>com.example</groupId><artifactId>lib</artifactId><versioning><versions><version>9.9</version></versions></versioning></metadata>';
    assert.equal((await r.request('PUT', `${LIB}/maven-metadata.xml`, { body: client })).status, 201);
    assert.equal((await r.request('PUT', `${LIB}/maven-metadata.xml.sha1`, { body: hex('sha1', client) })).status, 201);
    assert.equal((await r.request('GET', `${LIB}/maven-metadata.xml`)).text, before);
  });

  it('refuses a redeploy of a release file with 409 and keeps the bytes', async () => {
    const res = await r.request('PUT', `${LIB}/1.0/lib-1.0.jar`, { body: jar('other') });
    assert.equal(res.status, 409);
    assert.match(res.text, /immutable/);
    assert.deepEqual((await r.request('GET', `${LIB}/1.0/lib-1.0.jar`)).bytes, jar('1.0'));
  });

  it('refuses a checksum that does not match and stores nothing for it', async () => {
    const keys = await r.keys();
    const res = await r.request('PUT', `${LIB}/1.0/lib-1.0.jar.sha1`, { body: hex('sha1', 'something else') });
    assert.equal(res.status, 400);
    assert.match(res.text, /sha1 mismatch/);
    assert.equal((await r.request('PUT', `${LIB}/1.0/lib-1.0.jar.md5`, { body: 'not-hex' })).status, 400);
    assert.deepEqual(await r.keys(), keys);
  });

  it('lists directories as HTML', async () => {
    const root = await r.request('GET', '/maven/');
    assert.equal(root.status, 200);
    assert.match(root.headers['content-type'], /^text\/html/);
    assert.match(root.text, /<a href="com\/">com\/<\/a>/);
    const artifact = await r.request('GET', `${LIB}/`);
    assert.match(artifact.text, /<a href="1\.0\/">1\.0\/<\/a>/);
    assert.match(artifact.text, /maven-metadata\.xml/);
    const version = await r.request('GET', `${LIB}/1.0/`);
    assert.match(version.text, /<a href="lib-1\.0\.jar">lib-1\.0\.jar<\/a> \d+/);
    assert.match(version.text, /lib-1\.0\.jar\.sha1/);
    assert.equal((await r.request('GET', '/maven/org/nothing/')).status, 404);
    // A directory that is an artifact and a group at once lists its versions and its subdirectories.
    assert.equal((await r.deploy('/maven/com/example/zed/1.0/zed-1.0.jar', jar('zed'))).status, 201);
    assert.equal((await r.deploy('/maven/com/example/zed/sub/2.0/sub-2.0.jar', jar('sub'))).status, 201);
    const both = await r.request('GET', '/maven/com/example/zed/');
    assert.deepEqual([...both.text.matchAll(/<a href="([^"]+\/)">/g)].map((m) => m[1]), ['../', '1.0/', 'sub/']);
    const group = await r.request('GET', '/maven/com/example/');
    assert.deepEqual([...group.text.matchAll(/<a href="([^"]+\/)">/g)].map((m) => m[1]), ['../', 'lib/', 'zed/']);
  });

  it('searches by groupId and artifactId', async () => {
    const res = await r.request('GET', '/maven/api/search?q=example:li');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.results.map((x: any) => `${x.groupId}:${x.artifactId}`), ['com.example:lib']);
    assert.equal((await r.request('GET', '/maven/api/search?q=nomatch')).json.results.length, 0);
    assert.equal((await r.request('GET', '/maven/api/search')).status, 400);
  });
});

describe('maven: SNAPSHOTs', () => {
  let r: IMavenTestRegistry;
  const SNAP = '/maven/com/example/snap/1.0-SNAPSHOT';
  before(async () => {
    r = await createMavenRegistry({ maven: { snapshotsToKeep: 2 } });
  });
  after(() => r.close());

  const deployBuild = async (build: number) => {
    r.clock.now = new Date(`2026-11-26T10:10:1${build}Z`);
    const stamp = `20261126.10101${build}-${build}`;
    assert.equal((await r.deploy(`${SNAP}/snap-1.0-${stamp}.pom`, pomOf('com.example', 'snap', '1.0-SNAPSHOT'))).status, 201);
    assert.equal((await r.deploy(`${SNAP}/snap-1.0-${stamp}.jar`, jar(`build ${build}`))).status, 201);
    assert.equal((await r.deploy(`${SNAP}/snap-1.0-${stamp}-sources.jar`, jar(`sources ${build}`))).status, 201);
  };

  it('writes version-level metadata with snapshotVersions and resolves -SNAPSHOT to the newest build', async () => {
    await deployBuild(1);
    await deployBuild(2);
    const metadata = await r.request('GET', `${SNAP}/maven-metadata.xml`);
    assert.equal(metadata.status, 200);
    assert.match(metadata.text, /<version>1\.0-SNAPSHOT<\/version>/);
    assert.match(metadata.text, /<snapshot>\s*<timestamp>20261126\.101012<\/timestamp>\s*<buildNumber>2<\/buildNumber>\s*<\/snapshot>/);
    assert.match(metadata.text, /<snapshotVersion>\s*<classifier>sources<\/classifier>\s*<extension>jar<\/extension>\s*<value>1\.0-20261126\.101012-2<\/value>/);
    assert.match(metadata.text, /<snapshotVersion>\s*<extension>pom<\/extension>\s*<value>1\.0-20261126\.101012-2<\/value>/);
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-SNAPSHOT.jar`)).text, jar('build 2').toString());
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-SNAPSHOT-sources.jar`)).text, jar('sources 2').toString());
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-SNAPSHOT.jar.sha1`)).text.trim(), hex('sha1', jar('build 2')));
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-20261126.101011-1.jar`)).text, jar('build 1').toString());
  });

  it('keeps the configured number of builds and deletes older ones', async () => {
    await deployBuild(3);
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-20261126.101011-1.jar`)).status, 404);
    assert.ok(!(await r.keys()).some((key) => key.includes('20261126.101011-1')));
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-20261126.101012-2.jar`)).status, 200);
    assert.equal((await r.request('GET', `${SNAP}/snap-1.0-SNAPSHOT.jar`)).text, jar('build 3').toString());
  });

  it('lets a SNAPSHOT build be deployed again', async () => {
    assert.equal((await r.request('PUT', `${SNAP}/snap-1.0-20261126.101013-3.jar`, { body: jar('rebuilt') })).status, 201);
  });
});

describe('maven: plugins, delete, auth and bad input', () => {
  let r: IMavenTestRegistry;
  before(async () => {
    r = await createMavenRegistry({ limits: { maxArtifactBytes: 1000, maxMetadataBytes: 1000 } });
  });
  after(() => r.close());

  it('lists a maven-plugin in its group metadata, with the prefix from the client metadata', async () => {
    const base = '/maven/com/example/plugins/hello-maven-plugin/1.0';
    assert.equal((await r.deploy(`${base}/hello-maven-plugin-1.0.pom`, pomOf('com.example.plugins', 'hello-maven-plugin', '1.0', 'maven-plugin', 'Hello'))).status, 201);
    let group = await r.request('GET', '/maven/com/example/plugins/maven-metadata.xml');
    assert.equal(group.status, 200);
    assert.match(group.text, /<plugin>\s*<name>Hello<\/name>\s*<prefix>hello<\/prefix>\s*<artifactId>hello-maven-plugin<\/artifactId>\s*<\/plugin>/);
    const client = '<metadata><plugins><plugin><name>Hello</name><prefix>hi</prefix><artifactId>hello-maven-plugin</artifactId></plugin></plugins></metadata>';
    assert.equal((await r.request('PUT', '/maven/com/example/plugins/maven-metadata.xml', { body: client })).status, 201);
    group = await r.request('GET', '/maven/com/example/plugins/maven-metadata.xml');
    assert.match(group.text, /<prefix>hi<\/prefix>/);
  });

  it('answers 401 with a Basic challenge to anonymous reads, and accepts Basic with the token as password', async () => {
    await r.deploy('/maven/com/example/auth/1.0/auth-1.0.jar', jar('auth'));
    for (const path of ['/maven/com/example/auth/1.0/auth-1.0.jar', '/maven/com/example/auth/maven-metadata.xml', '/maven/']) {
      const res = await r.request('GET', path, { token: null });
      assert.equal(res.status, 401, path);
      assert.equal(res.headers['www-authenticate'], 'Basic realm="smartregistry maven"');
    }
    const basic = Buffer.from(`reader:${r.tokens.reader}`).toString('base64');
    const res = await r.request('GET', '/maven/com/example/auth/1.0/auth-1.0.jar', { token: null, headers: { authorization: `Basic ${basic}` } });
    assert.equal(res.status, 200);
    const wrong = Buffer.from('reader:wrong').toString('base64');
    assert.equal((await r.request('PUT', '/maven/com/example/auth/1.1/auth-1.1.jar', { token: null, body: 'x', headers: { authorization: `Basic ${wrong}` } })).status, 401);
  });

  it('checks maven:artifact scopes for read, write and delete', async () => {
    assert.equal((await r.request('PUT', '/maven/com/example/auth/1.1/auth-1.1.jar', { token: r.tokens.reader, body: 'x' })).status, 403);
    assert.equal((await r.request('PUT', '/maven/com/example/auth/1.1/auth-1.1.jar', { token: r.tokens.writer, body: 'x' })).status, 201);
    assert.equal((await r.request('PUT', '/maven/org/other/x/1.0/x-1.0.jar', { token: r.tokens.writer, body: 'x' })).status, 403);
    assert.equal((await r.request('DELETE', '/maven/com/example/auth/1.1/', { token: r.tokens.writer })).status, 403);
  });

  it('deletes a version and an artifact (needs delete), metadata regenerated', async () => {
    await r.deploy('/maven/com/example/gone/1.0/gone-1.0.jar', jar('g1'));
    await r.deploy('/maven/com/example/gone/2.0/gone-2.0.jar', jar('g2'));
    assert.equal((await r.request('DELETE', '/maven/com/example/gone/2.0/', { token: r.tokens.deleter })).status, 204);
    const metadata = await r.request('GET', '/maven/com/example/gone/maven-metadata.xml');
    assert.match(metadata.text, /<release>1\.0<\/release>/);
    assert.doesNotMatch(metadata.text, /2\.0/);
    assert.equal((await r.request('GET', '/maven/com/example/gone/2.0/gone-2.0.jar')).status, 404);
    assert.equal((await r.request('DELETE', '/maven/com/example/gone/', { token: r.tokens.deleter })).status, 204);
    assert.equal((await r.request('GET', '/maven/com/example/gone/maven-metadata.xml')).status, 404);
    assert.ok(!(await r.keys()).some((key) => key.includes('/gone/')));
    assert.equal((await r.request('DELETE', '/maven/com/example/gone/', { token: r.tokens.deleter })).status, 404);
  });

  it('refuses bad input with a clear 4xx and stores nothing', async () => {
    const keys = await r.keys();
    const cases: [string, string, string | Buffer, number, RegExp][] = [
      ['PUT', '/maven/lib-1.0.jar', 'x', 400, /group path/],
      ['PUT', '/maven/com/example/lib/..%2f..%2fetc/passwd', 'x', 400, /./],
      ['PUT', '/maven/com/example/lib/1.0/%2e%2e/x.jar', 'x', 400, /relative/],
      ['PUT', '/maven/com/exa mple/lib/1.0/lib-1.0.jar', 'x', 400, /not a Maven path segment/],
      ['PUT', '/maven/com/example/bad/1.0/bad-1.0.pom', '<project><groupId>com.example', 400, /well-formed/],
      ['PUT', '/maven/com/example/bad/1.0/bad-1.0.pom', pomOf('com.example', 'other', '1.0'), 400, /path says/],
      ['PUT', '/maven/com/example/bad/1.0/bad-1.0.pom', '<!DOCTYPE x [<!ENTITY e "e">]><project/>', 400, /entities/],
      ['PUT', '/maven/com/example/bad/maven-metadata.xml', '<metadata><versioning>', 400, /well-formed/],
      ['PUT', '/maven/com/example/bad/1.0/bad-1.0.jar', Buffer.alloc(2000), 413, /limit/],
      ['PUT', '/maven/com/example/bad/1.0/', 'x', 400, /directory/],
      ['PUT', '/maven/com/example/bad/1.0/other-1.0.jar', 'x', 400, /not a file of bad 1\.0/],
      ['PUT', '/maven/com/example/bad/1.0/bad-1.1.jar.sha1', hex('sha1', 'x'), 400, /not a file of bad 1\.0/],
      ['PUT', '/maven/com/example/bad/1.0-SNAPSHOT/bad-2.0-20261126.101010-1.jar', 'x', 400, /not a file of bad 1\.0-SNAPSHOT/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await r.request(method, path, { body });
      assert.equal(res.status, status, `${path}: ${res.text}`);
      assert.match(res.headers['content-type'], /^text\/plain/);
      assert.match(res.text, message, path);
    }
    assert.deepEqual(await r.keys(), keys);
  });
});

describe('maven: checksums announced in headers', () => {
  let r: IMavenTestRegistry;
  before(async () => {
    r = await createMavenRegistry();
  });
  after(() => r.close());

  it('refuses a body whose digest differs from its X-Checksum header and stores nothing', async () => {
    const keys = await r.keys();
    const path = '/maven/com/example/announced/1.0/announced-1.0.jar';
    const wrong = await r.request('PUT', path, { body: 'the jar', headers: { 'x-checksum-sha1': hex('sha1', 'another jar') } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.text, /sha1 mismatch for announced-1\.0\.jar/);
    assert.equal((await r.request('PUT', path, { body: 'the jar', headers: { 'x-checksum-md5': 'nothex' } })).status, 400);
    assert.deepEqual(await r.keys(), keys);
    const right = { 'x-checksum-sha1': hex('sha1', 'the jar'), 'x-checksum-sha256': hex('sha256', 'the jar').toUpperCase() };
    assert.equal((await r.request('PUT', path, { body: 'the jar', headers: right })).status, 201);
    assert.equal((await r.request('GET', path)).text, 'the jar');
  });
});

describe('maven: redeploys allowed by configuration', () => {
  let r: IMavenTestRegistry;
  before(async () => {
    r = await createMavenRegistry({ maven: { allowRedeploy: true } });
  });
  after(() => r.close());

  it('replaces a release file, its checksums with it', async () => {
    const path = '/maven/com/example/again/1.0/again-1.0.jar';
    assert.equal((await r.deploy(path, jar('first'))).status, 201);
    assert.equal((await r.deploy(path, jar('second'))).status, 201);
    assert.deepEqual((await r.request('GET', path)).bytes, jar('second'));
    assert.equal((await r.request('GET', `${path}.sha1`)).text.trim(), hex('sha1', jar('second')));
    assert.equal((await r.request('PUT', `${path}.sha1`, { body: hex('sha1', jar('first')) })).status, 400);
    const versions = [...(await r.request('GET', '/maven/com/example/again/maven-metadata.xml')).text.matchAll(/<version>([^<]+)<\/version>/g)].map((m) => m[1]);
    assert.deepEqual(versions, ['1.0']);
  });
});

describe('maven: a deploy whose record cannot be written', () => {
  let r: IMavenTestRegistry;
  let refuse = true;
  before(async () => {
    r = await createMavenRegistry({
      storageHooks: { beforePut: (ctx) => (refuse && ctx.key.endsWith('@artifact.json') ? { allowed: false, reason: 'record refused' } : undefined) },
    });
  });
  after(() => r.close());

  it('takes the release file away again, so a retry can succeed', async () => {
    const keys = await r.keys();
    const failed = await r.request('PUT', '/maven/com/example/retry/1.0/retry-1.0.jar', { body: 'first' });
    assert.equal(failed.status, 403);
    assert.match(failed.text, /record refused/);
    assert.deepEqual(await r.keys(), keys);
    refuse = false;
    assert.equal((await r.request('PUT', '/maven/com/example/retry/1.0/retry-1.0.jar', { body: 'second' })).status, 201);
    assert.equal((await r.request('GET', '/maven/com/example/retry/1.0/retry-1.0.jar')).text, 'second');
  });
});
