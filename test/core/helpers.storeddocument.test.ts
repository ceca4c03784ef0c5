import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRegistryError, publicServerError } from '../../ts/core/classes.registryerror.js';
import { parseStored, parseStoredJson } from '../../ts/core/helpers.storeddocument.js';

const KEY = 'npm/packages/left-pad/packument.json';
const corruptAt = (key: string) => (error: unknown) =>
  isRegistryError(error, 'corrupt') && error.status === 500 && String((error.cause as Error).message).includes(key);

test('stored documents: whole JSON objects and arrays parse', () => {
  assert.deepEqual(parseStoredJson(KEY, Buffer.from('{"versions":{"1.0.0":{}}}')), { versions: { '1.0.0': {} } });
  assert.deepEqual(parseStoredJson(KEY, Buffer.from('[1,2]')), [1, 2]);
});

test('stored documents: truncated, empty or not an object is a corrupt error naming the key (for the log)', () => {
  for (const bytes of ['{"versions":{"1.0.0":{"na', '', 'null', '"text"', '42']) {
    assert.throws(() => parseStoredJson(KEY, Buffer.from(bytes)), corruptAt(KEY), JSON.stringify(bytes));
  }
});

test('stored documents: whatever a protocol parser throws is a corrupt error', () => {
  assert.throws(() => parseStored(KEY, Buffer.from('x'), () => { throw new TypeError('no info field'); }), corruptAt(KEY));
});

test('stored documents: the client is told the metadata is damaged and nothing changed, not which key', () => {
  let error: unknown;
  try {
    parseStoredJson(KEY, Buffer.from('{'));
  } catch (caught) {
    error = caught;
  }
  assert.ok(isRegistryError(error));
  const shown = publicServerError(error, 'id-1');
  assert.match(shown.message, /^stored metadata this request needs is damaged and cannot be read; nothing was changed.*\(error id id-1\)$/);
  assert.doesNotMatch(shown.message, /packument\.json/);
});
