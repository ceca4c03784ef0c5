/**
 * Liveness and readiness: ready while the S3 server answers, not ready (503, quickly) while it is
 * stopped, ready again once it is back; the metrics path answers only with a token granting its scope.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { sendRequest } from '../helpers/requests.js';

describe('health: readiness follows the S3 server', () => {
  let s3: IS3TestServer;
  let registry: SmartRegistry;

  before(async () => {
    s3 = await startS3Server();
    registry = new SmartRegistry({
      storage: { ...s3.descriptor, bucketName: 'health' },
      auth: { tokenStore: 'memory' },
      logging: { level: 'silent' },
      npm: { enabled: true, basePath: '/npm' },
      health: { enabled: true, storageTimeoutMs: 3000 },
    });
  });
  after(async () => {
    await registry.destroy();
    await s3.stop();
  });

  it('is live but not ready before init', async () => {
    assert.equal((await sendRequest(registry, 'GET', '/-/health/live')).status, 200);
    const ready = await sendRequest(registry, 'GET', '/-/health/ready');
    assert.equal(ready.status, 503);
    assert.equal(ready.json.checks.initialized, false);
  });

  it('is ready once initialised, with storage reachable and conditional writes honoured', async () => {
    await registry.init();
    const ready = await sendRequest(registry, 'GET', '/-/health/ready');
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.json, { status: 'ready', ready: true, checks: { initialized: true, storage: true, conditionalWrites: true } });
    assert.equal(ready.headers['cache-control'], 'no-store');
  });

  it('answers not ready while the S3 server is stopped, live all the while, and ready again once it is back', async () => {
    const port = Number(s3.descriptor.port);
    await s3.stop({ keepData: true });
    const started = performance.now();
    const down = await sendRequest(registry, 'GET', '/-/health/ready');
    assert.equal(down.status, 503, down.text);
    assert.equal(down.json.checks.storage, false);
    assert.match(down.json.reason, /^storage: /);
    assert.doesNotMatch(down.json.reason, /127\.0\.0\.1/, 'the unauthenticated answer names no storage host');
    assert.ok(performance.now() - started < 3500, 'bounded by storageTimeoutMs');
    assert.equal((await sendRequest(registry, 'GET', '/-/health/live')).status, 200);

    s3 = await startS3Server({ port, directory: s3.directory });
    const up = await sendRequest(registry, 'GET', '/-/health/ready');
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.checks.conditionalWrites, true);
  });
});

describe('metrics: a configured scope', () => {
  let registry: SmartRegistry;
  let s3: IS3TestServer;
  before(async () => {
    s3 = await startS3Server();
    registry = new SmartRegistry({
      storage: { ...s3.descriptor, bucketName: 'metrics-scope' },
      auth: { tokenStore: 'memory', users: { ops: { password: 'ops-password', scopes: ['*'] } } },
      logging: { level: 'silent' },
      metrics: { enabled: true, processMetrics: false, scope: 'registry:metrics:*:read' },
    });
    await registry.init();
  });
  after(async () => {
    await registry.destroy();
    await s3.stop();
  });

  it('answers 401 without a token, and to a token without the scope', async () => {
    const auth = registry.getAuthManager();
    const npmToken = await auth.createToken('ops', 'npm', { scopes: ['npm:*:*:*'] });
    assert.equal((await sendRequest(registry, 'GET', '/-/metrics')).status, 401);
    assert.equal((await sendRequest(registry, 'GET', '/-/metrics', { headers: { authorization: `Bearer ${npmToken}` } })).status, 401);
    assert.equal((await sendRequest(registry, 'GET', '/-/metrics', { headers: { authorization: 'Bearer nonsense' } })).status, 401);
  });

  it('answers the metrics to a token granting the scope, as Bearer or as a Basic password', async () => {
    const token = await registry.getAuthManager().createToken('ops', 'npm', { scopes: ['registry:metrics:*:read'] });
    const bearer = await sendRequest(registry, 'GET', '/-/metrics', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 200);
    assert.match(bearer.text, /smartregistry_http_request_duration_seconds_count\{protocol="none",route="\/-\/metrics",method="GET",status_class="4xx"\} 3/);
    const basic = Buffer.from(`prometheus:${token}`).toString('base64');
    assert.equal((await sendRequest(registry, 'GET', '/-/metrics', { headers: { authorization: `Basic ${basic}` } })).status, 200);
  });
});
