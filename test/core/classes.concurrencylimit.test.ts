import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimit } from '../../ts/core/classes.concurrencylimit.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

test('concurrency limit: never more than maxRunning at once, waiters in order, overflow refused', async () => {
  const limit = new ConcurrencyLimit(2, 3, 'testing');
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const releases: (() => void)[] = [];
  const task = (id: number) => () =>
    new Promise<number>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      order.push(id);
      releases.push(() => {
        running--;
        resolve(id);
      });
    });
  const accepted = [1, 2, 3, 4, 5].map((id) => limit.run(task(id)));
  await assert.rejects(limit.run(task(6)), (error: unknown) => error instanceof RegistryError && error.status === 429 && /busy testing/.test(error.message));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, [1, 2], 'two run, three wait');
  while (releases.length > 0) {
    releases.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await Promise.all(accepted), [1, 2, 3, 4, 5]);
  assert.deepEqual(order, [1, 2, 3, 4, 5]);
  assert.equal(peak, 2);
  // A failing task frees its slot too.
  await assert.rejects(limit.run(() => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await limit.run(async () => 'after'), 'after');
});
