/**
 * Ceph RGW for the tests: a real S3 engine that honours conditional writes (s3rver does not), started per
 * test file from `test/infra/ceph/ceph-rgw.sh` (installed once by `.ci/run`). Each instance has its own
 * ports, data directory and bucket, so test files and people running tests at the same time never share
 * or stop each other's.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import type { IS3StorageConfig } from '../../ts/core/interfaces.core.js';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'infra', 'ceph', 'ceph-rgw.sh');
const ACCESS_KEY = 'AKTEST000000000000001';
const SECRET_KEY = 'SKTEST0000000000000000000000000000000001';
const STARTUP_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 2;

export interface ICephS3 {
  descriptor: Omit<IS3StorageConfig, 'bucketName'>;
  /** A fresh bucket name (the backend creates it on init). */
  bucketName: string;
  /** The daemons' PIDs (monitor, OSD, radosgw): what the benches read the engine's CPU from. */
  daemonPids: number[];
  /** Stops this instance's daemons (by PID) and removes its data. */
  stop(): Promise<void>;
}

/** Why Ceph RGW cannot run on this machine, or undefined when it can. */
export function cephUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'Ceph RGW runs on Linux only';
  if (process.getuid?.() !== 0) return 'Ceph RGW needs root (chroot and a mount namespace)';
  if (spawnSync('bash', [SCRIPT, 'installed']).status !== 0) return `Ceph RGW is not installed (run \`${SCRIPT} install\` as root; .ci/run does)`;
  return undefined;
}

/**
 * For `describe(..., { skip })`: outside CI a missing Ceph skips the file, loudly; with CI=true nothing is
 * skipped and `startCephS3` fails with the reason.
 */
export function skipWithoutCeph(what: string): string | false {
  const reason = cephUnavailable();
  if (!reason || process.env.CI === 'true') return false;
  console.warn(`\n!!!!!! ${reason}: ${what} on Ceph RGW are SKIPPED here (CI runs them) !!!!!!\n`);
  return reason;
}

/** Ports the OS has free right now (briefly bound, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** The daemons' PIDs from the script's `READY mon=PID osd=PID rgw=PID` line. */
function waitForReady(child: ChildProcessWithoutNullStreams): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail('timed out'), STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => fail(`exited with ${code ?? signal}`);
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(new Error(`Ceph RGW did not start: ${reason}\n${output}`));
    };
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^READY (.*)$/m.exec(output);
      if (ready) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve([...ready[1]!.matchAll(/=(\d+)/g)].map((match) => Number(match[1])));
      }
    });
    child.once('exit', onExit);
  });
}

async function startOnce(): Promise<ICephS3> {
  const [port, monitorPort] = await freePorts(2);
  // The script stops the instance when our end of its stdin closes: also when this process dies.
  const child = spawn('bash', [SCRIPT, 'run', String(port), String(monitorPort)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  let daemonPids: number[];
  try {
    daemonPids = await waitForReady(child);
  } catch (error) {
    await stop();
    throw error;
  }
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref();
  return {
    descriptor: { endpoint: '127.0.0.1', port, useSsl: false, accessKey: ACCESS_KEY, accessSecret: SECRET_KEY, region: 'us-east-1' },
    bucketName: `smartregistry-${crypto.randomBytes(6).toString('hex')}`,
    daemonPids,
    stop,
  };
}

/** Starts a Ceph RGW instance on free loopback ports (about 2 s). Fails when Ceph is not installed. */
export async function startCephS3(): Promise<ICephS3> {
  const reason = cephUnavailable();
  if (reason) throw new Error(reason);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (error) {
      // A port taken between choosing it and binding it: choose again.
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}
