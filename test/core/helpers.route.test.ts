import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, matchPattern, upperCaseMethod } from '../../ts/core/helpers.route.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

test('route: one-segment params decode after matching', () => {
  const pattern = compilePattern('/:name');
  assert.deepEqual(matchPattern(pattern, '/@scope%2fpkg'), { name: '@scope/pkg' });
  assert.equal(matchPattern(pattern, '/a/b'), null);
});

test('route: multi-segment params take several segments', () => {
  const pattern = compilePattern('/v2/:name+/manifests/:reference');
  assert.deepEqual(matchPattern(pattern, '/v2/a/b/c/manifests/latest'), { name: 'a/b/c', reference: 'latest' });
  assert.equal(matchPattern(pattern, '/v2/manifests/latest'), null);
});

test('route: literal characters are not regex', () => {
  const pattern = compilePattern('/-/v1/search');
  assert.ok(matchPattern(pattern, '/-/v1/search'));
  assert.equal(matchPattern(pattern, '/-/v1Xsearch'), null);
  const dotted = compilePattern('/:file.tgz');
  assert.deepEqual(matchPattern(dotted, '/pkg-1.0.0.tgz'), { file: 'pkg-1.0.0' });
  assert.equal(matchPattern(dotted, '/pkg-1.0.0xtgz'), null);
});

test('route: params inside a segment', () => {
  const pattern = compilePattern('/@:scope/:pkg');
  assert.deepEqual(matchPattern(pattern, '/@acme/tool'), { scope: 'acme', pkg: 'tool' });
});

test('route: malformed percent-encoding is an invalid request', () => {
  assert.throws(() => matchPattern(compilePattern('/:name'), '/%E0%A4%A'), (error: unknown) => {
    return error instanceof RegistryError && error.status === 400;
  });
});

test('route: the text before the first parameter is checked before the expression runs', () => {
  assert.equal(compilePattern('/-/package/:name/dist-tags').literalPrefix, '/-/package/');
  assert.equal(compilePattern('/-/v1/search').literalPrefix, '/-/v1/search');
  assert.equal(compilePattern('/:name/-/:file').literalPrefix, '/');
  assert.equal(matchPattern(compilePattern('/-/package/:name/dist-tags'), '/pkg/-/package/x/dist-tags'), null);
  assert.deepEqual(matchPattern(compilePattern('/-/package/:name/dist-tags'), '/-/package/x/dist-tags'), { name: 'x' });
});

test('route: a method in any case is upper-cased, the usual ones in upper case as they are', () => {
  for (const method of ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']) assert.equal(upperCaseMethod(method), method);
  assert.equal(upperCaseMethod('get'), 'GET');
  assert.equal(upperCaseMethod('Head'), 'HEAD');
  assert.equal(upperCaseMethod('patch'), 'PATCH');
  assert.equal(upperCaseMethod('OPTIONS'), 'OPTIONS');
});
