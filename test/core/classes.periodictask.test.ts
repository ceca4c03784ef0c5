import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeriodicTask } from '../../ts/core/classes.periodictask.js';

/** A job whose runs are counted and finished by the test. */
function controlledJob(outcome: 'resolve' | 'reject' = 'resolve') {
  const finishers: Array<() => void> = [];
  let runs = 0;
  const job = () => {
    runs++;
    return new Promise<void>((resolve, reject) => finishers.push(() => (outcome === 'resolve' ? resolve() : reject(new Error('job failed')))));
  };
  return { job, runs: () => runs, finishAll: () => finishers.splice(0).forEach((finish) => finish()) };
}

describe('PeriodicTask', () => {
  it('runs the job at start, never twice at once, and again once the last run ended', async () => {
    const control = controlledJob();
    const task = new PeriodicTask(control.job, 3_600_000);
    task.start();
    assert.equal(control.runs(), 1);
    task.runOnce();
    assert.equal(control.runs(), 1, 'a tick while the job runs starts nothing');
    control.finishAll();
    await task.stop();
    task.runOnce();
    assert.equal(control.runs(), 2);
    control.finishAll();
    await task.stop();
  });

  it('stop waits for the running job', async () => {
    const control = controlledJob();
    const task = new PeriodicTask(control.job, 3_600_000);
    task.start();
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await Promise.resolve();
    assert.equal(stopped, false);
    control.finishAll();
    await stopping;
    assert.equal(stopped, true);
  });

  it('a failing job neither escapes nor blocks the next run', async () => {
    const control = controlledJob('reject');
    const task = new PeriodicTask(control.job, 3_600_000);
    task.start();
    control.finishAll();
    await task.stop();
    task.runOnce();
    assert.equal(control.runs(), 2);
    control.finishAll();
    await task.stop();
  });
});
