/**
 * Webhooks: a receiver on 127.0.0.1 gets each event signed with HMAC-SHA256, answers 500 first and gets
 * the retry after the backoff; a receiver that never answers does not hold up the request; deliveries
 * stop after maxAttempts. Backoff waits run on a test scheduler, not the wall clock.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IWebhookConfig } from '../../ts/core/interfaces.operations.js';
import { publishBody } from '../npm/fixtures.js';
import { sendRequest } from '../helpers/requests.js';

const SECRET = 'webhook-secret-0123456789';

interface IDelivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver whose answers the test decides; `next(n)` resolves once n deliveries arrived in total. */
async function startReceiver(answer: (delivery: IDelivery, index: number) => number | 'hang') {
  const deliveries: IDelivery[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const delivery = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      deliveries.push(delivery);
      const status = answer(delivery, deliveries.length - 1);
      if (status === 'hang') hanging.push(res);
      else res.writeHead(status).end();
      for (const waiter of waiters.filter((w) => deliveries.length >= w.count)) waiter.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?key=k`,
    deliveries,
    hanging,
    next: (count: number) => new Promise<void>((resolve) => (deliveries.length >= count ? resolve() : waiters.push({ count, resolve }))),
    close: () => new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Resolves with the first error logged whose text matches. */
function logWatcher(pattern: RegExp) {
  let resolve!: (message: string) => void;
  const seen = new Promise<string>((done) => (resolve = done));
  const destination = {
    async handleLog(entry: { level: string; message: string }) {
      if (entry.level === 'error' && pattern.test(entry.message)) resolve(entry.message);
    },
  };
  return { destination, seen };
}

async function startRegistry(webhook: Omit<IWebhookConfig, 'secret'>, delays: number[], logDestination?: { handleLog(entry: unknown): Promise<void> }) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-webhooks-'));
  const registry = new SmartRegistry(
    {
      storage: { type: 'filesystem', path: dir },
      auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging: logDestination ? { level: 'error', console: false, destinations: [logDestination as never] } : { level: 'silent' },
      events: { webhooks: [{ secret: SECRET, ...webhook }] },
      npm: { enabled: true, basePath: '/npm' },
    },
    {
      // Record each backoff and run the retry at once.
      webhookDelivery: { schedule: (work, ms) => (delays.push(ms), setImmediate(work), () => undefined) },
    },
  );
  await registry.init();
  return { registry, close: async () => (await registry.destroy(), await fsp.rm(dir, { recursive: true, force: true })) };
}

const sign = (body: string) => `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe('webhooks', () => {
  it('delivers signed events, retries after a 500 with backoff, and the receiver can check the signature', async () => {
    const receiver = await startReceiver((_delivery, index) => (index === 0 ? 500 : 204));
    const delays: number[] = [];
    const r = await startRegistry({ url: receiver.url, actions: ['publish'], initialDelayMs: 250 }, delays);
    try {
      const token = await r.registry.getAuthManager().createNpmToken('alice');
      const { body } = await publishBody('hooked', '1.0.0');
      assert.equal((await sendRequest(r.registry, 'PUT', '/npm/hooked', { headers: { authorization: `Bearer ${token}` }, body })).status, 201);
      await receiver.next(2);
      assert.equal(receiver.deliveries.length, 2, 'the token.create event is filtered out by actions');
      const [first, retry] = receiver.deliveries;
      for (const delivery of [first, retry]) {
        assert.equal(delivery.headers['x-smartregistry-signature'], sign(delivery.body));
        assert.equal(delivery.headers['content-type'], 'application/json');
        assert.equal(delivery.headers['x-smartregistry-event'], 'publish');
      }
      assert.equal(first.body, retry.body);
      assert.equal(first.headers['x-smartregistry-delivery'], retry.headers['x-smartregistry-delivery']);
      assert.deepEqual([first.headers['x-smartregistry-attempt'], retry.headers['x-smartregistry-attempt']], ['1', '2']);
      const event = JSON.parse(retry.body);
      assert.equal(event.id, first.headers['x-smartregistry-delivery']);
      assert.deepEqual([event.protocol, event.action, event.resource, event.version, event.actor.userId, event.result], ['npm', 'publish', 'hooked', '1.0.0', 'alice', 'success']);
      assert.deepEqual(delays, [250]);
      // A tampered body no longer matches.
      assert.notEqual(sign(first.body.replace('hooked', 'hacked')), first.headers['x-smartregistry-signature']);
    } finally {
      await r.close();
      await receiver.close();
    }
  });

  it('gives up after maxAttempts with doubling waits up to maxDelayMs', async () => {
    const receiver = await startReceiver(() => 503);
    const delays: number[] = [];
    const dropped = logWatcher(/dropped after 5 attempts/);
    const r = await startRegistry({ url: receiver.url, maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 300 }, delays, dropped.destination);
    try {
      await r.registry.getAuthManager().createNpmToken('alice');
      assert.match(await dropped.seen, /webhook http:\/\/127\.0\.0\.1:\d+: event [0-9a-f-]{36} dropped after 5 attempts \(last: answered 503\)/);
      assert.doesNotMatch(await dropped.seen, /key=k/, 'the log names the origin only: a URL may carry a secret');
      assert.equal(receiver.deliveries.length, 5);
      assert.deepEqual(delays, [100, 200, 300, 300]);
      assert.ok(receiver.deliveries.every((d) => JSON.parse(d.body).action === 'token.create'));
    } finally {
      await r.close();
      await receiver.close();
    }
  });

  it('never holds up the request: a receiver that does not answer is waited for in the background', async () => {
    const receiver = await startReceiver(() => 'hang');
    const delays: number[] = [];
    const r = await startRegistry({ url: receiver.url, timeoutMs: 60_000 }, delays);
    try {
      const token = await r.registry.getAuthManager().createNpmToken('alice');
      await receiver.next(1);
      const { body } = await publishBody('not-held', '1.0.0');
      const res = await sendRequest(r.registry, 'PUT', '/npm/not-held', { headers: { authorization: `Bearer ${token}` }, body });
      assert.equal(res.status, 201);
      await receiver.next(2);
      assert.equal(receiver.hanging.length, 2, 'both deliveries are still unanswered after the request was answered');
    } finally {
      await r.close();
      await receiver.close();
    }
  });

  it('refuses a webhook without an http(s) URL or with a short secret', () => {
    const config = (webhook: IWebhookConfig) => ({ storage: { type: 'filesystem' as const, path: '/tmp/unused' }, auth: {}, events: { webhooks: [webhook] } });
    assert.throws(() => new SmartRegistry(config({ url: 'ftp://127.0.0.1/x', secret: SECRET })), /events\.webhooks\[0\]\.url/);
    assert.throws(() => new SmartRegistry(config({ url: 'http://127.0.0.1/x', secret: 'short' })), /events\.webhooks\[0\]\.secret/);
  });
});
