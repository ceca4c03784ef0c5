import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PresignedUrls } from '../../ts/core/classes.presignedurls.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { createStorageBackend } from '../../ts/core/storage/index.js';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const request = (secondsLater: number, options: { expiresIn?: number; contentType?: string; publicUrl?: string } = {}) => ({
  expiresIn: options.expiresIn ?? 300,
  contentType: options.contentType ?? 'application/octet-stream',
  publicUrl: options.publicUrl,
  signedAtMs: T0 + secondsLater * 1000,
});

describe('PresignedUrls', () => {
  const signed: { key: string; signedAt: string; expiresIn: number }[] = [];
  const urls = new PresignedUrls(async (key, options) => {
    signed.push({ key, signedAt: options.signedAt!.toISOString(), expiresIn: options.expiresIn });
    return `https://objects.example.com/${key}?signed=${signed.length}`;
  });

  it('hands a URL out again within the first fifth of its validity, then signs anew at the time asked', async () => {
    const first = await urls.get('a/k1', request(0));
    assert.equal(urls.peek('a/k1', request(59)), first);
    assert.equal(await urls.get('a/k1', request(59)), first);
    assert.equal(urls.peek('a/k1', request(60)), undefined, 'four fifths of 300 s must remain');
    const renewed = await urls.get('a/k1', request(60));
    assert.notEqual(renewed, first);
    assert.deepEqual(signed.map((entry) => entry.signedAt), [new Date(T0).toISOString(), new Date(T0 + 60_000).toISOString()]);
  });

  it('signs anew for other options, another key, and a clock that went back', async () => {
    signed.length = 0;
    const first = await urls.get('a/k2', request(0));
    assert.equal(urls.peek('a/k2', request(1, { expiresIn: 600 })), undefined);
    assert.equal(urls.peek('a/k2', request(1, { contentType: 'application/zip' })), undefined);
    assert.equal(urls.peek('a/k2', request(1, { publicUrl: 'https://cdn.example.com' })), undefined);
    assert.equal(urls.peek('a/k3', request(1)), undefined);
    assert.equal(urls.peek('a/k2', request(-1)), undefined);
    assert.equal(urls.peek('a/k2', request(1)), first);
    assert.notEqual(await urls.get('a/k2', request(1, { expiresIn: 600 })), first);
    assert.equal(signed.at(-1)!.expiresIn, 600);
  });
});

describe('RegistryStorage.presignedGetNow (s3rver)', () => {
  let server: IS3TestServer;
  before(async () => {
    server = await startS3Server();
  });
  after(() => server.stop());

  const storageWith = async (bucketName: string, hooks = {}) => {
    const storage = new RegistryStorage(await createStorageBackend({ type: 's3', ...server.descriptor, bucketName }), hooks);
    await storage.init();
    return storage;
  };
  const ctx = { protocol: 'npm' as const };

  it('without an afterGet hook: the URL presignedGet handed out, until it must be signed anew', async () => {
    const storage = await storageWith('presign-now');
    try {
      assert.equal(storage.presignedGetNow('npm/k', ctx, request(0)), undefined, 'nothing signed yet');
      const url = await storage.presignedGet('npm/k', ctx, { ...request(0), size: 3 });
      assert.ok(url?.includes('X-Amz-Signature'), url);
      assert.equal(storage.presignedGetNow('npm/k', ctx, request(30)), url);
      assert.equal(storage.presignedGetNow('npm/k', ctx, request(60)), undefined);
    } finally {
      await storage.destroy();
    }
  });

  it('with an afterGet hook: never, so that the hook runs for every redirect (but not for the core\'s own reads)', async () => {
    const gets: IStorageHookContext[] = [];
    const storage = await storageWith('presign-hooked', { afterGet: (context: IStorageHookContext) => void gets.push(context) });
    try {
      const url = await storage.presignedGet('npm/k', ctx, { ...request(0), size: 3 });
      assert.equal(storage.presignedGetNow('npm/k', ctx, request(1)), undefined);
      assert.equal(await storage.presignedGet('npm/k', ctx, { ...request(1), size: 3 }), url);
      assert.deepEqual(gets.map((context) => [context.key, context.metadata?.redirect]), [['npm/k', true], ['npm/k', true]]);
      assert.equal(storage.presignedGetNow('npm/k', { protocol: 'core' }, request(1)), url);
    } finally {
      await storage.destroy();
    }
  });
});
