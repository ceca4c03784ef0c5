import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { BufferPool } from '../classes.bufferpool.js';
import { RegistryError } from '../classes.registryerror.js';
import { HashingTransform, digestBytes, sha256Hex } from '../helpers.hash.js';
import { pipeStreamsAsync } from '../helpers.pipe.js';
import { bytesToNode } from '../helpers.stream.js';
import { assertValidKey, assertValidPrefix, badKeyError, compareKeys, keyCause } from './helpers.key.js';
import { KeyLock } from './helpers.keylock.js';
import { writeOverLeftOver } from './helpers.conditionalwrites.js';
import type {
  IByteRange,
  IDeleteOptions,
  IGetResult,
  IListOptions,
  IListResult,
  IObjectInfo,
  IPutDigests,
  IPutOptions,
  IPutResult,
  IStorageBackend,
} from './interfaces.storage.js';

/** Objects up to this size are read in one call and sent in one write. */
const WHOLE_READ_BYTES = 1024 * 1024;
/**
 * Whole reads from this size on go into pooled buffers: `serve` has malloc give every buffer of 128 KiB or
 * more a mapping of its own (cli/runtime.ts), and a new one per 1 MiB download cost an mmap, 256 page faults
 * and an munmap (1 MiB downloads by 4 curl clients: 3.2-3.7 server CPU-s/GiB, 2.6-2.9 without the setting,
 * 1.1-1.3 pooled; see Memory in the readme).
 */
const POOLED_READ_BYTES = 128 * 1024;
/** Idle read buffers kept: as many as downloads a few clients keep in flight. */
const KEPT_READ_BUFFERS = 8;
/**
 * Larger ones stream in chunks of this size: each download holds about two (one read ahead, one
 * being sent), so 20 downloads at once hold 10 MiB instead of 40 with 1 MiB chunks; 64 KiB chunks
 * halve read throughput on large blobs.
 */
const STREAM_CHUNK_BYTES = 256 * 1024;
const TEMP_DIR = '.tmp';
const LOCKS_DIR = '.locks';
/** A lock is held for a stat and a rename; one this old belongs to a process that died. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 60_000;
/** A temp file nobody has written to for this long was left by a crashed process. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Larger than the rounding error of a seconds-as-double timestamp (~0.25 µs today). */
const MTIME_STEP_SECONDS = 10e-6;
const DEFAULT_LIST_LIMIT = 1000;
const MAX_FILE_NAME_BYTES = 255;
/**
 * A large put is flushed to disk every this many bytes while it streams, so the kernel writes back as
 * the data arrives instead of in one long fsync at the end (1 GiB in one final fsync stalls the push).
 */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;
const isMissing = (error: unknown) => errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// unlink, not rm: rm stats the path twice before it unlinks (three trips to the thread pool instead of one).
const removeQuietly = (file: string) => fsp.unlink(file).catch(() => undefined);

/** Creates `file` only if it does not exist (O_EXCL works across processes), as a bare descriptor: no FileHandle to track. */
const createExclusive = (file: string) =>
  new Promise<void>((resolve, reject) =>
    fs.open(file, 'wx', (openError, fd) => (openError ? reject(openError) : fs.close(fd, (closeError) => (closeError ? reject(closeError) : resolve())))),
  );

/** Cheap to compute on every stat; `commit` makes sure it changes with every write. */
const toEtag = (stats: fs.BigIntStats) =>
  `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`;

const toInfo = (key: string, stats: fs.BigIntStats): IObjectInfo => ({
  key,
  size: Number(stats.size),
  etag: toEtag(stats),
  lastModified: stats.mtime,
});

/**
 * Writes a stream to an open file: an `fdatasync` is started after every `syncEveryBytes` (at most one
 * at a time, overlapping the writes that follow), and a full `fsync` runs before the file is closed.
 * The handle is closed when the stream finishes or is destroyed.
 */
class SyncingFileSink extends Writable {
  private unsynced = 0;
  private pendingSync?: Promise<void>;
  private handleClosed?: Promise<void>;

  constructor(
    private readonly handle: fsp.FileHandle,
    private readonly syncEveryBytes: number,
  ) {
    super({ highWaterMark: WHOLE_READ_BYTES });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    (async () => {
      await this.pendingSync;
      await this.handle.sync();
      await this.close();
    })().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A failed background sync is reported by the next write or by `_final`; here only close.
    this.pendingSync?.catch(() => undefined);
    this.close().then(
      () => callback(error),
      (closeError) => callback(error ?? closeError),
    );
  }

