/**
 * Whether a real client is there for the end-to-end tests. Missing (or too old), it fails the run
 * under `CI=true` and is reported loudly otherwise, so a skipped client test is never silent.
 */
import { spawn, spawnSync } from 'node:child_process';

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

/**
 * The parent's environment without the variables `dropped` matches (what a client takes settings or
 * credentials from), plus `extra`: a client in a test sees only what the test gives it.
 */
export function envWithout(dropped: RegExp, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!dropped.test(key)) env[key] = value;
  return { ...env, ...extra };
}

export interface IClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they came, interleaved: what a person at the terminal would have read. */
  output: string;
}

export interface IClientRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Answers typed in order, each once its prompt shows on stdout (a client that reads each prompt on its own cannot take them piped in at once). */
  prompts?: [prompt: RegExp, answer: string][];
  /** Called with all of stdout so far whenever more arrives: to act on what the client prints, as a person would. */
  onStdout?: (stdout: string) => void;
}

/** Run a real client to its end (killed after `timeoutMs`); never rejects on a non-zero exit. */
export function runClient(command: string, args: string[], options: IClientRunOptions = {}): Promise<IClientRun> {
  return new Promise((resolve, reject) => {
    const prompts = [...(options.prompts ?? [])];
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // With nothing to answer, stdin is closed at once: a client that asks reads end of input, it never waits.
    if (prompts.length === 0) child.stdin.end();
    const run: IClientRun = { code: null, stdout: '', stderr: '', output: '' };
    let answeredUpTo = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      run.stdout += chunk;
      run.output += chunk;
      options.onStdout?.(run.stdout);
      const next = prompts[0];
      if (!next || !next[0].test(run.stdout.slice(answeredUpTo))) return;
      prompts.shift();
      answeredUpTo = run.stdout.length;
      child.stdin.write(`${next[1]}\n`);
      if (prompts.length === 0) child.stdin.end();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      run.stderr += chunk;
      run.output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}
