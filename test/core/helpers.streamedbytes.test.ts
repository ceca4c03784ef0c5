import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { countStreamedBytes, noteStreamedBytes } from '../../ts/core/helpers.streamedbytes.js';

const MiB = 1024 * 1024;

test('streamed bytes: a young-generation collection after every 4 MiB that flowed, none without an exposed gc', async () => {
  const runtime = globalThis as { gc?: unknown };
  const exposed = runtime.gc;
  const collections: unknown[] = [];
  runtime.gc = (options: unknown) => collections.push(options);
  try {
    // 10 MiB in 64 KiB chunks, counted beside the pipe that reads them: two collections, every byte arrives.
    const chunks = Array.from({ length: 160 }, (_, index) => Buffer.alloc(64 * 1024, index));
    const source = Readable.from(chunks, { objectMode: false });
    let received = 0;
    countStreamedBytes(source);
    await pipeline(source, new Writable({ write: (chunk: Buffer, _encoding, callback) => ((received += chunk.length), callback()) }));
    assert.equal(received, 10 * MiB);
    assert.deepEqual(collections, [{ type: 'minor' }, { type: 'minor' }]);
    // 2 MiB carried over, 2 more reach the next 4.
    noteStreamedBytes(2 * MiB);
    assert.equal(collections.length, 3);
    delete runtime.gc;
    noteStreamedBytes(8 * MiB);
    assert.equal(collections.length, 3);
  } finally {
    runtime.gc = exposed;
  }
});

test('streamed bytes: what runs is a young-generation collection (a scavenge), not a full one (node --expose-gc, as serve runs)', () => {
  const script = `
    import { noteStreamedBytes } from './ts/core/helpers.streamedbytes.ts';
    console.log('before');
    noteStreamedBytes(5 * 1024 * 1024);
    console.log('after');
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  // V8 names a collection asked for through gc() "testing" in its trace.
  const between = child.stdout.slice(child.stdout.indexOf('before'), child.stdout.indexOf('after'));
  assert.match(between, /Scavenge .* testing/);
  assert.doesNotMatch(between, /Mark-Compact .* testing/);
});
