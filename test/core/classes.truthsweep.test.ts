import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../ts/core/classes.logger.js';
import { TruthSweep } from '../../ts/core/classes.truthsweep.js';
import { startTempStorage } from '../helpers/tempstorage.js';

const ctx = { protocol: 'core' as const };

describe('TruthSweep', () => {
  let temp: Awaited<ReturnType<typeof startTempStorage>>;
  let clock = 0;
  let checks: string[][] = [];
  let failNext = false;
  let sweep: TruthSweep;

  before(async () => {
    temp = await startTempStorage('smartregistry-truthsweep-');
    sweep = new TruthSweep(temp.storage, {
      label: 'test',
      prefix: 'p/',
      nameOf: (key) => /^p\/([^/]+)\/truth\.json$/.exec(key)?.[1] ?? null,
      check: async (names) => {
        if (failNext) {
          failNext = false;
          throw new Error('check failed');
        }
        checks.push([...names].sort());
      },
      intervalMs: 1000,
      logger: new Logger({ level: 'silent' }),
      now: () => clock,
    });
  });
  after(() => temp.stop());

  it('first checks every truth, then only those whose etag changed, at most once per interval', async () => {
    await temp.storage.putJson('p/a/truth.json', { n: 1 }, ctx);
    await temp.storage.putJson('p/b/truth.json', { n: 1 }, ctx);
    await temp.storage.putJson('p/b/derived.json', { n: 1 }, ctx);
    await sweep.ensureSwept();
    assert.deepEqual(checks, [['a', 'b']]);

    await temp.storage.putJson('p/b/truth.json', { n: 2 }, ctx);
    await sweep.ensureSwept();
    assert.equal(checks.length, 1, 'not due within the interval');
    clock += 1000;
    await sweep.ensureSwept();
    assert.deepEqual(checks[1], ['b']);
    clock += 1000;
    await sweep.ensureSwept();
    assert.equal(checks.length, 2, 'nothing changed: no check');
  });

  it('a truth that disappeared is checked; a failed check is checked again by the next sweep', async () => {
    checks = [];
    await temp.storage.deleteObject('p/a/truth.json', ctx);
    await temp.storage.putJson('p/c/truth.json', { n: 1 }, ctx);
    failNext = true;
    clock += 1000;
    await sweep.ensureSwept();
    assert.deepEqual(checks, []);
    clock += 1000;
    await sweep.ensureSwept();
    assert.deepEqual(checks, [['a', 'c']]);
  });
});
