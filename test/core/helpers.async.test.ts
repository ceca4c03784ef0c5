import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimited } from '../../ts/core/helpers.async.js';

test('mapLimited keeps order and never runs more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  const results = await mapLimited(Array.from({ length: 50 }, (_, i) => i), 4, async (item) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, item % 3));
    running--;
    return item * 2;
  });
  assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i * 2));
  assert.equal(peak, 4);
  assert.deepEqual(await mapLimited([], 4, async () => 1), []);
});