  private close(): Promise<void> {
    this.handleClosed ??= this.handle.close();
    return this.handleClosed;
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    const pending = buffers.filter((buffer) => buffer.length > 0);
    while (pending.length > 0) {
      // writev may write less than asked (it seldom does on regular files): continue after what it wrote.
      let { bytesWritten } = await this.handle.writev(pending);
      if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
      this.unsynced += bytesWritten;
      while (pending.length > 0 && bytesWritten >= pending[0]!.length) bytesWritten -= pending.shift()!.length;
      if (pending.length > 0 && bytesWritten > 0) pending[0] = pending[0]!.subarray(bytesWritten);
    }
    if (this.unsynced >= this.syncEveryBytes) {
      // One sync in flight at a time: waiting for the previous one bounds the dirty data to about two steps.
      await this.pendingSync;
      this.unsynced = 0;
      this.pendingSync = this.handle.datasync();
      this.pendingSync.catch(() => undefined);
    }
  }
}

async function statFile(file: string): Promise<fs.BigIntStats | null> {
  try {
    const stats = await fsp.stat(file, { bigint: true });
    return stats.isFile() ? stats : null;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** Exactly `target.length` bytes from `position` into `target`. */
async function readInto(handle: fsp.FileHandle, target: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < target.length) {
    const { bytesRead } = await handle.read(target, offset, target.length - offset, position + offset);
    if (bytesRead === 0) throw new Error(`file ended after ${offset} of ${target.length} bytes`);
    offset += bytesRead;
  }
}

/** Validates a range against the object size; `end` is inclusive and clamped like S3 does. */
function resolveRange(range: IByteRange | undefined, size: number): { start: number; end: number } | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw RegistryError.invalid(`invalid byte range ${start}-${end ?? ''}`);
  }
  if (start >= size) {
    throw new RegistryError('range-not-satisfiable', `range starts at ${start} but the object has ${size} bytes`, {
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}

function assertPrecondition(key: string, current: fs.BigIntStats | null, options: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'>): void {
  if (options.ifNoneMatch === '*' && current) {
    throw new RegistryError('precondition-failed', 'the object already exists', { cause: keyCause(key) });
  }
  if (options.ifMatch !== undefined && (!current || toEtag(current) !== options.ifMatch)) {
    throw new RegistryError(
      'precondition-failed',
      `the object ${current ? 'has changed' : 'does not exist'} (expected etag ${options.ifMatch})`,
      { cause: keyCause(key) },
    );
  }
}

const conflict = (key: string, cause: unknown) =>
  RegistryError.conflict('the object collides with an existing one (a file cannot also be a directory)', { cause: keyCause(key, cause) });

/**
 * Objects as plain files below a root directory. Writes go to `<root>/.tmp` first and are renamed into
 * place, so readers and crashes never see half an object; every rename happens under a per-key lock file
 * in `<root>/.locks`, which makes conditional puts atomic across processes sharing the directory.
 *
 * Limitation of a file tree: a key cannot also be a "directory" of other keys (`a/b` and `a/b/c`);
 * such a put fails with a conflict error.
 */
export class FilesystemBackend implements IStorageBackend {
  private readonly root: string;
  private readonly tempDir: string;
  private readonly locksDir: string;
  private readonly keyLocks = new KeyLock();
  private readonly readBuffers = new BufferPool(WHOLE_READ_BYTES, KEPT_READ_BUFFERS);

  constructor(rootPath: string) {
    this.root = path.resolve(rootPath);
    this.tempDir = path.join(this.root, TEMP_DIR);
    this.locksDir = path.join(this.root, LOCKS_DIR);
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.tempDir, { recursive: true });
    await fsp.mkdir(this.locksDir, { recursive: true });
    await this.removeStaleTempFiles();
  }

  async destroy(): Promise<void> {}

  async get(key: string, range?: IByteRange): Promise<IGetResult | null> {
    const file = this.objectPath(key);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'EISDIR') return null;
      throw error;
    }
    try {
      // Stat the open file, not the path: a concurrent overwrite renames a new inode in, ours stays intact.
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) {
        await handle.close();
        return null;
      }
      const info = toInfo(key, stats);
      const bounds = resolveRange(range, info.size);
      const length = bounds ? bounds.end - bounds.start + 1 : info.size;
      // No bigger than one chunk of the stream would be: read at once, so adapters send it in one write.
      if (length <= WHOLE_READ_BYTES) {
        const stream = await this.readWhole(handle, bounds?.start ?? 0, length);
        await handle.close();
        return { info, stream, length };
      }
      const stream = handle.createReadStream({ ...bounds, highWaterMark: STREAM_CHUNK_BYTES });
      return { info, stream, length };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * `length` bytes from `position` as a stream of one chunk; from the pool of read buffers when a new buffer
   * would be a mapping of its own, lent to whoever sends them (bytesToNode).
   */
  private async readWhole(handle: fsp.FileHandle, position: number, length: number): Promise<Readable> {
    if (length < POOLED_READ_BYTES) {
      const bytes = Buffer.allocUnsafe(length);
      await readInto(handle, bytes, position);
      return bytesToNode(bytes);
    }
    const buffer = this.readBuffers.take();
    try {
      await readInto(handle, buffer.subarray(0, length), position);
    } catch (error) {
      this.readBuffers.give(buffer);
      throw error;
    }
    return bytesToNode(buffer.subarray(0, length), () => this.readBuffers.give(buffer));
  }

  async put(key: string, body: Readable | Uint8Array, options: IPutOptions = {}): Promise<IPutResult> {
    const target = this.objectPath(key);
    // Observed here too: the temp write may fail before `after` is awaited.
    options.after?.catch(() => undefined);
    // Size limit and verification run while streaming to the temp file, before any lock is taken.
    const temp = body instanceof Uint8Array ? await this.writeTempBytes(body, options) : await this.writeTempFile(body, options);
    try {
      await options.after;
      const etag = await writeOverLeftOver(options, (condition) => this.withKeyLock(key, () => this.commit(key, temp.file, target, condition)));
      return { ...temp.digests, etag };
    } catch (error) {
      await removeQuietly(temp.file);
      throw error;
    }
  }

  async stat(key: string): Promise<IObjectInfo | null> {
    const stats = await statFile(this.objectPath(key));
    return stats ? toInfo(key, stats) : null;
  }

  async delete(key: string, options: IDeleteOptions = {}): Promise<void> {
    const target = this.objectPath(key);
    await this.withKeyLock(key, async () => {
      if (options.ifMatch !== undefined) assertPrecondition(key, await statFile(target), options);
      try {
        await fsp.unlink(target);
      } catch (error) {
        // A missing key, or a "key" that is only a directory of other keys: nothing to delete.
        if (isMissing(error) || errorCode(error) === 'EISDIR') return;
        throw error;
      }
    });
    await this.removeEmptyParents(path.dirname(target));
  }

  async copy(sourceKey: string, targetKey: string): Promise<void> {
    const source = this.objectPath(sourceKey);
    const target = this.objectPath(targetKey);
    const tempFile = this.newTempPath();
    try {
      try {
        // copyFile reads one consistent version even if the source is replaced meanwhile (and reflinks where it can).
        await fsp.copyFile(source, tempFile, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
      } catch (error) {
        if (isMissing(error) || errorCode(error) === 'EISDIR') {
          throw RegistryError.notFound('the object to copy does not exist', { cause: keyCause(sourceKey, error) });
        }
        throw error;
      }
      const handle = await fsp.open(tempFile, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.withKeyLock(targetKey, () => this.commit(targetKey, tempFile, target, {}));
    } catch (error) {
      await removeQuietly(tempFile);
      throw error;
    }
  }

  async list(prefix: string, options: IListOptions = {}): Promise<IListResult> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1) throw RegistryError.invalid(`invalid list limit ${limit}`);
    // `npm/pa` lists the directory `npm/` and keeps the entries whose name starts with `pa`.
    const cut = prefix.lastIndexOf('/') + 1;
    const objects: IObjectInfo[] = [];
    // The token is the last key listed, so both mean "after this key".
    const after = options.continuationToken ?? options.startAfter;
    for await (const key of this.walk(prefix.slice(0, cut), prefix.slice(cut), after)) {
      const stats = await statFile(this.objectPath(key));
      if (!stats) continue; // deleted since the directory was read
      if (objects.length === limit) return { objects, nextToken: objects[limit - 1]!.key };
      objects.push(toInfo(key, stats));
    }
    return { objects };
  }

  /** A listing without the stat of each object (which `list` needs for its sizes, etags and dates). */
  listKeys(prefix: string): AsyncIterable<string> {
    assertValidPrefix(prefix);
    const cut = prefix.lastIndexOf('/') + 1;
    return this.walk(prefix.slice(0, cut), prefix.slice(cut), undefined);
  }

  /** Keys below the directory `dirKey` (empty or ending in `/`), in byte order, after `after`. */
  private async *walk(dirKey: string, namePrefix: string, after: string | undefined): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(path.join(this.root, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    // Sorting directories as `name/` puts `a-c` before `a/b`, the order of the full keys.
    const children = entries
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .filter((entry) => entry.name.startsWith(namePrefix))
      .filter((entry) => dirKey !== '' || (entry.name !== TEMP_DIR && entry.name !== LOCKS_DIR))
      .map((entry) => ({ key: dirKey + entry.name + (entry.isDirectory() ? '/' : ''), isDirectory: entry.isDirectory() }))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const child of children) {
      if (child.isDirectory) {
        // Every key below starts with `child.key`; skip the subtree when all of it sorts before the token.
        const wholeSubtreeListed =
          after !== undefined && compareKeys(child.key, after) < 0 && !after.startsWith(child.key);
        if (!wholeSubtreeListed) yield* this.walk(child.key, '', after);
      } else if (after === undefined || compareKeys(child.key, after) > 0) {
        yield child.key;
      }
    }
  }

  private objectPath(key: string): string {
    assertValidKey(key);
    const segments = key.split('/');
    if (segments[0] === TEMP_DIR || segments[0] === LOCKS_DIR) {
      throw badKeyError(`storage key ${JSON.stringify(key)} uses a name reserved by the filesystem backend`);
    }
    if (segments.some((segment) => Buffer.byteLength(segment, 'utf8') > MAX_FILE_NAME_BYTES)) {
      throw badKeyError(`storage key ${JSON.stringify(key)} has a segment longer than ${MAX_FILE_NAME_BYTES} bytes`);
    }
    const file = path.join(this.root, ...segments);
    // assertValidKey already rules out escapes; this guards against a future change to it.
    if (!file.startsWith(this.root + path.sep)) throw badKeyError(`storage key ${JSON.stringify(key)} escapes the root`);
    return file;
  }

  private newTempPath(): string {
    return path.join(this.tempDir, `${process.pid}-${crypto.randomUUID()}`);
  }

  /** Streams the body into a fresh, fsynced temp file; the temp file is gone again if anything fails. */
  private async writeTempFile(
    source: Readable,
    options: IPutOptions,
  ): Promise<{ file: string; digests: IPutDigests }> {
    const file = this.newTempPath();
    // Opened before streaming (not lazily by the write stream), so the cleanup below never races the open.
    const handle = await fsp.open(file, 'wx', 0o644);
    try {
      const hasher = new HashingTransform(options);
      // The sink fsyncs before close: the data is on disk before the rename makes it visible.
      await pipeStreamsAsync(source, hasher, new SyncingFileSink(handle, SYNC_EVERY_BYTES));
      return { file, digests: hasher.result };
    } catch (error) {
      await removeQuietly(file);
      throw error;
    }
  }

  /**
   * A body in memory (a metadata document): checked and hashed first, then written and fsynced, without the
   * stream pipeline a streamed body needs (a Readable, the hashing transform and the file sink cost more than the write).
   */
  private async writeTempBytes(bytes: Uint8Array, options: IPutOptions): Promise<{ file: string; digests: IPutDigests }> {
    const digests = await digestBytes(bytes, options);
    const file = this.newTempPath();
    const handle = await fsp.open(file, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await removeQuietly(file);
      throw error;
    }
    await handle.close();
    return { file, digests };
  }

  private async commit(key: string, tempFile: string, target: string, options: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'>): Promise<string> {
    const current = await statFile(target);
    assertPrecondition(key, current, options);
    // Dated when it becomes visible, not when its bytes were written (a put may wait on its prerequisite
    // after that): the garbage collector takes "younger than the collection" from this date. And every
    // version of a key gets a strictly later mtime than the one it replaces, so an etag (inode, size,
    // mtime) cannot come back even if the filesystem reuses an inode within one coarse clock tick.
    const mtime = Math.max(Date.now() / 1000, current ? Number(current.mtimeNs) / 1e9 + MTIME_STEP_SECONDS : 0);
    await fsp.utimes(tempFile, mtime, mtime);
    const stats = await fsp.stat(tempFile, { bigint: true });
    // rename keeps inode and mtime, so the temp file's etag is the object's.
    await this.renameIntoPlace(key, tempFile, target);
    return toEtag(stats);
  }

  /** The directory is made only when the rename finds it missing: most keys go into a directory that exists. */
  private async renameIntoPlace(key: string, tempFile: string, target: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) await fsp.mkdir(path.dirname(target), { recursive: true });
        await fsp.rename(tempFile, target);
        return;
      } catch (error) {
        const code = errorCode(error);
        // The directory is missing (new, or a concurrent delete removed it, also between mkdir and rename): make it.
        if (code === 'ENOENT' && attempt < 6) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') throw conflict(key, error);
        throw error;
      }
    }
  }

  /** Removes the directories a delete left empty, up to (not including) the root. */
  private async removeEmptyParents(dir: string): Promise<void> {
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        return; // not empty (or already gone): parents are not empty either
      }
      dir = path.dirname(dir);
    }
  }

  /**
   * One writer of a key at a time: in this process by a queue, across processes by the lock file. The queue
   * also keeps two writers of this process from breaking one stale lock (left by a killed process) at once,
   * where the second would move the first's fresh lock aside and both would write.
   */
  private async withKeyLock<T>(key: string, action: () => Promise<T>): Promise<T> {
    return this.keyLocks.run(key, async () => {
      const lockFile = path.join(this.locksDir, sha256Hex(key));
      const lock = await this.acquireLock(lockFile, key);
      try {
        return await action();
      } finally {
        await this.releaseLock(lockFile, lock);
      }
    });
  }

  /**
   * Creates the lock file exclusively; returns when it was taken. An empty file, made and closed in two calls: a lock
   * is taken for every put, and each call into the file system is a trip to Node's thread pool.
   */
  private async acquireLock(lockFile: string, key: string): Promise<{ takenAt: number }> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    let delayMs = 1;
    for (;;) {
      try {
        await createExclusive(lockFile);
        return { takenAt: Date.now() };
      } catch (error) {
        if (errorCode(error) === 'ENOENT') {
          await fsp.mkdir(this.locksDir, { recursive: true });
          continue;
        }
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      await this.breakStaleLock(lockFile);
      if (Date.now() > deadline) {
        throw RegistryError.conflict('timed out waiting for a storage lock, try again', { cause: keyCause(key) });
      }
      await sleep(delayMs + Math.random() * delayMs);
      delayMs = Math.min(delayMs * 2, 50);
    }
  }

  private async breakStaleLock(lockFile: string): Promise<void> {
    const stats = await fsp.stat(lockFile, { bigint: true }).catch(() => null);
    if (!stats || Date.now() - Number(stats.mtimeMs) < STALE_LOCK_MS) return;
    // Move it aside first: if another process replaced it with a fresh lock meanwhile, we can tell and put it back.
    const aside = `${lockFile}.stale-${crypto.randomUUID()}`;
    try {
      await fsp.rename(lockFile, aside);
    } catch {
      return; // someone else broke it
    }
    const moved = await fsp.stat(aside, { bigint: true }).catch(() => null);
    if (moved && moved.ino !== stats.ino) await fsp.link(aside, lockFile).catch(() => undefined);
    await removeQuietly(aside);
  }

  private async releaseLock(lockFile: string, lock: { takenAt: number }): Promise<void> {
    // Only remove our own lock: if ours was broken as stale, the file now belongs to someone else. Nobody
    // breaks a lock younger than STALE_LOCK_MS, so one held for less than half of that is still ours; and
    // a lock made after ours was broken is dated STALE_LOCK_MS after ours at least (a file's mtime is when it was made).
    if (Date.now() - lock.takenAt < STALE_LOCK_MS / 2) {
      await removeQuietly(lockFile);
      return;
    }
    const stats = await fsp.stat(lockFile).catch(() => null);
    if (stats && stats.mtimeMs <= lock.takenAt + STALE_LOCK_MS / 2) await removeQuietly(lockFile);
  }

  private async removeStaleTempFiles(): Promise<void> {
    const now = Date.now();
    for (const name of await fsp.readdir(this.tempDir)) {
      const file = path.join(this.tempDir, name);
      const stats = await fsp.stat(file).catch(() => null);
      if (stats && now - stats.mtimeMs > STALE_TEMP_MS) await removeQuietly(file);
    }
  }
}
