/**
 * Prometheus metrics scraped over HTTP after a known sequence of requests: exactly those counts,
 * the bytes in and out, storage operations, the upstream recorder, process metrics and the scope.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { InstrumentedBackend } from '../../ts/core/storage/classes.instrumentedbackend.js';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { startS3Server } from '../helpers/s3server.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { publishBody } from '../npm/fixtures.js';
import { sendRequest, storageKeys } from '../helpers/requests.js';
import { parseMetrics, type IMetricSamples } from '../helpers/prometheus.js';

const DURATION = 'smartregistry_http_request_duration_seconds_count';

async function startRegistry(extra: Partial<IRegistryConfig>) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-metrics-'));
  const registry = new SmartRegistry({
    storage: { type: 'filesystem', path: dir },
    auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
    logging: { level: 'silent' },
    npm: { enabled: true, basePath: '/npm' },
    ...extra,
  });
  await registry.init();
  return { registry, dir, close: async () => (await registry.destroy(), await fsp.rm(dir, { recursive: true, force: true })) };
}

describe('metrics: a known sequence of requests', () => {
  let r: Awaited<ReturnType<typeof startRegistry>>;
  let token: string;
  let metrics: IMetricSamples;
  let publishBytes: number;
  let answeredBytes = 0;

  before(async () => {
    r = await startRegistry({ metrics: { enabled: true } });
    token = await r.registry.getAuthManager().createNpmToken('alice', false);
    const auth = { authorization: `Bearer ${token}` };
    const { body } = await publishBody('metered', '1.0.0');
    const bytes = Buffer.from(JSON.stringify(body));
    publishBytes = bytes.length;
    const published = await sendRequest(r.registry, 'PUT', '/npm/metered', { headers: auth, body: bytes });
    assert.equal(published.status, 201);
    answeredBytes += published.bytes.length;
    for (let i = 0; i < 2; i++) {
      const got = await sendRequest(r.registry, 'GET', '/npm/metered', { headers: auth });
      assert.equal(got.status, 200);
      answeredBytes += got.bytes.length;
    }
    const missing = await sendRequest(r.registry, 'GET', '/npm/not-there', { headers: auth });
    assert.equal(missing.status, 404);
    answeredBytes += missing.bytes.length;
    assert.equal((await sendRequest(r.registry, 'HEAD', '/npm/metered', { headers: auth })).status, 200);
    assert.equal((await sendRequest(r.registry, 'GET', '/elsewhere')).status, 404);
    r.registry.getMetrics()!.upstream.fetch('npm', 'central', 'ok', 0.25);
    r.registry.getMetrics()!.upstream.cache('npm', 'stale');
    r.registry.getMetrics()!.upstream.circuitState('npm', 'central', 'open');

    // The publish's writes that follow its answer (abbreviated document, search entry) are counted once done.
    await r.registry.getStorage().settled();
    const scraped = await sendRequest(r.registry, 'GET', '/-/metrics');
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    metrics = parseMetrics(scraped.text);
  });
  after(() => r.close());

  it('counts requests by protocol, route pattern, method and status class', () => {
    const labels = (method: string, statusClass: string) => ({ protocol: 'npm', route: '/:name', method, status_class: statusClass });
    assert.equal(metrics.value(DURATION, labels('PUT', '2xx')), 1);
    assert.equal(metrics.value(DURATION, labels('GET', '2xx')), 2);
    assert.equal(metrics.value(DURATION, labels('GET', '4xx')), 1);
    assert.equal(metrics.value(DURATION, labels('HEAD', '2xx')), 1);
    assert.equal(metrics.value(DURATION, { protocol: 'none', route: 'unmatched', method: 'GET', status_class: '4xx' }), 1);
    // The scrape itself is observed after it answered.
    assert.equal(metrics.series(DURATION).reduce((sum, s) => sum + s.value, 0), 6);
    const buckets = metrics.series('smartregistry_http_request_duration_seconds_bucket').filter((s) => s.labels.method === 'GET' && s.labels.status_class === '2xx');
    assert.equal(buckets.find((s) => s.labels.le === '+Inf')?.value, 2);
  });

  it('counts body bytes in and out by protocol', () => {
    assert.equal(metrics.value('smartregistry_http_request_bytes_total', { protocol: 'npm' }), publishBytes);
    // The HEAD answer has a Content-Length but sends no body: not counted.
    assert.ok(answeredBytes > 0);
    assert.equal(metrics.value('smartregistry_http_response_bytes_total', { protocol: 'npm' }), answeredBytes);
  });

  it('times storage operations by backend and result', async () => {
    const keys = await storageKeys(r.registry, 'npm/');
    const puts = metrics.value('smartregistry_storage_operation_duration_seconds_count', { backend: 'filesystem', operation: 'put', result: 'ok' }) ?? 0;
    assert.ok(puts >= keys.length, `${puts} puts for ${keys.length} objects`);
    const gets = metrics.value('smartregistry_storage_operation_duration_seconds_count', { backend: 'filesystem', operation: 'get', result: 'ok' }) ?? 0;
    assert.ok(gets >= 1);
    assert.equal(metrics.series('smartregistry_storage_operation_duration_seconds_count').filter((s) => s.labels.result === 'error').length, 0);
  });

  it('records what the upstream proxy reports', () => {
    assert.equal(metrics.value('smartregistry_upstream_fetch_duration_seconds_count', { protocol: 'npm', upstream: 'central', result: 'ok' }), 1);
    assert.equal(metrics.value('smartregistry_upstream_fetch_duration_seconds_sum', { protocol: 'npm', upstream: 'central', result: 'ok' }), 0.25);
    assert.equal(metrics.value('smartregistry_upstream_cache_lookups_total', { protocol: 'npm', result: 'stale' }), 1);
    assert.equal(metrics.value('smartregistry_upstream_circuit_state', { protocol: 'npm', upstream: 'central', state: 'open' }), 1);
    assert.equal(metrics.value('smartregistry_upstream_circuit_state', { protocol: 'npm', upstream: 'central', state: 'closed' }), 0);
  });

  it('includes process metrics', () => {
    assert.ok((metrics.value('process_resident_memory_bytes') ?? 0) > 0);
    assert.ok(metrics.value('nodejs_eventloop_lag_seconds') !== undefined);
  });
});

describe('metrics: the instrumented storage backend', () => {
  it('can presign exactly when the backend it wraps can (downloads redirect with metrics on)', async () => {
    const none = { operation() {} };
    assert.equal(new InstrumentedBackend(new FilesystemBackend(os.tmpdir()), 'filesystem', none).presignGet, undefined);
    const s3 = await startS3Server();
    const registry = new SmartRegistry({
      storage: { ...s3.descriptor, bucketName: 'instrumented-presign' },
      auth: { tokenStore: 'memory' },
      logging: { level: 'silent' },
      metrics: { enabled: true, processMetrics: false },
    });
    try {
      await registry.init();
      const backend = registry.getStorage().getBackend();
      assert.ok(backend instanceof InstrumentedBackend);
      const url = await backend.presignGet!('npm/packages/x/tarballs/x-1.0.0.tgz', { expiresIn: 60 });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/instrumented-presign\/npm\/packages\/x\/tarballs\/x-1\.0\.0\.tgz\?.*X-Amz-Signature=/);
    } finally {
      await registry.destroy();
      await s3.stop();
    }
  });
});
