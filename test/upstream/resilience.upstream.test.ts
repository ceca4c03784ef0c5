/**
 * The artifact timeout runs over the whole body (a stall mid-body ends the fetch), and a client that
 * goes away ends the upstream fetch when nobody else waits for it; in both cases nothing is cached.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { Logger } from '../../ts/core/classes.logger.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import type { IHandlerResponse } from '../../ts/core/helpers.response.js';
import { UpstreamProxy } from '../../ts/upstream/classes.upstreamproxy.js';
import { StaticUpstreamProvider } from '../../ts/upstream/classes.staticupstreamprovider.js';
import { startHttp } from '../adapters/helpers.http.js';
import { startTempStorage } from '../helpers/tempstorage.js';
import { eventually } from './helpers.upstream.js';
import type { Readable } from 'node:stream';

/** Sends `first` bytes of a declared 1 MiB body, then nothing more until the connection closes. */
async function startStallingServer() {
  const closed: string[] = [];
  const server = await startHttp((req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-length': String(1024 * 1024), 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(64 * 1024, 1));
    res.on('close', () => closed.push(req.url ?? ''));
  });
  return { ...server, closed };
}

async function proxyOn(url: string, timeoutMs: number) {
  const temp = await startTempStorage('smartregistry-upstream-resilience-');
  const proxy = new UpstreamProxy({
    protocol: 'npm',
    storage: temp.storage,
    logger: new Logger({ level: 'silent' }),
    provider: new StaticUpstreamProvider({ npm: { enabled: true, upstreams: [{ id: 'slow', url, priority: 1, enabled: true }], resilience: { retries: 0, timeoutMs } } }),
    maxArtifactBytes: 8 * 1024 * 1024,
    maxMetadataBytes: 1024 * 1024,
  });
  const selection = (await proxy.select('pkg', 'GET'))!;
  const open = async (file: string) =>
    (await proxy.serveArtifact(
      selection,
      { cacheKey: file, url: (upstream) => `${upstream.url}/${file}`, contentType: 'application/octet-stream' },
      { method: 'GET', headers: {} },
      { protocol: 'npm' },
      () => RegistryError.notFound(file),
    )) as IHandlerResponse;
  return { temp, proxy, open };
}

describe('upstream artifact resilience', () => {
  it('ends a fetch whose body stalls for longer than timeoutMs, and caches nothing', async () => {
    const upstream = await startStallingServer();
    const { temp, proxy, open } = await proxyOn(upstream.url, 1500);
    try {
      const response = await open('stalls.tgz');
      assert.equal(response.status, 200);
      assert.equal(response.headers?.['Content-Length'], String(1024 * 1024));
      let received = 0;
      await assert.rejects(async () => {
        for await (const chunk of response.body as Readable) received += (chunk as Buffer).length;
      });
      assert.ok(received < 1024 * 1024, 'the client never got a complete body');
      await eventually(() => upstream.closed.includes('/stalls.tgz'), 'the upstream connection closed');
      await proxy.destroy();
      assert.deepEqual((await temp.keys()).filter((key) => key.includes('/artifacts/')), []);
    } finally {
      await proxy.destroy();
      await temp.stop();
      await upstream.close();
    }
  });

  it('ends the upstream fetch when its only client goes away', async () => {
    const upstream = await startStallingServer();
    const { temp, proxy, open } = await proxyOn(upstream.url, 60_000);
    try {
      const response = await open('abandoned.tgz');
      const body = response.body as Readable;
      await new Promise<void>((resolve) => body.once('data', () => resolve()));
      body.destroy();
      await eventually(() => upstream.closed.includes('/abandoned.tgz'), 'the upstream connection closed long before the 60 s timeout');
      await proxy.destroy();
      assert.deepEqual((await temp.keys()).filter((key) => key.includes('/artifacts/')), []);
    } finally {
      await proxy.destroy();
      await temp.stop();
      await upstream.close();
    }
  });
});
