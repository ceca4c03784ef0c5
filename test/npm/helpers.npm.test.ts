import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import {
  addVersions,
  applyDeprecations,
  checkDeclaredDigests,
  distTagError,
  highestVersion,
  newPackument,
  nextRevision,
  parseIntegrity,
  prepareVersionManifest,
  rankSearchMatch,
  removeVersions,
  resolveVersionSpec,
  revisionNumber,
  serializeAbbreviated,
  serializePackument,
  spliceBaseUrl,
  storedTarballUrl,
  tarballFileName,
  toAbbreviated,
  toSearchEntry,
  validatePackageName,
  versionError,
  versionFromTarballFile,
  wantsAbbreviated,
} from '../../ts/npm/helpers.npm.js';
import { etagMatches } from '../../ts/core/helpers.response.js';
import type { INpmVersionManifest } from '../../ts/npm/interfaces.npm.js';

describe('npm helpers: package names', () => {
  const cases: [string, boolean, boolean][] = [
    // name, validForNew, validForOld
    ['left-pad', true, true],
    ['@scope/name', true, true],
    ['a.b_c-d~e', false, true], // ~ is "special" for new names
    ['Uppercase', false, true],
    ['http', false, true], // core module
    ['x'.repeat(215), false, false],
    ['', false, false],
    ['.hidden', false, false],
    ['_private', false, false],
    [' spaced', false, false],
    ['node_modules', false, false],
    ['favicon.ico', false, false],
    ['../x', false, false],
    ['a/b', false, false],
    ['@scope/..', false, false],
    ['@scope/.x', false, false],
    ['@scope', false, false],
    ['a b', false, false],
    ['caf\u00e9', false, false],
    ['@scope/_x', false, false],
  ];
  for (const [name, forNew, forOld] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…` : name)}: new ${forNew}, old ${forOld}`, () => {
      const result = validatePackageName(name);
      assert.equal(result.validForNew, forNew, JSON.stringify(result));
      assert.equal(result.validForOld, forOld, JSON.stringify(result));
    });
  }
  it('refuses non-strings', () => assert.equal(validatePackageName(42).validForOld, false));
});

describe('npm helpers: versions and tags', () => {
  it('accepts only normalised semver', () => {
    assert.equal(versionError('1.2.3', 'pkg'), null);
    assert.equal(versionError('1.2.3-beta.1', 'pkg'), null);
    assert.match(versionError('v1.2.3', 'pkg')!, /normalised/);
    assert.match(versionError('1.2.3+build', 'pkg')!, /normalised/);
    assert.match(versionError('1.2', 'pkg')!, /invalid semver/);
    assert.match(versionError('', 'pkg')!, /non-empty/);
  });
  it('picks the highest version, stable first', () => {
    assert.equal(highestVersion(['1.0.0', '2.0.0-beta.1', '1.5.0']), '1.5.0');
    assert.equal(highestVersion(['2.0.0-beta.1', '2.0.0-alpha.3']), '2.0.0-beta.1');
    assert.equal(highestVersion([]), undefined);
  });
  it('refuses tags that are version ranges', () => {
    assert.equal(distTagError('next'), null);
    assert.match(distTagError('1.x')!, /SemVer range/);
    assert.match(distTagError('^1.0.0')!, /SemVer range/);
    assert.match(distTagError('a/b')!, /URL-friendly/);
  });
  it('resolves versions, tags and ranges', () => {
    const doc = { versions: { '1.0.0': {}, '1.2.0': {}, '2.0.0': {} } as never, 'dist-tags': { latest: '1.2.0', next: '2.0.0' } };
    assert.equal(resolveVersionSpec(doc, '1.0.0'), '1.0.0');
    assert.equal(resolveVersionSpec(doc, 'next'), '2.0.0');
    assert.equal(resolveVersionSpec(doc, '^1.0.0'), '1.2.0');
    assert.equal(resolveVersionSpec(doc, '3'), undefined);
    assert.equal(resolveVersionSpec(doc, 'nope'), undefined);
  });
  it('revisions only grow', () => {
    assert.equal(revisionNumber('17-abc'), 17);
    assert.equal(revisionNumber(undefined), 0);
    assert.equal(nextRevision('5-x', 'y', 3), '6-y');
    assert.equal(nextRevision('5-x', 'y', 1000), '1000-y');
  });
});

