/**
 * The cleanup of cached artifacts nobody read for `unusedArtifactDays`, on an injected clock: an artifact
 * read lately stays, one not read since it was stored goes (bytes, record and read marker).
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../ts/core/classes.logger.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { UpstreamProxy } from '../../ts/upstream/classes.upstreamproxy.js';
import { StaticUpstreamProvider } from '../../ts/upstream/classes.staticupstreamprovider.js';
import { startTempStorage } from '../helpers/tempstorage.js';
import { startFaultServer, type IFaultServer } from './helpers.upstream.js';
import type { IHandlerResponse } from '../../ts/core/helpers.response.js';

const DAY = 24 * 60 * 60 * 1000;

describe('upstream cache cleanup', () => {
  let files: IFaultServer;
  before(async () => {
    files = await startFaultServer((req) => ({ kind: 'reply', status: 200, body: `bytes of ${req.url}` }));
  });
  after(() => files.close());

  it('removes artifacts not read for the configured days and keeps the ones read since', async () => {
    const temp = await startTempStorage('smartregistry-upstream-cleanup-');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const provider = new StaticUpstreamProvider({ npm: { enabled: true, upstreams: [{ id: 'files', url: files.url, priority: 1, enabled: true }] } });
    const proxy = new UpstreamProxy({
      protocol: 'npm',
      storage: temp.storage,
      logger: new Logger({ level: 'silent' }),
      provider,
      maxArtifactBytes: 1024 * 1024,
      maxMetadataBytes: 1024 * 1024,
      now: () => now,
    });
    try {
      const selection = (await proxy.select('pkg', 'GET'))!;
      const fetch = async (file: string) => {
        const response = (await proxy.serveArtifact(
          selection,
          { cacheKey: file, url: (upstream) => `${upstream.url}/${file}`, contentType: 'application/octet-stream' },
          { method: 'GET', headers: {} },
          { protocol: 'npm' },
          () => RegistryError.notFound(file),
        )) as IHandlerResponse;
        return (await streamToBuffer(response.body as never)).toString();
      };
      assert.equal(await fetch('old.tgz'), 'bytes of /old.tgz');
      assert.equal(await fetch('used.tgz'), 'bytes of /used.tgz');
      assert.equal((await temp.keys()).filter((key) => key.endsWith('.json') && key.includes('/artifacts/')).length, 2);

      now += 20 * DAY;
      assert.equal(await fetch('used.tgz'), 'bytes of /used.tgz', 'read again: served from the cache');
      await proxy.destroy(); // the read marker is written
      assert.equal(files.log.filter((entry) => entry.url === '/used.tgz').length, 1);

      now += 15 * DAY;
      assert.equal(await proxy.removeUnreadArtifacts(30), 1);
      const left = await temp.keys();
      assert.equal(left.filter((key) => key.includes('/artifacts/')).length, 2, 'used.tgz and its record stay');
      assert.equal(left.filter((key) => key.includes('/read/')).length, 1, 'the removed artifact had no marker; the kept one has');
      assert.equal(await fetch('old.tgz'), 'bytes of /old.tgz');
      assert.equal(files.log.filter((entry) => entry.url === '/old.tgz').length, 2, 'removed, so fetched again');
    } finally {
      await proxy.destroy();
      await temp.stop();
    }
  });
});
