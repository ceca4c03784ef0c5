/**
 * Several PyPI instances on one store: uploads through one are served by the other (on S3 the wheel's
 * METADATA is read by ranged reads), and concurrent uploads lose nothing and duplicate nothing — on
 * the filesystem and on Ceph RGW (s3rver ignores conditional writes, so races are not run on it).
 */
import { settle } from '../helpers/validationwindow.js';
import { describe, it, before, after } from 'node:test';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { createPypiRegistry, makeWheel, type IPypiTestRegistry } from './fixtures.js';
import { holdingHooks } from '../helpers/heldwrites.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

describe('pypi on the S3 backend, two instances', () => {
  let s3: IS3TestServer;
  let first: IPypiTestRegistry;
  let second: IPypiTestRegistry;

  before(async () => {
    s3 = await startS3Server();
    const storage = { type: 's3' as const, ...s3.descriptor, bucketName: 'pypi-test' };
    first = await createPypiRegistry({ storage });
    second = await createPypiRegistry({ storage });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await s3?.stop();
  });

  it('uploads through one instance, serves index, metadata file and wheel (with Range) from the other', async () => {
    const wheel = await makeWheel('s3-demo', '1.0');
    assert.equal((await first.upload('s3-demo', '1.0', wheel)).status, 200);
    const index = await second.request('GET', '/pypi/simple/s3-demo/', { headers: { accept: JSON_TYPE } });
    assert.equal(index.status, 200);
    assert.equal(index.json.files[0].size, wheel.bytes.length);
    assert.ok(index.json.files[0]['core-metadata'].sha256);
    const metadata = await second.request('GET', `/pypi/packages/s3-demo/${wheel.filename}.metadata`);
    assert.match(metadata.text, /^Metadata-Version: 2.1\nName: s3-demo\nVersion: 1.0\n/);
    const file = await second.request('GET', `/pypi/packages/s3-demo/${wheel.filename}`);
    assert.deepEqual(file.bytes, wheel.bytes);
    const range = await second.request('GET', `/pypi/packages/s3-demo/${wheel.filename}`, { headers: { range: 'bytes=-22' } });
    assert.equal(range.status, 206);
    assert.deepEqual(range.bytes, wheel.bytes.subarray(wheel.bytes.length - 22));
  });
});

describe('pypi on Ceph RGW, two instances on one bucket', { skip: skipWithoutCeph('the pypi concurrency tests') }, () => {
  let ceph: ICephS3;
  let first: IPypiTestRegistry;
  let second: IPypiTestRegistry;
  before(async () => {
    ceph = await startCephS3();
    const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
    first = await createPypiRegistry({ storage });
    second = await createPypiRegistry({ storage });
    assert.equal((await first.upload('s3-demo', '1.0', await makeWheel('s3-demo', '1.0'))).status, 200);
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await ceph?.stop();
  });

  it('concurrent uploads: distinct files all land, one file name lands once', () => concurrentUploads(first, second));
});

describe('pypi on the filesystem backend: a project deleted through another instance right after an upload', () => {
  it('is not found by search once the upload\'s search entry, which follows the answer, has landed', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-pypi-late-'));
    const writes = holdingHooks();
    const first = await createPypiRegistry({ storage: { type: 'filesystem', path: dir }, storageHooks: writes.hooks });
    const second = await createPypiRegistry({ storage: { type: 'filesystem', path: dir } });
    try {
      const release = writes.hold(/^pypi\/search\//);
      assert.equal((await first.upload('gone-soon', '1.0', await makeWheel('gone-soon', '1.0'))).status, 200);
      assert.equal((await second.request('DELETE', '/pypi/pypi/gone-soon/1.0')).status, 200);
      release();
      await first.registry.getStorage().settled();
      await settle();
      for (const instance of [first, second]) {
        assert.equal((await instance.request('GET', '/pypi/search?q=gone')).json.total, 0);
      }
      // A project uploaded again afterwards is found: the late removal does not take a newer entry along.
      assert.equal((await second.upload('gone-soon', '2.0', await makeWheel('gone-soon', '2.0'))).status, 200);
      await second.registry.getStorage().settled();
      await settle();
      assert.equal((await first.request('GET', '/pypi/search?q=gone')).json.total, 1);
    } finally {
      await second.close();
      await first.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pypi on the filesystem backend, two instances on one directory', () => {
  let dir: string;
  let first: IPypiTestRegistry;
  let second: IPypiTestRegistry;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-pypi-shared-'));
    first = await createPypiRegistry({ storage: { type: 'filesystem', path: dir } });
    second = await createPypiRegistry({ storage: { type: 'filesystem', path: dir } });
    assert.equal((await first.upload('s3-demo', '1.0', await makeWheel('s3-demo', '1.0'))).status, 200);
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('concurrent uploads: distinct files all land, one file name lands once', () => concurrentUploads(first, second));
});

async function concurrentUploads(first: IPypiTestRegistry, second: IPypiTestRegistry) {
  {
    const versions = Array.from({ length: 6 }, (_, index) => `2.${index}`);
    const wheels = await Promise.all(versions.map((version) => makeWheel('s3-demo', version)));
    const results = await Promise.all(versions.map((version, index) => (index % 2 ? first : second).upload('s3-demo', version, wheels[index])));
    assert.deepEqual(results.map((result) => result.status), versions.map(() => 200));
    await settle();
    const doc = (await first.request('GET', '/pypi/simple/s3-demo/', { headers: { accept: JSON_TYPE } })).json;
    assert.deepEqual(doc.versions, ['1.0', ...versions]);

    const same = await makeWheel('s3-demo', '3.0');
    const racing = await Promise.all([first.upload('s3-demo', '3.0', same), second.upload('s3-demo', '3.0', same)]);
    assert.deepEqual(racing.map((result) => result.status).sort(), [200, 400]);
    assert.match(racing.find((result) => result.status === 400)!.json.message, /^File already exists/);
    const files = (await first.keys()).filter((key) => key.startsWith('pypi/projects/s3-demo/files/'));
    assert.equal(files.length, 1 + versions.length + 1, 'the losing upload left no bytes behind');
  }
}
