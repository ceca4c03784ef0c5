import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  composerJsonMember,
  isValidPackageName,
  minifyVersions,
  namePatternMatcher,
  nextDerivedRevisions,
  parseComposerJson,
  renderMetadataFile,
  renderPackagesJson,
  versionEntry,
  versionStringProblem,
  withBaseUrl,
} from '../../ts/composer/helpers.composer.js';
import type { IComposerPackageDocument } from '../../ts/composer/interfaces.composer.js';

/** Composer's MetadataMinifier::expand, as its documentation describes it: each entry changes the one before. */
function expand(versions: Record<string, unknown>[]): Record<string, unknown>[] {
  let current: Record<string, unknown> | null = null;
  return versions.map((version) => {
    const next: Record<string, unknown> = { ...(current ?? {}) };
    for (const [key, value] of Object.entries(version)) {
      if (value === '__unset') delete next[key];
      else next[key] = value;
    }
    current = next;
    return next;
  });
}

const SHA1 = 'a'.repeat(40);

describe('composer helpers', () => {
  it('checks package names by Composer\'s rule', () => {
    for (const name of ['acme/foo', 'a/b', 'acme-corp/foo.bar_baz', 'acme/foo--bar', '0/0']) assert.equal(isValidPackageName(name), true, name);
    for (const name of ['Acme/foo', 'acme', 'acme/foo/bar', '/foo', 'acme/', 'acme/-foo', 'acme/foo-', 'ac..me/foo', 'acme/fo o', `acme/${'a'.repeat(220)}`]) {
      assert.equal(isValidPackageName(name), false, name);
    }
  });

  it('finds composer.json at the root or in the one top folder', () => {
    assert.equal(composerJsonMember(['composer.json', 'src/A.php']), 'composer.json');
    assert.equal(composerJsonMember(['pkg-1.0/', 'pkg-1.0/composer.json', 'pkg-1.0/src/A.php']), 'pkg-1.0/composer.json');
    assert.equal(composerJsonMember(['a/composer.json', 'b/composer.json']), null, 'two top folders');
    assert.equal(composerJsonMember(['a/b/composer.json']), null, 'too deep');
    assert.equal(composerJsonMember(['src/A.php']), null);
  });

  it('parses composer.json and keeps the package fields', () => {
    const parsed = parseComposerJson(Buffer.from('{"name":"acme/foo","version":"1.0.0","description":"d","require":{"php":">=8.1"},"scripts":{"x":"y"},"autoload":{"psr-4":{"Acme\\\\":"src/"}}}'));
    assert.deepEqual(parsed, {
      name: 'acme/foo',
      version: '1.0.0',
      fields: { description: 'd', autoload: { 'psr-4': { 'Acme\\': 'src/' } }, require: { php: '>=8.1' } },
    });
  });

  it('refuses composer.json that is not JSON, not an object, badly named or badly typed', () => {
    const refused: [string, RegExp][] = [
      ['{"name":', /not valid JSON/],
      ['[1]', /must hold a JSON object/],
      ['{"description":"x"}', /name null is not a valid package name/],
      ['{"name":"Acme/Foo"}', /"Acme\/Foo" is not a valid package name/],
      ['{"name":"acme/foo","version":1}', /version must be a string/],
      ['{"name":"acme/foo","require":{"php":8}}', /"require" has the wrong type/],
      ['{"name":"acme/foo","license":[1]}', /"license" has the wrong type/],
    ];
    for (const [text, message] of refused) assert.throws(() => parseComposerJson(Buffer.from(text)), message, text);
  });

  it('refuses version strings with whitespace, "@", control characters or no text', () => {
    assert.equal(versionStringProblem('1.0.0'), null);
    assert.equal(versionStringProblem('dev-feature/x'), null);
    assert.match(versionStringProblem('1.0 as 2.0')!, /whitespace/);
    assert.match(versionStringProblem('1.0@dev')!, /"@"/);
    assert.match(versionStringProblem('')!, /empty/);
    assert.match(versionStringProblem('1'.repeat(256))!, /longer than 255/);
  });

  it('minifies a version list as composer/2.0 (first whole, then differences, __unset for dropped keys)', () => {
    const versions = [
      { name: 'acme/foo', version: '2.0.0', require: { php: '>=8' }, description: 'd' },
      { name: 'acme/foo', version: '1.1.0', require: { php: '>=8' }, description: 'd', keywords: ['x'] },
      { name: 'acme/foo', version: '1.0.0', require: { php: '>=7' }, description: 'd' },
    ];
    const minified = minifyVersions(versions);
    assert.equal(
      JSON.stringify(minified),
      '[{"name":"acme/foo","version":"2.0.0","require":{"php":">=8"},"description":"d"},{"version":"1.1.0","keywords":["x"]},{"version":"1.0.0","require":{"php":">=7"},"keywords":"__unset"}]',
    );
    assert.deepEqual(expand(minified), versions);
    assert.deepEqual(minifyVersions([]), []);
  });

  it('minifying compares values as JSON text: nested equal values are left out, key order and arrays count', () => {
    const versions = [
      { version: '3.0.0', autoload: { 'psr-4': { 'A\\': 'src/' } }, require: { php: '>=8', ext: '*' }, keywords: ['x'], extra: null },
      { version: '2.0.0', autoload: { 'psr-4': { 'A\\': 'src/' } }, require: { ext: '*', php: '>=8' }, keywords: { 0: 'x' }, extra: null },
      { version: '1.0.0', autoload: { 'psr-4': { 'A\\': 'src/' } }, require: { ext: '*', php: '>=8' }, keywords: { 0: 'x' }, extra: {} },
    ];
    const [, second, third] = minifyVersions(versions);
    assert.deepEqual(second, { version: '2.0.0', require: { ext: '*', php: '>=8' }, keywords: { 0: 'x' } });
    assert.deepEqual(third, { version: '1.0.0', extra: {} });
  });

  it('renders the tagged and dev metadata files of a package, dist URLs marked for the base URL', () => {
    const entry = (version: string, normalized: string) =>
      versionEntry({ name: 'acme/foo', fields: { description: 'd' } }, { name: 'acme/foo', version, normalized, sha1: SHA1, time: '2024-01-01T00:00:00.000Z' });
    const pkg: IComposerPackageDocument = {
      v: 1,
      revision: '7-abc',
      name: 'acme/foo',
      versions: [
        { entry: entry('dev-main', 'dev-main'), fileId: 'f3', size: 3, publishedBy: 'u' },
        { entry: entry('1.0.0', '1.0.0.0'), fileId: 'f1', size: 1, publishedBy: 'u' },
      ],
    };
    const tagged = renderMetadataFile(pkg, 'tagged').toString('utf8');
    assert.equal(
      tagged,
      `{"revision":"7-abc","minified":"composer/2.0","packages":{"acme/foo":[{"name":"acme/foo","description":"d","version":"1.0.0","version_normalized":"1.0.0.0","dist":{"type":"zip","url":"\\u0000/dists/acme/foo/${SHA1}.zip","reference":"${SHA1}","shasum":"${SHA1}"},"time":"2024-01-01T00:00:00.000Z"}]}}`,
    );
    const served = JSON.parse(withBaseUrl(tagged, 'https://registry.example.com/composer'));
    assert.equal(served.packages['acme/foo'][0].dist.url, `https://registry.example.com/composer/dists/acme/foo/${SHA1}.zip`);
    const dev = JSON.parse(renderMetadataFile(pkg, 'dev').toString('utf8'));
    assert.deepEqual(dev.packages['acme/foo'].map((v: { version: string }) => v.version), ['dev-main']);
  });

  it('renders a p2 file again from the same entries as from fresh ones, as versions come, go and change order', () => {
    const entry = (version: string, normalized: string, fields: Record<string, unknown> = {}) =>
      versionEntry(
        { name: 'acme/foo', fields: { description: 'd', ...fields } },
        { name: 'acme/foo', version, normalized, sha1: SHA1, time: `2024-01-0${version.length % 9}T00:00:00.000Z` },
      );
    const record = (e: ReturnType<typeof entry>) => ({ entry: e, fileId: e.version, size: 1, publishedBy: 'u' });
    // The stored and re-read document: no object shared with the one rendered before.
    const fresh = (pkg: IComposerPackageDocument) => JSON.parse(JSON.stringify(pkg)) as IComposerPackageDocument;
    const expected = (pkg: IComposerPackageDocument, dev: boolean) => {
      const entries = pkg.versions.map((each) => each.entry).filter((each) => each.version.startsWith('dev-') === dev);
      return JSON.stringify({ revision: pkg.revision, minified: 'composer/2.0', packages: { [pkg.name]: minifyVersions(entries) } });
    };
    const a = record(entry('1.0.0', '1.0.0.0'));
    const b = record(entry('1.1.0', '1.1.0.0', { keywords: ['x'] }));
    const main = record(entry('dev-main', 'dev-main'));
    const c = record(entry('2.0.0', '2.0.0.0', { description: 'new' }));
    const states: IComposerPackageDocument[] = [
      { v: 1, revision: '1-a', name: 'acme/foo', versions: [a] },
      { v: 1, revision: '2-b', name: 'acme/foo', versions: [b, a] },
      { v: 1, revision: '3-c', name: 'acme/foo', versions: [main, b, a] },
      { v: 1, revision: '4-d', name: 'acme/foo', versions: [c, main, b, a] },
      // 1.1.0 deleted: 1.0.0 now follows 2.0.0.
      { v: 1, revision: '5-e', name: 'acme/foo', versions: [c, main, a] },
      // Re-ordered: each entry follows another than before.
      { v: 1, revision: '6-f', name: 'acme/foo', versions: [a, main, c] },
    ];
    for (const pkg of states) {
      for (const file of ['tagged', 'dev'] as const) {
        const want = expected(pkg, file === 'dev');
        assert.equal(renderMetadataFile(pkg, file).toString('utf8'), want, `${pkg.revision} ${file}`);
        // Twice: the second from the kept bytes.
        assert.equal(renderMetadataFile(pkg, file).toString('utf8'), want, `${pkg.revision} ${file}, again`);
        assert.equal(renderMetadataFile(fresh(pkg), file).toString('utf8'), want, `${pkg.revision} ${file}, re-read`);
      }
    }
  });

  it('keeps the revision of each derived thing a change leaves alone, and the document\'s own for one written before they were kept', () => {
    const entry = (version: string, normalized: string, description = 'd') =>
      versionEntry({ name: 'acme/foo', fields: { description } }, { name: 'acme/foo', version, normalized, sha1: SHA1, time: '2024-01-01T00:00:00.000Z' });
    const record = (e: ReturnType<typeof entry>) => ({ entry: e, fileId: e.version, size: 1, publishedBy: 'u' });
    const one = record(entry('1.0.0', '1.0.0.0'));
    const main = record(entry('dev-main', 'dev-main'));
    const old: IComposerPackageDocument = { v: 1, revision: '5-old', name: 'acme/foo', versions: [main, one] };
    const two = record(entry('2.0.0', '2.0.0.0'));
    assert.deepEqual(nextDerivedRevisions(old, 'acme/foo', [two, main, one], '6-a'), { tagged: '6-a', dev: '5-old', search: '5-old' });
    const pkg: IComposerPackageDocument = { ...old, revision: '6-a', versions: [two, main, one], derivedRevisions: { tagged: '6-a', dev: '5-old', search: '5-old' } };
    const newMain = record(entry('dev-main', 'dev-main'));
    assert.deepEqual(nextDerivedRevisions(pkg, 'acme/foo', [newMain, two, one], '7-b'), { tagged: '6-a', dev: '7-b', search: '5-old' });
    const described = record(entry('3.0.0', '3.0.0.0', 'new'));
    assert.deepEqual(nextDerivedRevisions(pkg, 'acme/foo', [described, two, main, one], '7-b'), { tagged: '7-b', dev: '5-old', search: '7-b' });
    // 2.0.0 deleted: the newest tagged version (1.0.0) says the same.
    assert.deepEqual(nextDerivedRevisions(pkg, 'acme/foo', [main, one], '8-c'), { tagged: '8-c', dev: '5-old', search: '5-old' });
    assert.deepEqual(nextDerivedRevisions(null, 'acme/foo', [one], '9-d'), { tagged: '9-d', dev: '9-d', search: '9-d' });
  });

  it('renders packages.json with absolute URLs below the base URL', () => {
    assert.deepEqual(renderPackagesJson('https://registry.example.com/composer', ['acme/foo']), {
      packages: [],
      'metadata-url': 'https://registry.example.com/composer/p2/%package%.json',
      'available-packages': ['acme/foo'],
      search: 'https://registry.example.com/composer/search.json?q=%query%&type=%type%',
      list: 'https://registry.example.com/composer/packages/list.json',
    });
  });

  it('matches list.json filters with * wildcards, whole names, case-insensitive', () => {
    const names = ['acme/foo', 'acme/foo-bar', 'other/foo', 'acme.x/y'];
    assert.deepEqual(names.filter(namePatternMatcher('acme/*')), ['acme/foo', 'acme/foo-bar']);
    assert.deepEqual(names.filter(namePatternMatcher('*foo')), ['acme/foo', 'other/foo']);
    assert.deepEqual(names.filter(namePatternMatcher('ACME.X/Y')), ['acme.x/y']);
    assert.deepEqual(names.filter(namePatternMatcher('acme')), []);
  });
});
