/**
 * Races on one upload or one blob record between two instances on one folder, each forced at the moment it
 * happens by holding a real storage call of one instance while the other acts. Each answered 500 or a wrong
 * answer before its fix; the spec's answer is checked, and what storage holds afterwards.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { IStorageBackend } from '../../ts/core/storage/interfaces.storage.js';
import { storageKeys } from '../helpers/requests.js';
import { createOciFixture, header, sha256, sha512, type IOciFixture } from './oci.fixtures.js';

const COLLECT_NOW = { garbageCollection: { gracePeriod: 0, uploadMaxAge: 0 } };

const backendOf = (instance: IOciFixture): IStorageBackend => instance.registry.getStorage().getBackend();

async function startUpload(instance: IOciFixture, name: string): Promise<{ location: string; uuid: string }> {
  const started = await instance.call('POST', `/v2/${name}/blobs/uploads/`);
  assert.equal(started.status, 202);
  return { location: header(started.headers, 'location')!, uuid: header(started.headers, 'docker-upload-uuid')! };
}

const uploadKeys = async (instance: IOciFixture, uuid: string) =>
  (await storageKeys(instance.registry)).filter((key) => key.startsWith(`oci/blob-data/${uuid}/`) || key === `oci/uploads/${uuid}.json`);

describe('oci: blob races between two instances, forced', () => {
  const open: IOciFixture[] = [];
  afterEach(async () => {
    for (const instance of open.reverse()) await instance.cleanup();
    open.length = 0;
  });
  const twoInstances = async (second: Parameters<typeof createOciFixture>[0] = {}) => {
    const a = await createOciFixture();
    open.push(a);
    const b = await createOciFixture({ ...second, dataDir: a.dataDir });
    open.push(b);
    return [a, b] as const;
  };

  it('a PATCH that read its session before another instance cancelled it answers BLOB_UPLOAD_UNKNOWN and leaves no data', async () => {
    const [a, b] = await twoInstances();
    const { location, uuid } = await startUpload(a, 'race/patch');
    assert.equal((await a.call('PATCH', location, { body: Buffer.from('a'), headers: { 'content-range': '0-0' } })).status, 202);
    // B has no running hash of the upload: it reads the first part again, which the cancel removed meanwhile.
    const backend = backendOf(b);
    const get = backend.get.bind(backend);
    backend.get = async (key, range) => {
      const result = await get(key, range);
      if (key === `oci/uploads/${uuid}.json`) {
        backend.get = get;
        assert.equal((await a.call('DELETE', location)).status, 204);
      }
      return result;
    };
    const patched = await b.call('PATCH', location, { body: Buffer.from('b'), headers: { 'content-range': '1-1' } });
    assert.equal(patched.status, 404, patched.body.toString());
    assert.equal(patched.code, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await uploadKeys(a, uuid), []);
  });

  for (const [algorithm, digestOf] of [['sha256', sha256], ['sha512', sha512]] as const) {
    it(`a collection removing abandoned sessions leaves one whose completion holds the claim (${algorithm}): the PUT answers 201, the blob pulls`, async () => {
      const [a, b] = await twoInstances({ oci: COLLECT_NOW });
      const bytes = Buffer.from(`claimed ${algorithm}`);
      const digest = digestOf(bytes);
      const { location, uuid } = await startUpload(a, 'race/claim');
      assert.equal((await a.call('PATCH', location, { body: bytes })).status, 202);
      // The claim is stored; before the completion reads or names the parts, B collects with an upload age of 0.
      const backend = backendOf(a);
      const put = backend.put.bind(backend);
      let report: Awaited<ReturnType<typeof b.oci.collectGarbage>> | undefined;
      backend.put = async (key, body, options) => {
        const result = await put(key, body, options);
        if (key === `oci/uploads/${uuid}.json`) {
          backend.put = put;
          await new Promise((resolve) => setTimeout(resolve, 5)); // older than an age of 0
          report = await b.oci.collectGarbage();
        }
        return result;
      };
      const closed = await a.call('PUT', `${location}?digest=${digest}`);
      assert.equal(closed.status, 201, closed.body.toString());
      assert.deepEqual(report?.uploads, [], 'the session being completed is not abandoned');
      for (const instance of [a, b]) {
        const pulled = await instance.call('GET', `/v2/race/claim/blobs/${digest}`);
        assert.equal(pulled.status, 200, pulled.body.toString());
        assert.deepEqual(pulled.body, bytes);
      }
      assert.deepEqual(
        (await storageKeys(a.registry)).filter((key) => key.startsWith('oci/uploads/')),
        [],
        'the completion removed its session',
      );
    });
  }

  it('a blob record created and collected again between a completion\'s create and its read: the completion writes its own, 201, the blob pulls', async () => {
    const [a, b] = await twoInstances({ oci: { garbageCollection: { gracePeriod: 0 } } });
    const bytes = Buffer.from('cd');
    const digest = sha256(bytes);
    const { location } = await startUpload(a, 'race/record');
    assert.equal((await a.call('PATCH', location, { body: bytes })).status, 202);
    // A's create-once of the record: B stores the blob first (A's create finds it), and collects it before A reads it.
    const backend = backendOf(a);
    const put = backend.put.bind(backend);
    const recordKey = `oci/blobs/sha256/${digest.slice('sha256:'.length)}.json`;
    backend.put = async (key, body, options) => {
      if (key !== recordKey) return put(key, body, options);
      backend.put = put;
      assert.equal((await b.call('POST', `/v2/race/other/blobs/uploads/?digest=${digest}`, { body: bytes })).status, 201);
      assert.equal((await b.call('DELETE', `/v2/race/other/blobs/${digest}`)).status, 202);
      try {
        return await put(key, body, options);
      } finally {
        assert.equal((await b.oci.collectGarbage()).blobs.length, 1);
      }
    };
    const closed = await a.call('PUT', `${location}?digest=${digest}`);
    assert.equal(closed.status, 201, closed.body.toString());
    const pulled = await b.call('GET', `/v2/race/record/blobs/${digest}`);
    assert.equal(pulled.status, 200, pulled.body.toString());
    assert.deepEqual(pulled.body, bytes);
  });
});
