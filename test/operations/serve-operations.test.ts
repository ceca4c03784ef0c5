/**
 * `smartregistry serve`: health on the main port, metrics on their own listener after real HTTP requests,
 * audit events in the JSON-lines log with the client's address.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchServe } from '../helpers/serve.js';
import { publishBody } from '../npm/fixtures.js';
import { parseMetrics } from '../helpers/prometheus.js';

describe('serve: operating endpoints', () => {
  let server: Awaited<ReturnType<typeof launchServe>>;
  let metricsUrl: string;
  let eventsDir: string;
  before(async () => {
    eventsDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-serve-events-'));
    server = await launchServe({ args: ['--metrics-port', '0', '--events-log', path.join(eventsDir, 'events.jsonl')] });
    const line = server.lines.find((each) => each.startsWith('metrics '));
    assert.ok(line, server.lines.join('\n'));
    metricsUrl = line.split(' ')[1];
  });
  after(async () => {
    await server.stop();
    await fsp.rm(eventsDir, { recursive: true, force: true });
  });

  it('answers /-/health/live and /-/health/ready without a token', async () => {
    const live = await fetch(`${server.url}/-/health/live`);
    assert.equal(live.status, 200);
    const ready = await fetch(`${server.url}/-/health/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
  });

  it('serves metrics on the metrics listener only, counting real requests', async () => {
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/-\/metrics$/);
    assert.equal((await fetch(`${server.url}/-/metrics`)).status, 404);
    const auth = { authorization: `Bearer ${server.tokens.npm}`, 'content-type': 'application/json' };
    const { body } = await publishBody('served-metrics', '1.0.0');
    assert.equal((await fetch(`${server.url}/npm/served-metrics`, { method: 'PUT', headers: auth, body: JSON.stringify(body) })).status, 201);
    for (let i = 0; i < 3; i++) {
      const got = await fetch(`${server.url}/npm/served-metrics`, { headers: auth });
      assert.equal(got.status, 200);
      await got.arrayBuffer();
    }
    const scraped = await fetch(metricsUrl);
    assert.equal(scraped.status, 200);
    const metrics = parseMetrics(await scraped.text());
    const count = (method: string) =>
      metrics.value('smartregistry_http_request_duration_seconds_count', { protocol: 'npm', route: '/:name', method, status_class: '2xx' });
    assert.equal(count('PUT'), 1);
    assert.equal(count('GET'), 3);
    assert.equal(metrics.value('smartregistry_http_request_duration_seconds_count', { protocol: 'none', route: '/-/health/ready', method: 'GET', status_class: '2xx' }), 1);
    assert.ok((metrics.value('smartregistry_storage_operation_duration_seconds_count', { backend: 'filesystem', operation: 'put', result: 'ok' }) ?? 0) > 0);
    assert.ok((metrics.value('process_cpu_user_seconds_total') ?? 0) > 0);
    assert.equal((await fetch(metricsUrl.replace('/-/metrics', '/npm/served-metrics'))).status, 404);
  });

  it('writes the publish to the events log, with the peer address', async () => {
    await server.stop();
    const events = (await fsp.readFile(path.join(eventsDir, 'events.jsonl'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
    const publishes = events.filter((event) => event.action === 'publish');
    assert.equal(publishes.length, 1);
    assert.deepEqual(
      [publishes[0].protocol, publishes[0].resource, publishes[0].version, publishes[0].actor.userId, publishes[0].ip, publishes[0].result],
      ['npm', 'served-metrics', '1.0.0', 'admin', '127.0.0.1', 'success'],
    );
  });
});
