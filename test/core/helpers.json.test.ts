import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlainObject, parseJsonObject, serializeGrowing } from '../../ts/core/helpers.json.js';

const growingJson = (document: object, fields: string | string[]) => serializeGrowing(document, fields).toString('utf8');

test('json: parseJsonObject gives an object, and null for anything else', () => {
  assert.deepEqual(parseJsonObject(Buffer.from('{"name":"a","versions":{}}')), { name: 'a', versions: {} });
  for (const text of ['[1,2]', '"text"', '42', 'null', 'true', '', '{"cut":', '\u0000', '<html>']) {
    assert.equal(parseJsonObject(Buffer.from(text)), null, JSON.stringify(text));
  }
});

test('json: isPlainObject is true only for objects that are not arrays or null', () => {
  assert.equal(isPlainObject({}), true);
  for (const value of [null, undefined, [], 'x', 1, true]) assert.equal(isPlainObject(value), false, String(value));
});

test('json: serializeGrowing writes the bytes JSON.stringify writes, also as the document grows', () => {
  const version = (n: number) => ({ vers: `1.0.${n}`, deps: [{ name: 'dép "quoted"', req: '^1' }], note: n % 2 ? undefined : 'line\nbreak \u2028' });
  let document: Record<string, unknown> = { v: 1, name: 'demo', skipped: undefined, versions: [version(1)], owners: ['a'], at: new Date(0) };
  for (let n = 2; n <= 5; n++) {
    assert.equal(growingJson(document, 'versions'), JSON.stringify(document), `${n - 1} versions`);
    // As a publish does: a new document carrying the earlier versions over as the same objects.
    document = { ...document, versions: [...(document.versions as object[]), version(n)] };
  }
  const odd = { versions: [null, 3, 'x', [1, { a: undefined }], { b: 2 }], other: { versions: [1] } };
  assert.equal(growingJson(odd, 'versions'), JSON.stringify(odd));
  for (const other of [{ versions: { a: 1 } }, { versions: new Date(0) }, { versions: null }, { name: 'no versions' }, {}]) {
    assert.equal(growingJson(other, 'versions'), JSON.stringify(other));
  }
});

test('json: serializeGrowing writes a record field (versions by number) as JSON.stringify does, also as it grows', () => {
  const record = (n: number) => ({ version: `1.0.${n}`, yanked: n % 3 === 0, note: n % 2 ? undefined : 'line\nbreak \u2028', at: new Date(n) });
  let document: Record<string, unknown> = { v: 1, name: 'demo', versions: { '1.0.1': record(1) }, revision: '1-a' };
  for (let n = 2; n <= 5; n++) {
    assert.equal(growingJson(document, 'versions'), JSON.stringify(document), `${n - 1} versions`);
    document = { ...document, versions: { ...(document.versions as object), [`1.0.${n}`]: record(n) } };
  }
  // A yank replaces one record with a new object: the new one is written, the kept JSON of the old one unused.
  const versions = document.versions as Record<string, object>;
  document = { ...document, versions: { ...versions, '1.0.2': { ...versions['1.0.2'], yanked: true } } };
  assert.equal(growingJson(document, 'versions'), JSON.stringify(document));
  // One object under two keys: each written with its own key.
  const shared = record(9);
  assert.equal(growingJson({ versions: { a: shared, b: shared } }, 'versions'), JSON.stringify({ versions: { a: shared, b: shared } }));
  const odd = { versions: { a: 1, b: undefined, c: null, d: 'x', e: [1, undefined], f: () => 1, g: { h: undefined } } };
  assert.equal(growingJson(odd, 'versions'), JSON.stringify(odd));
});

test('json: serializeGrowing takes several growing fields (a project\'s releases and files)', () => {
  const release = { info: { summary: 'x' }, created: 'now' };
  const file = { filename: 'a-1.0-py3-none-any.whl', release: '1.0' };
  const project = { name: 'a', releases: { '1.0': release }, files: { [file.filename]: file }, serial: 1 };
  assert.equal(growingJson(project, ['releases', 'files']), JSON.stringify(project));
  const next = { ...project, releases: { ...project.releases, '1.0': { ...release, yanked: { reason: 'bad' } } }, serial: 2 };
  assert.equal(growingJson(next, ['releases', 'files']), JSON.stringify(next));
});
