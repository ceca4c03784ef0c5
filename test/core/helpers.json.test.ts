import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlainObject, parseJsonObject } from '../../ts/core/helpers.json.js';

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
