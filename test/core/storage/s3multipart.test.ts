// uploadInParts against Ceph RGW, which (unlike s3rver) lists unfinished multipart uploads: parts cut at
// exact boundaries from chunks that straddle them, a short body in one PutObject, and a failing body that
// leaves neither an object nor an open upload.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { BufferPool } from '../../../ts/core/classes.bufferpool.js';
import { uploadInParts } from '../../../ts/core/storage/helpers.s3multipart.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../../helpers/ceph.js';

const MiB = 1024 * 1024;
const buffers = new BufferPool(5 * MiB, 3);
const PARTS = { buffers, parallelParts: 2 };

/** `data` in chunks of an odd size, so that chunks straddle part boundaries. */
function oddChunks(data: Buffer, failAfter?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < data.length; offset += 333_333) {
        if (failAfter !== undefined && offset >= failAfter) throw new Error('client went away');
        yield data.subarray(offset, offset + 333_333);
      }
    })(),
    { objectMode: false },
  );
}

describe('uploadInParts on Ceph RGW', { skip: skipWithoutCeph('the multipart upload tests') }, () => {
  let ceph: ICephS3;
  let client: S3Client;
  let Bucket: string;
  before(async () => {
    ceph = await startCephS3();
    Bucket = ceph.bucketName;
    const { endpoint, port, accessKey, accessSecret } = ceph.descriptor;
    client = new S3Client({
      endpoint: `http://${endpoint}:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: accessKey, secretAccessKey: accessSecret },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    client?.destroy();
    await ceph?.stop();
  });

  const read = async (Key: string) =>
    Buffer.from(await (await client.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
  const openUploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? [];

  it('stores a body of 12 MiB and 3 bytes as three parts, byte for byte', async () => {
    const data = crypto.randomBytes(12 * MiB + 3);
    const { etag } = await uploadInParts(client, { Bucket, Key: 'parts/three' }, oddChunks(data), PARTS);
    assert.match(etag, /-3"$/, 'a multipart ETag names its number of parts');
    assert.ok((await read('parts/three')).equals(data));
    assert.equal(buffers.idleCount, 3, 'the three part buffers are back for the next upload');
  });

  it('the next upload refills the buffers of the last one', async () => {
    const kept = new Set([buffers.take(), buffers.take(), buffers.take()]);
    for (const buffer of kept) buffers.give(buffer);
    const data = crypto.randomBytes(11 * MiB);
    await uploadInParts(client, { Bucket, Key: 'parts/refilled' }, oddChunks(data), PARTS);
    assert.ok((await read('parts/refilled')).equals(data));
    const after = [buffers.take(), buffers.take(), buffers.take()];
    assert.ok(after.every((buffer) => kept.has(buffer)), 'no new buffer was allocated');
    for (const buffer of after) buffers.give(buffer);
  });

  it('stores a body of exactly two parts without an empty third', async () => {
    const data = crypto.randomBytes(10 * MiB);
    const { etag } = await uploadInParts(client, { Bucket, Key: 'parts/two' }, oddChunks(data), PARTS);
    assert.match(etag, /-2"$/);
    assert.ok((await read('parts/two')).equals(data));
  });

  it('sends a body shorter than one part, or an empty one, in one PutObject', async () => {
    const data = crypto.randomBytes(MiB);
    const { etag } = await uploadInParts(client, { Bucket, Key: 'parts/one' }, oddChunks(data), PARTS);
    assert.doesNotMatch(etag, /-\d+"$/);
    assert.ok((await read('parts/one')).equals(data));
    await uploadInParts(client, { Bucket, Key: 'parts/empty' }, Readable.from([], { objectMode: false }), PARTS);
    assert.equal((await client.send(new HeadObjectCommand({ Bucket, Key: 'parts/empty' }))).ContentLength, 0);
  });

  it('a body failing after two parts rejects with its error and leaves no object and no open upload', async () => {
    const data = crypto.randomBytes(16 * MiB);
    await assert.rejects(uploadInParts(client, { Bucket, Key: 'parts/failed' }, oddChunks(data, 11 * MiB), PARTS), /client went away/);
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket, Key: 'parts/failed' })), (error: { name?: string }) => error.name === 'NotFound');
    assert.deepEqual(await openUploads(), []);
  });
});
