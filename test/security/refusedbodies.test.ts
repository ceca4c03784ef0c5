/**
 * An upload refused part-way through its body (a duplicate version seen in the first bytes) over a real
 * socket to the server `serve` runs: the client, still sending, must get the refusal — not a reset
 * connection. Clients such as twine write the whole body before they read the answer; a server that
 * closes an unfinished request makes them report "connection closed without response" instead of
 * "File already exists". The body here is large enough that the refusal always comes before its end.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as crypto from 'node:crypto';
import { listen, type IRunningServer } from '../../ts/cli/server.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { startAllProtocols, type IAllProtocolsRegistry } from './protocolactions.js';

const PADDING_BYTES = 24 * 1024 * 1024;

interface IUpload {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The first upload (accepted) and the second of the same version, padded to PADDING_BYTES (refused early). */
  body: (padded: boolean) => Promise<Buffer>;
  refusal: RegExp;
}

const uploads: Record<string, IUpload> = {
  cargo: {
    method: 'PUT',
    path: '/cargo/api/v1/crates/new',
    headers: {},
    body: async (padded) => frame(JSON.stringify(publishMetadata('refused', '1.0.0')), await makeCrate('refused', '1.0.0', padded ? { extraBytes: PADDING_BYTES } : {})),
    refusal: /already (exists|uploaded|published)/i,
  },
  pypi: {
    method: 'POST',
    path: '/pypi/',
    headers: { 'content-type': MULTIPART_TYPE },
    body: async (padded) => {
      const wheel = await makeWheel('refused', '1.0.0');
      const sent = padded ? { filename: wheel.filename, bytes: crypto.randomBytes(PADDING_BYTES) } : wheel;
      return multipartBody(await uploadFields('refused', '1.0.0', wheel), sent);
    },
    refusal: /File already exists/,
  },
  rubygems: {
    method: 'POST',
    path: '/rubygems/api/v1/gems',
    headers: { 'content-type': 'application/octet-stream' },
    body: (padded) => makeGem(gemspecYaml('refused', '1.0.0'), padded ? { 'data.tar.gz': crypto.randomBytes(PADDING_BYTES) } : {}),
    refusal: /already been pushed|already exists|Repushing/i,
  },
  maven: {
    method: 'PUT',
    path: '/maven/com/example/refused/1.0.0/refused-1.0.0.jar',
    headers: {},
    body: async (padded) => crypto.randomBytes(padded ? PADDING_BYTES : 1024),
    refusal: /already|exists|redeploy/i,
  },
};

/** Send the upload with node:http, writing with backpressure; resolve with the answer, reject if the connection fails first. */
function send(port: number, upload: IUpload, authorization: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: upload.method, path: upload.path, agent: false, headers: { ...upload.headers, authorization, 'content-length': String(body.length) } });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunkBytes = 64 * 1024;
    let offset = 0;
    const writeMore = () => {
      while (offset < body.length) {
        const chunk = body.subarray(offset, offset + chunkBytes);
        offset += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

describe('an upload refused part-way through its body', () => {
  let r: IAllProtocolsRegistry;
  let server: IRunningServer;
  before(async () => {
    r = await startAllProtocols({ logging: { level: 'silent' } });
    server = await listen(r.registry, '127.0.0.1', 0);
  });
  after(async () => {
    await server?.close();
    await r?.close();
  });

  for (const [protocol, upload] of Object.entries(uploads)) {
    it(`${protocol}: the client gets the refusal while it is still sending, and storage keeps only the first upload`, async () => {
      const authorization = r.actions[protocol as keyof typeof r.actions].authorization(r.adminTokens[protocol as keyof typeof r.adminTokens]);
      const first = await send(server.port, upload, authorization, await upload.body(false));
      assert.equal(Math.floor(first.status / 100), 2, `${protocol} first upload: ${first.status} ${first.text}`);
      const keysBefore = (await r.keys()).filter((key) => key.startsWith(`${protocol}/`));
      const again = await send(server.port, upload, authorization, await upload.body(true));
      assert.equal(Math.floor(again.status / 100), 4, `${protocol}: ${again.status} ${again.text}`);
      assert.match(again.text, upload.refusal);
      assert.deepEqual((await r.keys()).filter((key) => key.startsWith(`${protocol}/`)), keysBefore);
    });

    it(`${protocol}: an upload to a path no route takes is answered, its body drained`, async () => {
      const authorization = r.actions[protocol as keyof typeof r.actions].authorization(r.adminTokens[protocol as keyof typeof r.adminTokens]);
      const stray = { ...upload, method: 'PUT', path: `/${protocol}/no/such/route/here/at/all` };
      const answer = await send(server.port, stray, authorization, crypto.randomBytes(PADDING_BYTES));
      assert.equal(Math.floor(answer.status / 100), 4, `${protocol}: ${answer.status} ${answer.text}`);
    });

    it(`${protocol}: a refusal before any of the body is read (a wrong token) reaches the client too`, async () => {
      const keysBefore = await r.keys();
      const refused = await send(server.port, upload, 'Bearer not-a-token', await upload.body(true));
      assert.ok([401, 403].includes(refused.status), `${protocol}: ${refused.status} ${refused.text}`);
      assert.deepEqual(await r.keys(), keysBefore);
    });
  }
});
