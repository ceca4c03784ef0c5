import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSafeName, assertSafeRequestPath } from '../../ts/core/helpers.path.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

const isInvalid = (error: unknown) => error instanceof RegistryError && error.status === 400;

test('path: traversal in every spelling is refused', () => {
  for (const path of ['/a/../b', '/..', '..', '.', './a', '/a/..', '/a/.', '/a/./b', '/a/%2e%2e/b', '/a/%2E%2e/b', '/a/.%2e/b', '/a/%2e', '/a\\b', '/a%5cb', '/a%00b', '/a\u0000b', '/a%0ab']) {
    assert.throws(() => assertSafeRequestPath(path, { allowEncodedSlash: true }), isInvalid, path);
  }
});

test('path: encoded slash only where the protocol defines it', () => {
  assert.throws(() => assertSafeRequestPath('/a%2fb'), isInvalid);
  assert.doesNotThrow(() => assertSafeRequestPath('/@scope%2fname', { allowEncodedSlash: true }));
  assert.throws(() => assertSafeRequestPath('/x%2f..%2fy', { allowEncodedSlash: true }), isInvalid);
});

test('path: ordinary paths pass', () => {
  for (const path of ['/', '/v2/', '/v2/a/b/blobs/uploads/', '/pkg/-/pkg-1.0.0.tgz', '/simple/my.pkg/', '/.well-known/x', '/a/..b/c.', '/a/...', '/a/%2e%2e.b']) {
    assert.doesNotThrow(() => assertSafeRequestPath(path), path);
  }
});

test('path: names are checked before they become keys', () => {
  assert.doesNotThrow(() => assertSafeName('a/b/c'));
  for (const name of ['', '../x', 'a/../b', '/abs', 'a//b', 'a\\b', 'a\u0000b']) {
    assert.throws(() => assertSafeName(name), isInvalid, JSON.stringify(name));
  }
});
