/**
 * Slow and vanishing upload bodies on every protocol (issue 16), over a real socket to the server
 * `serve` runs (createNodeHandler behind node:http with its head and idle timeouts): a client that sends
 * half an upload and goes silent is disconnected after the idle timeout, one that hangs up mid-body is
 * let go; either way the registry answers the request (its log line says so), stores nothing, and
 * serves the next client.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { listen, type IRunningServer } from '../../ts/cli/server.js';
import type { IRequestLogEntry } from '../../ts/core/interfaces.operations.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { publishBody } from '../npm/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { PROTOCOLS, startAllProtocols, type IAllProtocolsRegistry, type IUpload } from './protocolactions.js';
import * as crypto from 'node:crypto';

// Small timeouts so each case ends in well under a second.
const TIMEOUTS = { headersMs: 300, idleMs: 400, keepAliveMs: 200 };

/** One ordinary upload per protocol. */
const uploads: Record<TRegistryProtocol, () => Promise<IUpload>> = {
  async npm() {
    return { method: 'PUT', path: '/npm/slow', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify((await publishBody('slow', '1.0.0')).body)) };
  },
  async oci() {
    const blob = crypto.randomBytes(64 * 1024);
    return { method: 'POST', path: `/oci/v2/slow/blobs/uploads/?digest=sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`, headers: { 'content-type': 'application/octet-stream' }, body: blob };
  },
  async maven() {
    return { method: 'PUT', path: '/maven/com/example/slow/1.0.0/slow-1.0.0.jar', headers: {}, body: crypto.randomBytes(64 * 1024) };
  },
  async cargo() {
    return { method: 'PUT', path: '/cargo/api/v1/crates/new', headers: {}, body: frame(JSON.stringify(publishMetadata('slow', '1.0.0')), await makeCrate('slow', '1.0.0', { extraBytes: 64 * 1024 })) };
  },
  async composer() {
    return { method: 'PUT', path: '/composer/packages/acme/slow', headers: { 'content-type': 'application/zip' }, body: await makePackageZip('acme/slow', '1.0.0') };
  },
  async pypi() {
    const wheel = await makeWheel('slow', '1.0.0');
    return { method: 'POST', path: '/pypi/', headers: { 'content-type': MULTIPART_TYPE }, body: multipartBody(await uploadFields('slow', '1.0.0', wheel), wheel) };
  },
  async rubygems() {
    return { method: 'POST', path: '/rubygems/api/v1/gems', headers: { 'content-type': 'application/octet-stream' }, body: await makeGem(gemspecYaml('slow', '1.0.0')) };
  },
};

describe('slow and vanishing upload bodies through serve', () => {
  let r: IAllProtocolsRegistry;
  let server: IRunningServer;
  const answered = new Map<string, (entry: IRequestLogEntry) => void>();
  const logged: IRequestLogEntry[] = [];

  before(async () => {
    r = await startAllProtocols({
      logging: {
        level: 'silent',
        requests: (entry) => {
          logged.push(entry);
          answered.get(entry.requestId)?.(entry);
        },
      },
    });
    server = await listen(r.registry, '127.0.0.1', 0, TIMEOUTS);
  });
  after(async () => {
    await server?.close();
    await r?.close();
  });

  /** Send the head and half the body; then go silent or hang up. Resolves once the registry answered and the socket closed. */
  const halfUpload = async (upload: IUpload, authorization: string, requestId: string, then: 'silence' | 'hang up') => {
    const registryAnswered = new Promise<IRequestLogEntry>((resolve) => answered.set(requestId, resolve));
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    const headers = { host: `127.0.0.1:${server.port}`, authorization, 'x-request-id': requestId, 'content-length': String(upload.body.length), ...upload.headers };
    const head = `${upload.method} ${upload.path} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n`;
    socket.write(head);
    socket.write(upload.body.subarray(0, Math.floor(upload.body.length / 2)));
    if (then === 'hang up') setTimeout(() => socket.destroy(), 50);
    // Silence: the server's idle timeout closes the socket.
    await closed;
    return registryAnswered;
  };

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: half an upload, then silence or a hang-up: nothing stored, the next client served`, async () => {
      const upload = await uploads[protocol]();
      const authorization = r.actions[protocol].authorization(r.adminTokens[protocol]);
      // This protocol's keys only: what the half uploads could have left behind.
      const ownKeys = async () => (await r.keys()).filter((key) => key.startsWith(`${protocol}/`));
      const keysBefore = await ownKeys();
      for (const then of ['silence', 'hang up'] as const) {
        const entry = await halfUpload(upload, authorization, `slow-${protocol}-${then.replace(' ', '-')}`, then);
        assert.equal(entry.status, 400, `${protocol} ${then}: answered ${entry.status}`);
        assert.deepEqual(await ownKeys(), keysBefore, `${protocol} ${then}: storage unchanged`);
      }
      // The whole upload over a fresh connection still works.
      const res = await fetch(`http://127.0.0.1:${server.port}${upload.path}`, { method: upload.method, headers: { authorization, ...upload.headers }, body: new Uint8Array(upload.body) });
      assert.equal(Math.floor(res.status / 100), 2, `${protocol}: ${res.status} ${await res.text()}`);
    });
  }
});