describe('npm helpers: tarballs, URLs, integrity', () => {
  it('names tarballs like the public registry', () => {
    assert.equal(tarballFileName('@s/pkg', '1.0.0'), 'pkg-1.0.0.tgz');
    assert.equal(versionFromTarballFile('@s/pkg', 'pkg-1.0.0-beta.1.tgz'), '1.0.0-beta.1');
    assert.equal(versionFromTarballFile('pkg', 'pkg-1.0.tgz'), null);
    assert.equal(versionFromTarballFile('pkg', 'other-1.0.0.tgz'), null);
    assert.equal(versionFromTarballFile('pkg', 'pkg-1.0.0.tar'), null);
  });
  it('splices the base URL into stored documents, and only there', () => {
    const doc = {
      description: 'a \u0000 b', // cannot happen (refused on publish), shown to be harmless here
      versions: { '1.0.0': { dist: { tarball: storedTarballUrl('@s/p', '1.0.0') } }, '1.1.0': { dist: { tarball: storedTarballUrl('@s/p', '1.1.0') } } },
      readme: 'literal \\u0000 text "\\u0000',
    };
    const stored = Buffer.from(JSON.stringify(doc));
    const served = JSON.parse(spliceBaseUrl(stored, 'https://registry.example.com/npm').toString());
    assert.equal(served.versions['1.0.0'].dist.tarball, 'https://registry.example.com/npm/@s/p/-/p-1.0.0.tgz');
    assert.equal(served.versions['1.1.0'].dist.tarball, 'https://registry.example.com/npm/@s/p/-/p-1.1.0.tgz');
    assert.equal(served.readme, doc.readme);
    const quoted = JSON.parse(spliceBaseUrl(stored, 'http://registry.example.com/"odd"').toString());
    assert.equal(quoted.versions['1.0.0'].dist.tarball, 'http://registry.example.com/"odd"/@s/p/-/p-1.0.0.tgz');
    const none = Buffer.from('{"a":1}');
    assert.equal(spliceBaseUrl(none, 'x'), none);
  });
  it('parses integrity strings and checks digests', () => {
    const data = Buffer.from('tarball');
    const hex = (algorithm: string) => crypto.createHash(algorithm).update(data).digest('hex');
    const b64 = (algorithm: string) => crypto.createHash(algorithm).update(data).digest('base64');
    assert.deepEqual(parseIntegrity(`sha512-${b64('sha512')} sha1-${b64('sha1')}?x`), { sha512: [b64('sha512')], sha1: [b64('sha1')] });
    assert.equal(parseIntegrity('md5-abc'), null);
    const digests = { sha1: hex('sha1'), sha512: hex('sha512') };
    assert.equal(checkDeclaredDigests({ shasum: hex('sha1'), integrity: `sha512-${b64('sha512')}` }, digests), null);
    assert.equal(checkDeclaredDigests({}, digests), null);
    assert.match(checkDeclaredDigests({ shasum: 'f'.repeat(40) }, digests)!, /shasum mismatch/);
    assert.match(checkDeclaredDigests({ shasum: 'xyz' }, digests)!, /not a sha1/);
    assert.match(checkDeclaredDigests({ integrity: 'sha512-AAAA' }, digests)!, /integrity mismatch/);
    assert.match(checkDeclaredDigests({ integrity: 'garbage' }, digests)!, /not a valid subresource integrity/);
  });
  it('reads Accept and If-None-Match', () => {
    assert.equal(wantsAbbreviated('application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'), true);
    assert.equal(wantsAbbreviated('application/json'), false);
    assert.equal(wantsAbbreviated('application/vnd.npm.install-v1+json;q=0'), false);
    assert.equal(etagMatches('"a", W/"b"', '"b"'), true);
    assert.equal(etagMatches('*', '"b"'), true);
    assert.equal(etagMatches('"c"', '"b"'), false);
  });
});

