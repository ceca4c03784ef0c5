import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertVersion,
  crateNameError,
  indexPathOf,
  manifestMismatch,
  maxVersion,
  normalizeCrateName,
  parsePublishMetadata,
  readFrameLength,
  renderIndexFile,
  renderStoredIndex,
  sameVersion,
  toIndexEntry,
} from '../../ts/cargo/helpers.cargo.js';
import type { ICargoCrateDocument, ICargoIndexEntry } from '../../ts/cargo/interfaces.cargo.js';

describe('cargo helpers', () => {
  it('reads the framing length as u32 little-endian', () => {
    assert.equal(readFrameLength(Buffer.from([0x2a, 0x00, 0x00, 0x00])), 42);
    assert.equal(readFrameLength(Buffer.from([0x00, 0x01, 0x00, 0x00])), 256);
    assert.equal(readFrameLength(Buffer.from([0xff, 0xff, 0xff, 0xff])), 4294967295);
  });

  it('checks crate names by cargo\'s rules', () => {
    for (const name of ['a', 'serde', 'serde_json', 'tokio-util', 'A1', 'a'.repeat(64)]) assert.equal(crateNameError(name), null, name);
    for (const name of ['', '1a', '_a', '-a', 'a b', 'a.b', 'ä', 'a'.repeat(65), 'std', 'CORE', 'proc_macro', 'Nul', 'lpt9', 7]) {
      assert.notEqual(crateNameError(name), null, String(name));
    }
    assert.equal(normalizeCrateName('Foo_Bar-baz'), 'foo-bar-baz');
  });

  it('places index files at the standard paths, lower case', () => {
    assert.equal(indexPathOf('A'), '1/a');
    assert.equal(indexPathOf('ab'), '2/ab');
    assert.equal(indexPathOf('Abc'), '3/a/abc');
    assert.equal(indexPathOf('Serde_JSON'), 'se/rd/serde_json');
    assert.equal(indexPathOf('abcd'), 'ab/cd/abcd');
  });

  it('accepts semver versions only, and treats build metadata as the same version', () => {
    for (const vers of ['0.0.0', '1.2.3', '1.0.0-alpha.1', '1.0.0+build.5', '1.0.0-rc.1+x']) assert.equal(assertVersion(vers), vers);
    for (const vers of ['1', '1.0', 'v1.0.0', '=1.0.0', ' 1.0.0', '1.0.0 ', '01.0.0', '', null]) assert.throws(() => assertVersion(vers), /invalid version/);
    assert.equal(sameVersion('1.0.0', '1.0.0+abc'), true);
    assert.equal(sameVersion('1.0.0', '1.0.0-rc.1'), false);
  });

  it('parses publish metadata bytes and turns them into an index line', () => {
    const bytes = Buffer.from(
      '{"name":"demo","vers":"0.3.0","deps":[{"optional":false,"default_features":true,"name":"real_name","features":["f"],' +
        '"version_req":"^1.2","target":null,"kind":"build","registry":"https://registry.example.com/other/index","explicit_name_in_toml":"alias"}],' +
        '"features":{"default":["f1"],"f1":[],"x":["dep:alias"]},"authors":[],"description":"d","links":"native","rust_version":"1.74","badges":{"maintenance":{}},"categories":["c1"]}',
    );
    const metadata = parsePublishMetadata(bytes);
    const entry = toIndexEntry(metadata, 'ab'.repeat(32));
    assert.equal(
      JSON.stringify(entry),
      '{"name":"demo","vers":"0.3.0","deps":[{"name":"alias","req":"^1.2","features":["f"],"optional":false,"default_features":true,' +
        '"target":null,"kind":"build","registry":"https://registry.example.com/other/index","package":"real_name"}],' +
        `"cksum":"${'ab'.repeat(32)}","features":{"default":["f1"],"f1":[]},"features2":{"x":["dep:alias"]},"yanked":false,"links":"native","rust_version":"1.74","v":2}`,
    );
  });

  it('refuses metadata that is not an object or has wrong field types', () => {
    for (const text of ['', 'null', '[]', '"x"', '{"name":"a","vers":"1.0.0","deps":"x"}', '{"name":"a","vers":"1.0.0","features":{"a":"b"}}', '{"name":"a","vers":"1.0.0","deps":[{"name":"b","version_req":"1","kind":"weird"}]}']) {
      assert.throws(() => parsePublishMetadata(Buffer.from(text)), /invalid/, text);
    }
  });

  it('checks the Cargo.toml of a .crate against the metadata', () => {
    const toml = (name: string, version: string) => Buffer.from(`[package]\nname = "${name}"\nversion = "${version}"\n\n[dependencies]\nx = "1"\n`);
    assert.equal(manifestMismatch(toml('demo', '1.0.0'), 'demo', '1.0.0'), null);
    assert.match(manifestMismatch(toml('Demo', '1.0.0'), 'demo', '1.0.0')!, /names the crate "Demo"/);
    assert.match(manifestMismatch(toml('demo', '1.0.1'), 'demo', '1.0.0')!, /version "1\.0\.1"/);
    assert.match(manifestMismatch(undefined, 'demo', '1.0.0')!, /no demo-1\.0\.0\/Cargo\.toml/);
    assert.match(manifestMismatch(Buffer.from('[[[['), 'demo', '1.0.0')!, /not valid TOML/);
  });

  it('renders the index file one line per version and picks max_version', () => {
    const entry = (vers: string, yanked = false): ICargoIndexEntry => ({ name: 'd', vers, deps: [], cksum: '00', features: {}, yanked, links: null });
    const crate: ICargoCrateDocument = {
      v: 1,
      revision: '3-x',
      name: 'd',
      owners: ['a'],
      versions: ['1.0.0', '2.0.0-beta.1', '1.1.0'].map((vers) => ({ entry: entry(vers), fileId: 'f', size: 1, publishedAt: '', publishedBy: 'a' })),
    };
    assert.equal(
      renderIndexFile(crate),
      '{"name":"d","vers":"1.0.0","deps":[],"cksum":"00","features":{},"yanked":false,"links":null}\n' +
        '{"name":"d","vers":"2.0.0-beta.1","deps":[],"cksum":"00","features":{},"yanked":false,"links":null}\n' +
        '{"name":"d","vers":"1.1.0","deps":[],"cksum":"00","features":{},"yanked":false,"links":null}\n',
    );
    assert.equal(maxVersion(crate), '1.1.0', 'releases before pre-releases');
    assert.equal(renderStoredIndex(crate), JSON.stringify({ revision: crate.revision, name: crate.name, index: renderIndexFile(crate) }));
    crate.versions[2].entry.yanked = true;
    assert.equal(maxVersion(crate), '1.0.0', 'yanked versions skipped');
  });

  it('stores the index as JSON of the file, also with characters JSON escapes and after a yank replaced an entry', () => {
    const entry = (vers: string, yanked = false): ICargoIndexEntry => ({
      name: 'd',
      vers,
      deps: [{ name: 'q"uote\\', req: '^1', features: ['\u2028', 'é', '\u0001'], optional: false, default_features: true, target: null, kind: 'normal' }],
      cksum: '00',
      features: { 'a/"b"': [] },
      yanked,
      links: null,
    });
    const record = (vers: string) => ({ entry: entry(vers), fileId: 'f', size: 1, publishedAt: '', publishedBy: 'a' });
    let crate: ICargoCrateDocument = { v: 1, revision: '1-"x"', name: 'd', owners: ['a'], versions: [record('1.0.0')] };
    const stored = () => JSON.parse(renderStoredIndex(crate)) as { revision: string; name: string; index: string };
    assert.deepEqual(stored(), { revision: '1-"x"', name: 'd', index: renderIndexFile(crate) });
    crate = { ...crate, revision: '2-y', versions: [...crate.versions, record('1.1.0')] };
    assert.equal(stored().index.split('\n').length, 3);
    crate = { ...crate, revision: '3-z', versions: [crate.versions[0], { ...crate.versions[1], entry: { ...crate.versions[1].entry, yanked: true } }] };
    const lines = stored().index.trimEnd().split('\n').map((line) => JSON.parse(line) as ICargoIndexEntry);
    assert.deepEqual(lines.map((line) => [line.vers, line.yanked]), [['1.0.0', false], ['1.1.0', true]]);
    assert.deepEqual(lines[0], crate.versions[0].entry);
  });
});

