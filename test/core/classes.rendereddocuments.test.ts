import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheBudget } from '../../ts/core/classes.cachebudget.js';
import { RenderedDocuments } from '../../ts/core/classes.rendereddocuments.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { serveObject } from '../../ts/core/helpers.serve.js';
import { bufferedObjectSource, type IBufferedObject } from '../../ts/core/helpers.storedsource.js';

const rendering = (text: string): IBufferedObject => {
  const bytes = Buffer.from(text);
  return { object: { size: bytes.length, etag: `"${text}"`, contentType: 'text/plain', headers: { Vary: 'Accept' } }, bytes };
};

test('rendered documents: kept per key for the stored version they came from, not for another', () => {
  const rendered = new RenderedDocuments(new CacheBudget(1024));
  assert.equal(rendered.get('page', '"v1"'), undefined);
  const { object, bytes } = rendering('first');
  const kept = rendered.keep('page', '"v1"', object, bytes);
  assert.equal(rendered.get('page', '"v1"'), kept, 'the same kept object each time');
  assert.equal(kept.bytes, bytes);
  assert.equal(rendered.get('page', '"v2"'), undefined, 'a page of an older version of the stored document is not served');
  assert.equal(rendered.get('other', '"v1"'), undefined);
  const next = rendering('second');
  const replaced = rendered.keep('page', '"v2"', next.object, next.bytes);
  assert.equal(rendered.get('page', '"v2"'), replaced);
  assert.equal(rendered.get('page', '"v1"'), undefined);
});

test('rendered documents: served with one frozen headers record, the same as an object not kept gets', async () => {
  const rendered = new RenderedDocuments(new CacheBudget(1024));
  const { object, bytes } = rendering('page');
  const kept = rendered.keep('page', '"v1"', object, bytes);
  const serve = (document: IBufferedObject) =>
    serveObject({ method: 'GET', headers: {} }, bufferedObjectSource(async () => document), { notFound: () => RegistryError.notFound('missing') });
  const first = await serve(kept);
  assert.ok(Object.isFrozen(first.headers));
  assert.equal((await serve(kept)).headers, first.headers);
  assert.deepEqual(first.headers, (await serve(rendering('page'))).headers);
  assert.equal(first.headers!.Vary, 'Accept');
});

test('rendered documents: their bytes count against the shared budget, which drops the least recently used', () => {
  const budget = new CacheBudget(10);
  const rendered = new RenderedDocuments(budget);
  const a = rendering('aaaaaa');
  const b = rendering('bbbbbb');
  rendered.keep('a', '"1"', a.object, a.bytes);
  assert.equal(budget.bytes, 6);
  rendered.keep('b', '"1"', b.object, b.bytes);
  assert.equal(budget.bytes, 6);
  assert.equal(rendered.get('a', '"1"'), undefined);
  assert.ok(rendered.get('b', '"1"'));
});
