import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import type { IS3StorageConfig } from '../../ts/core/interfaces.core.js';

export interface IS3TestServer {
  descriptor: Omit<IS3StorageConfig, 'bucketName'>;
  /** Its data, for a restart with `startS3Server({ port, directory })`. */
  directory: string;
  /** Stops this server's child process (by its PID only) and removes its data directory unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface IS3ServerOptions {
  /** Listen on this port (a restart at the same address); default a free one. */
  port?: number;
  /** Serve this data directory (a restart); default a new temporary one. */
  directory?: string;
}

// Runs in the child (CommonJS): start s3rver on a port the OS picks, report it on stdout, and exit
// when stdin closes, so the server never outlives the test process even if stop() is never called.
const CHILD_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
// s3rver keeps an object in three files (its bytes, their MD5 which is the ETag, its metadata) and writes each
// in place: a stop during a write (the outage test) left the bytes short, or the metadata cut (every later read
// a 500 InternalError) or the MD5 empty (an ETag of ""). A real S3 engine makes a PUT visible whole or not at
// all. Here every file is written beside itself and renamed into place; the MD5 file is removed before the new
// bytes take the object's name and written after, and a missing one is computed from the bytes, so a stop at any
// moment leaves the old or the new bytes, each with its own ETag. (Multipart completions come through here too.)
const FilesystemStore = require(path.join(path.dirname(process.argv[1]), 'stores', 'filesystem.js'));
const S3Object = require(path.join(path.dirname(process.argv[1]), 'models', 'object.js'));
// Not listed: s3rver lists only files ending in its object suffix.
const tempBeside = (file) => file + '.' + process.pid + '.' + crypto.randomBytes(6).toString('hex') + '.partial';
async function writeWhole(file, text) {
  const temp = tempBeside(file);
  try {
    await fs.promises.writeFile(temp, text);
    await fs.promises.rename(temp, file);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
}
const readIfThere = (file) => fs.promises.readFile(file, 'utf8').catch((error) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
async function md5Of(file) {
  const md5 = crypto.createHash('md5');
  await pipeline(fs.createReadStream(file), md5);
  return md5.digest('hex');
}
FilesystemStore.prototype.putMetadata = async function (bucket, key, metadata, md5) {
  const kept = Object.fromEntries(Object.entries(metadata).filter(([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')));
  await writeWhole(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(kept, null, 2));
  if (md5) await writeWhole(this.getResourcePath(bucket, key, 'object.md5'), md5);
};
FilesystemStore.prototype.putObject = async function (object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
  const temp = tempBeside(objectPath);
  const md5 = crypto.createHash('md5');
  let size = 0;
  const counted = new Transform({
    transform(chunk, encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
  try {
    await pipeline(content, counted, fs.createWriteStream(temp));
    const digest = md5.digest('hex');
    await fs.promises.rm(objectPath + '.md5', { force: true });
    await this.putMetadata(object.bucket, object.key, object.metadata);
    await fs.promises.rename(temp, objectPath);
    await writeWhole(objectPath + '.md5', digest);
    return { size, md5: digest };
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
};
// s3rver's own computes a missing MD5 and writes it in place; this one leaves it to the next write.
FilesystemStore.prototype.getMetadata = async function (bucket, key) {
  const objectPath = this.getResourcePath(bucket, key, 'object');
  // Throws ENOENT when there is no such object, which s3rver expects.
  const stat = await fs.promises.stat(objectPath);
  const stored = await readIfThere(this.getResourcePath(bucket, key, 'metadata.json'));
  const md5 = (await readIfThere(objectPath + '.md5')) ?? (await md5Of(objectPath));
  return {
    ...(stored === undefined ? {} : JSON.parse(stored)),
    etag: JSON.stringify(md5),
    'last-modified': stat.mtime.toUTCString(),
    'content-length': stat.size,
  };
};
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: Number(process.argv[3]), silent: true, directory: process.argv[2] });
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { console.error(error); process.exit(1); },
);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const STARTUP_TIMEOUT_MS = 20_000;

function waitForPort(child: ChildProcessWithoutNullStreams): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const onExit = (code: number | null, signal: string | null) => fail(`exited with ${code ?? signal}`);
    const onError = (error: Error) => fail(error.message);
    const settle = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (reason: string) => {
      settle();
      reject(new Error(`s3rver did not start: ${reason}\n${stderr}`));
    };
    const timer = setTimeout(() => fail('timed out'), STARTUP_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', onExit);
    child.on('error', onError);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) {
        settle();
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
}

/** Starts s3rver in a child process on 127.0.0.1 with a fresh temporary data directory. */
export async function startS3Server(options: IS3ServerOptions = {}): Promise<IS3TestServer> {
  const directory = options.directory ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-s3rver-')));
  const s3rverMain = createRequire(import.meta.url).resolve('s3rver');
  // The legacy provider is needed by s3rver's continuation tokens (listings over 1000 keys).
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT, s3rverMain, directory, String(options.port ?? 0)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (error) {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    if (!options.directory) await fsp.rm(directory, { recursive: true, force: true });
    throw error;
  }
  // A forgotten stop() must not keep the test process alive; the child exits with our stdin anyway.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref();

  return {
    descriptor: {
      endpoint: '127.0.0.1',
      port,
      useSsl: false,
      accessKey: 'S3RVER',
      accessSecret: 'S3RVER',
      region: 'us-east-1',
      // s3rver ignores If-Match / If-None-Match: the backend refuses it unless told it is the only instance
      // (it then checks conditions itself). Multi-instance and race tests run on Ceph RGW (test/helpers/ceph.ts).
      allowUnconditionalWrites: true,
    },
    directory,
    async stop(stopOptions = {}) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        const killTimer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(killTimer);
      }
      if (!stopOptions.keepData) await fsp.rm(directory, { recursive: true, force: true });
    },
  };
}
