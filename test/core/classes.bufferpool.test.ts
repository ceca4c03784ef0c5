import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../ts/core/classes.bufferpool.js';

test('buffer pool: a buffer given back is handed out again; at most `keep` are kept', () => {
  const pool = new BufferPool(1024, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  assert.equal(a.length, 1024);
  assert.ok(a !== b && b !== c && a !== c);
  pool.give(a);
  pool.give(b);
  pool.give(c);
  assert.equal(pool.idleCount, 2);
  const again = new Set([pool.take(), pool.take()]);
  assert.ok(again.has(a) && again.has(b));
  assert.ok(!again.has(pool.take()), 'the third one is new');
});

test('buffer pool: a buffer given back twice is handed to one taker only', () => {
  const pool = new BufferPool(1024, 4);
  const buffer = pool.take();
  pool.give(buffer);
  pool.give(buffer);
  assert.equal(pool.idleCount, 1);
  assert.equal(pool.take(), buffer);
  assert.notEqual(pool.take(), buffer);
});

test('buffer pool: idle buffers are dropped after idleMs without a give', (context) => {
  context.mock.timers.enable({ apis: ['setTimeout'] });
  const pool = new BufferPool(1024, 4, 10_000);
  pool.give(pool.take());
  context.mock.timers.tick(9_000);
  pool.give(pool.take());
  context.mock.timers.tick(9_000);
  assert.equal(pool.idleCount, 1, 'each give starts the idle time again');
  context.mock.timers.tick(1_000);
  assert.equal(pool.idleCount, 0);
});
