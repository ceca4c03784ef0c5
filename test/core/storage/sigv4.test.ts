// The object client's SigV4 signer gives the Authorization header the AWS library's signer gives for the same
// request, date and credentials (the library as the reference); that Ceph RGW accepts it is shown by every S3 test
// on Ceph (s3objectclient.test.ts, ceph.test.ts).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Signer, amzDate } from '../../../ts/core/storage/helpers.sigv4.js';

const CREDENTIALS = { accessKey: 'AKTEST000000000000001', secretKey: 'SKTEST0000000000000000000000000000000001', region: 'eu-central-1' };
const EMPTY_SHA256 = crypto.createHash('sha256').digest('hex');

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData) =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** What the reference signer puts in Authorization for this request. */
async function referenceAuthorization(method: string, path: string, headers: Record<string, string>, date: Date): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: CREDENTIALS.accessKey, secretAccessKey: CREDENTIALS.secretKey },
    region: CREDENTIALS.region,
    service: 's3',
    sha256: class {
      private readonly hash: crypto.Hash | crypto.Hmac;
      constructor(secret?: SourceData) {
        this.hash = secret === undefined ? crypto.createHash('sha256') : crypto.createHmac('sha256', bytesOf(secret));
      }
      update(data: SourceData) {
        this.hash.update(bytesOf(data));
      }
      async digest() {
        return new Uint8Array(this.hash.digest());
      }
    },
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    { method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: {}, headers: { ...headers } },
    { signingDate: date },
  );
  return signed.headers.authorization as string;
}

const REQUESTS: Array<{ what: string; method: string; path: string; headers: Record<string, string> }> = [
  { what: 'a HEAD', method: 'HEAD', path: '/bucket/npm/packages/left-pad/packument.json', headers: {} },
  { what: 'a ranged GET', method: 'GET', path: '/bucket/oci/blobs/sha256/ab/abcdef', headers: { range: 'bytes=0-99' } },
  {
    what: 'a create-once PUT with its body hash',
    method: 'PUT',
    path: '/bucket/composer/packages/vendor/pkg/dists/0b6c.zip',
    headers: { 'if-none-match': '*', 'content-length': '1234', 'x-amz-content-sha256': crypto.createHash('sha256').update('zip').digest('hex') },
  },
  {
    what: 'a conditional PUT of an encoded key (npm scope, space, plus)',
    method: 'PUT',
    path: '/bucket/npm/packages/%40scope%2Bx/a%20b.json',
    headers: { 'if-match': '"0123456789abcdef0123456789abcdef"', 'content-length': '17', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  },
  { what: 'a conditional DELETE', method: 'DELETE', path: '/bucket/cargo/index/se/rd/serde', headers: { 'if-match': '"e"' } },
  { what: 'a header value with spaces to fold', method: 'GET', path: '/bucket/key', headers: { range: '  bytes=5-   ' } },
];

describe('SigV4 signer of the S3 object client', () => {
  for (const request of REQUESTS) {
    it(`${request.what}: the same Authorization as the reference signer`, async () => {
      const date = new Date('2026-12-02T03:15:07.123Z');
      const headers: Record<string, string> = { 'x-amz-content-sha256': EMPTY_SHA256, ...request.headers, host: '127.0.0.1:9000' };
      const expected = await referenceAuthorization(request.method, request.path, headers, date);
      new SigV4Signer(CREDENTIALS).sign(request.method, request.path, headers, date);
      assert.equal(headers.authorization, expected);
      assert.equal(headers['x-amz-date'], '20261202T031507Z');
    });
  }

  it('a new day gets a new signing key: requests on both sides of midnight match the reference', async () => {
    const signer = new SigV4Signer(CREDENTIALS);
    for (const date of [new Date('2026-12-01T23:59:59.900Z'), new Date('2026-12-02T00:00:00.100Z'), new Date('2027-01-01T00:00:00Z')]) {
      const headers = { 'x-amz-content-sha256': EMPTY_SHA256, host: '127.0.0.1:9000' };
      const expected = await referenceAuthorization('HEAD', '/bucket/key', headers, date);
      signer.sign('HEAD', '/bucket/key', headers, date);
      assert.equal((headers as Record<string, string>).authorization, expected, date.toISOString());
    }
  });

  it('amzDate: the basic ISO 8601 form S3 signs, in UTC', () => {
    assert.equal(amzDate(new Date('2026-03-04T05:06:07.999Z')), '20260304T050607Z');
  });
});
