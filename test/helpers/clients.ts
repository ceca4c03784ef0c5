/**
 * Whether a real client is there for the end-to-end tests. Missing (or too old), it fails the run
 * under `CI=true` and is reported loudly otherwise, so a skipped client test is never silent.
 */
import { spawnSync } from 'node:child_process';

/** Runs `command args` and hands its output to `check`, which returns why it is unusable, or null. */
export function clientMissing(command: string, args: string[], check: (output: string) => string | null = () => null): boolean {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  const output = `${run.stdout ?? ''}`.trim();
  const problem = run.status !== 0 ? run.error?.message ?? `exit code ${run.status}` : check(output);
  if (problem === null) return false;
  const message = `${command} not usable (${problem}): the real-client ${command} tests cannot run`;
  if (process.env.CI === 'true') throw new Error(message);
  console.error(`\n!!! ${message} — SKIPPED !!!\n`);
  return true;
}
