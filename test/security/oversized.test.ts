/**
 * Oversized uploads on every protocol (issue 16): a well-formed upload whose artifact is larger than
 * `limits.maxArtifactBytes` answers 413 in the protocol's shape and stores nothing, whether the client
 * declared its length (refused before reading) or streams it without one (cut while it streams).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { readResponse } from '../helpers/requests.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { makeTarball, publishBody } from '../npm/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { PROTOCOLS, errorMessage, startAllProtocols, type IAllProtocolsRegistry, type IUpload } from './protocolactions.js';

const LIMIT = 256 * 1024;
/** Random, so no compression brings it under the limit. */
const padding = () => crypto.randomBytes(LIMIT + 64 * 1024);

/** One well-formed upload per protocol whose artifact is over the limit. */
const uploads: Record<TRegistryProtocol, () => Promise<IUpload>> = {
  async npm() {
    const manifest = { name: 'big', version: '1.0.0' };
    const { body } = await publishBody('big', '1.0.0', { tarball: await makeTarball(manifest, LIMIT + 64 * 1024) });
    return { method: 'PUT', path: '/npm/big', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
  },
  async oci() {
    const blob = padding();
    const digest = `sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`;
    return { method: 'POST', path: `/oci/v2/big/blobs/uploads/?digest=${digest}`, headers: { 'content-type': 'application/octet-stream' }, body: blob };
  },
  async maven() {
    return { method: 'PUT', path: '/maven/com/example/big/1.0.0/big-1.0.0.jar', headers: {}, body: padding() };
  },
  async cargo() {
    return { method: 'PUT', path: '/cargo/api/v1/crates/new', headers: {}, body: frame(JSON.stringify(publishMetadata('big', '1.0.0')), await makeCrate('big', '1.0.0', { extraBytes: LIMIT + 64 * 1024 })) };
  },
  async composer() {
    const zip = await makePackageZip('acme/big', '1.0.0', { extraEntries: [{ name: 'acme-big-1.0.0/data.bin', data: padding() }] });
    return { method: 'PUT', path: '/composer/packages/acme/big', headers: { 'content-type': 'application/zip' }, body: zip };
  },
  async pypi() {
    const wheel = await makeWheel('big', '1.0.0', { extraEntries: [{ name: 'big/data.bin', data: padding() }] });
    return { method: 'POST', path: '/pypi/', headers: { 'content-type': MULTIPART_TYPE }, body: multipartBody(await uploadFields('big', '1.0.0', wheel), wheel) };
  },
  async rubygems() {
    const gem = await makeGem(gemspecYaml('big', '1.0.0'), { 'data.tar.gz': zlib.gzipSync(padding(), { level: 0 }) });
    return { method: 'POST', path: '/rubygems/api/v1/gems', headers: { 'content-type': 'application/octet-stream' }, body: gem };
  },
};

describe(`uploads over limits.maxArtifactBytes (${LIMIT} bytes) answer 413 and store nothing`, () => {
  let r: IAllProtocolsRegistry;
  before(async () => {
    r = await startAllProtocols({ limits: { maxArtifactBytes: LIMIT } });
  });
  after(() => r.close());

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: with a Content-Length, and streamed without one`, async () => {
      const upload = await uploads[protocol]();
      assert.ok(upload.body.length > LIMIT);
      const authorization = r.actions[protocol].authorization(r.adminTokens[protocol]);
      for (const declared of [true, false]) {
        const keysBefore = await r.keys();
        // Streamed in 16 KiB chunks, as a socket delivers it.
        const chunks = Array.from({ length: Math.ceil(upload.body.length / 16384) }, (_, i) => upload.body.subarray(i * 16384, (i + 1) * 16384));
        const [pathOnly, search] = upload.path.split('?');
        const res = await readResponse(
          await r.registry.handleRequest({
            method: upload.method,
            path: pathOnly,
            query: Object.fromEntries(new URLSearchParams(search ?? '')),
            headers: { host: 'registry.example.com', authorization, ...upload.headers, ...(declared ? { 'content-length': String(upload.body.length) } : {}) },
            body: Readable.from(chunks),
          }),
        );
        const how = declared ? 'declared' : 'streamed';
        assert.equal(res.status, 413, `${protocol} ${how}: ${res.status} ${res.text}`);
        assert.equal(typeof errorMessage(protocol, res), 'string', `${protocol} ${how}: error shape: ${res.text}`);
        assert.deepEqual(await r.keys(), keysBefore, `${protocol} ${how}: storage unchanged`);
      }
    });
  }
});
