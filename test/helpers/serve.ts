/**
 * Start `smartregistry serve` from source for end-to-end tests (real clients: npm, skopeo, ...).
 * The server binds 127.0.0.1 on a free port; `stop()` ends that one child by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_ENV, SERVE_NODE_FLAGS } from '../../ts/cli/runtime.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';

export interface IStartServeOptions {
  /** Reuse a data directory (e.g. a second start); it is then left in place by stop(). */
  dataDir?: string;
  /** Extra arguments after `serve --port 0 --data-dir <dir>`. */
  args?: string[];
  /** Extra environment variables (over SERVE_ENV, which the bin and `npm start` give the server; undefined removes one). */
  env?: NodeJS.ProcessEnv;
  /** Node flags of the server process; default those the bin and `npm start` give it (SERVE_NODE_FLAGS). */
  nodeFlags?: readonly string[];
}

export interface IServeInstance {
  /** http://127.0.0.1:PORT */
  url: string;
  host: string;
  port: number;
  /** One token per protocol; empty when the data directory already had an admin. */
  tokens: Record<TRegistryProtocol, string>;
  /** Empty when the data directory already had an admin. */
  adminPassword: string;
  dataDir: string;
  stop(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

interface IParsedOutput {
  ready?: string;
  urls: Record<string, string>;
  tokens: Record<string, string>;
  adminPassword: string;
  /** Every line up to `ready`, the `#` comments too. */
  lines: string[];
}

function parseLine(line: string, into: IParsedOutput) {
  into.lines.push(line);
  const [kind, name, value] = line.trim().split(/\s+/);
  if (kind === 'ready') into.ready = name;
  else if (kind === 'token' && value) into.tokens[name] = value;
  else if (kind === 'admin' && value) into.adminPassword = value;
  else if (kind === 'url' && value) into.urls[name] = value;
}

/** Resolves when the child exits (immediately if it already has). */
const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });

export async function startServe(options: IStartServeOptions = {}): Promise<IServeInstance> {
  const { child: _child, exitCode: _exitCode, urls: _urls, lines: _lines, ...instance } = await launchServe(options);
  return instance;
}

/** startServe plus the child process, the printed client URLs and the exit code, for the CLI's own tests. */
export async function launchServe(
  options: IStartServeOptions = {},
): Promise<IServeInstance & { child: ChildProcess; urls: Record<string, string>; lines: string[]; exitCode(): Promise<number | null> }> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-serve-')));
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? SERVE_NODE_FLAGS), '--import', 'tsx', 'ts/cli/index.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...(options.args ?? [])],
    { cwd: ROOT, env: { ...process.env, ...SERVE_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: IParsedOutput = { tokens: {}, urls: {}, adminPassword: '', lines: [] };
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    // Errors stay visible in the test output.
    process.stderr.write(chunk);
  });

  const cleanup = async () => {
    if (ownDir) await fsp.rm(dataDir, { recursive: true, force: true });
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error(`smartregistry serve did not become ready in ${STARTUP_TIMEOUT_MS} ms\n${stderr}`)), STARTUP_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) parseLine(line, output);
        if (output.ready) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`smartregistry serve exited (${code ?? signal}) before it was ready\n${stderr}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await exited(child);
    await cleanup();
    throw error;
  }
  // Keep reading so the child never blocks on a full pipe.
  child.stdout!.resume();

  const url = new URL(output.ready!);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited(child);
        clearTimeout(timer);
      }
      await cleanup();
    })());

  return {
    child,
    urls: output.urls,
    lines: output.lines,
    exitCode: async () => {
      await exited(child);
      return child.exitCode;
    },
    url: output.ready!,
    host: url.hostname,
    port: Number(url.port),
    tokens: output.tokens as Record<TRegistryProtocol, string>,
    adminPassword: output.adminPassword,
    dataDir,
    stop,
  };
}