describe('npm helpers: documents', () => {
  const publisher = { name: 'alice' };
  const manifest = (version: string, extra: Record<string, unknown> = {}) => {
    const prepared = prepareVersionManifest(
      { name: 'doc', version, description: `v${version}`, keywords: 'a, b', scripts: { install: 'x' }, readme: 'big', dist: { shasum: 'x', integrity: 'y' }, ...extra },
      'doc',
      version,
      publisher,
    );
    assert.ok('manifest' in prepared, JSON.stringify(prepared));
    return prepared.manifest;
  };

  it('prepares manifests: stored tarball URL, bookkeeping, no readme, errors for mismatches', () => {
    const m = manifest('1.0.0');
    assert.equal(m.dist.tarball, '\u0000/doc/-/doc-1.0.0.tgz');
    assert.equal(m._id, 'doc@1.0.0');
    assert.deepEqual(m._npmUser, publisher);
    assert.equal(m.readme, undefined);
    assert.match((prepareVersionManifest({ name: 'other', version: '1.0.0' }, 'doc', '1.0.0', publisher) as { error: string }).error, /expected "doc"/);
    assert.match((prepareVersionManifest({ name: 'doc', version: '1.0.1' }, 'doc', '1.0.0', publisher) as { error: string }).error, /expected "1.0.0"/);
    assert.match((prepareVersionManifest({ name: 'doc', version: '1.0.0', x: 'a\u0000' }, 'doc', '1.0.0', publisher) as { error: string }).error, /NUL/);
  });

  it('adds and removes versions; latest follows the highest remaining', () => {
    const doc = newPackument('doc', '2026-01-01T00:00:00.000Z');
    addVersions(doc, [manifest('1.0.0')], { latest: '1.0.0' }, { publisher, now: '2026-01-02T00:00:00.000Z', readme: '# doc' });
    addVersions(doc, [manifest('2.0.0')], { latest: '2.0.0' }, { publisher, now: '2026-01-03T00:00:00.000Z' });
    addVersions(doc, [manifest('3.0.0-rc.1')], { next: '3.0.0-rc.1' }, { publisher, now: '2026-01-04T00:00:00.000Z' });
    assert.deepEqual(doc['dist-tags'], { latest: '2.0.0', next: '3.0.0-rc.1' });
    assert.equal(doc.description, 'v2.0.0');
    assert.deepEqual(doc.keywords, ['a', 'b']);
    assert.equal(doc.readme, '# doc');
    assert.deepEqual(doc.maintainers, [publisher]);
    assert.deepEqual(removeVersions(doc, ['2.0.0', '9.9.9'], '2026-01-05T00:00:00.000Z'), ['2.0.0']);
    assert.deepEqual(doc['dist-tags'], { latest: '1.0.0', next: '3.0.0-rc.1' });
    assert.equal(doc.description, 'v1.0.0');
    assert.equal(doc.time['2.0.0'], undefined);
    assert.equal(doc.time.modified, '2026-01-05T00:00:00.000Z');
  });

  it('deprecates by replacing manifests, and serialises exactly like JSON.stringify', () => {
    const doc = newPackument('doc', '2026-01-01T00:00:00.000Z');
    addVersions(doc, [manifest('1.0.0'), manifest('1.1.0', { dependencies: { a: '^1' } })], { latest: '1.1.0' }, { publisher, now: 'n' });
    assert.equal(serializePackument(doc), JSON.stringify(doc));
    assert.equal(serializeAbbreviated(doc), JSON.stringify(toAbbreviated(doc)));
    const before = doc.versions['1.0.0'];
    assert.deepEqual(applyDeprecations(doc, { '1.0.0': { deprecated: 'old' }, '1.1.0': {}, '7.0.0': { deprecated: 'x' } }), ['1.0.0']);
    assert.notEqual(doc.versions['1.0.0'], before, 'a new object');
    assert.equal(before.deprecated, undefined, 'the old object is untouched');
    assert.equal(serializePackument(doc), JSON.stringify(doc));
    assert.equal(serializeAbbreviated(doc), JSON.stringify(toAbbreviated(doc)));
    assert.equal(JSON.parse(serializeAbbreviated(doc)).versions['1.0.0'].deprecated, 'old');
    assert.deepEqual(applyDeprecations(doc, { '1.0.0': { deprecated: '' } }), ['1.0.0']);
    assert.equal(doc.versions['1.0.0'].deprecated, undefined);
  });

  it('abbreviates versions to what installers need, with hasInstallScript', () => {
    const doc = newPackument('doc', 'c');
    addVersions(doc, [manifest('1.0.0', { engines: { node: '>=18' }, main: 'x.js' })], {}, { publisher, now: 'n' });
    const abbreviated = toAbbreviated(doc);
    const version = abbreviated.versions['1.0.0'];
    assert.equal(version.hasInstallScript, true);
    assert.deepEqual(version.engines, { node: '>=18' });
    assert.equal(version.main, undefined);
    assert.equal(version.description, undefined);
    assert.deepEqual(abbreviated['dist-tags'], { latest: '1.0.0' });
  });

  it('derives the search entry from the latest version', () => {
    const doc = newPackument('doc', 'c');
    doc._rev = '42-x';
    addVersions(doc, [manifest('1.0.0')], {}, { publisher, now: '2026-01-02T00:00:00.000Z' });
    assert.deepEqual(toSearchEntry(doc), {
      name: 'doc',
      rev: 42,
      version: '1.0.0',
      date: '2026-01-02T00:00:00.000Z',
      maintainers: ['alice'],
      description: 'v1.0.0',
      keywords: ['a', 'b'],
      publisher: 'alice',
    });
    assert.equal(toSearchEntry(newPackument('empty', 'c')), null);
  });

  it('ranks search matches', () => {
    assert.equal(rankSearchMatch('left-pad', ['left-pad'], 'left-pad', 'left-pad'), 0);
    assert.equal(rankSearchMatch('left-pad', ['left-pad'], '@u/left-pad', 'left-pad'), 0);
    assert.equal(rankSearchMatch('left', ['left'], 'left-pad', 'left-pad'), 1);
    assert.equal(rankSearchMatch('pad left', ['pad', 'left'], 'left-pad', 'left-pad'), 2);
    assert.equal(rankSearchMatch('pad', ['pad'], 'other', 'other'), 3);
  });

  it('keeps version manifests typed', () => {
    const m: INpmVersionManifest = manifest('1.0.0');
    assert.equal(typeof m.dist.tarball, 'string');
  });
});

describe('npm helpers: versions fit a storage key segment', () => {
  it('bounds a version so that `{name}-{version}.tgz` is at most 255 bytes', () => {
    const name = `@scope/${'b'.repeat(200)}`;
    assert.equal(versionError(`1.0.0-${'x'.repeat(44)}`, name), null);
    assert.match(versionError(`1.0.0-${'x'.repeat(45)}`, name)!, /longer than 50 characters/);
  });
});
