/**
 * An S3 server that asks us to slow down (503 SlowDown, as AWS does under load) makes the registry answer 503
 * with Retry-After, not a 500. The S3 server is s3rver behind a small proxy that answers SlowDown on demand.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createNpmRegistry, type INpmTestRegistry } from './fixtures.js';

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

describe('npm on a throttling S3 server', () => {
  let s3: IS3TestServer;
  let proxy: http.Server;
  let registry: INpmTestRegistry;
  let throttled = false;
  let slowDowns = 0;

  before(async () => {
    s3 = await startS3Server();
    proxy = http.createServer((req, res) => {
      if (throttled && req.url?.includes('/npm/packages/busy/')) {
        slowDowns++;
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(req.method === 'HEAD' ? undefined : SLOW_DOWN);
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: s3.descriptor.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    registry = await createNpmRegistry({ storage: { type: 's3', ...s3.descriptor, port, bucketName: 'throttled' } });
  });
  after(async () => {
    await registry?.close();
    await new Promise((resolve) => proxy?.close(resolve));
    await s3?.stop();
  });

  it('answers 503 with Retry-After while S3 says SlowDown, and serves again afterwards', async () => {
    assert.equal((await registry.publish('busy', '1.0.0')).status, 201);
    throttled = true;
    const busy = await registry.request('GET', '/npm/busy');
    assert.equal(busy.status, 503, busy.text);
    assert.equal(busy.headers['retry-after'], '1');
    assert.match(busy.json.error, /busy/);
    assert.doesNotMatch(busy.text, /npm\/packages/, 'no storage key in the answer');
    assert.ok(slowDowns > 0, 'the S3 server did say SlowDown');
    throttled = false;
    assert.equal((await registry.request('GET', '/npm/busy')).status, 200);
  });
});
