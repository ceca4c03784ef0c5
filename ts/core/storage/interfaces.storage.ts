import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** `blake2b-256` is BLAKE2b with a 32-byte digest (PyPI's `blake2_256_digest`). */
export type THashAlgorithm = 'sha256' | 'sha1' | 'md5' | 'sha384' | 'sha512' | 'blake2b-256';

export interface IObjectInfo {
  key: string;
  size: number;
  /** Opaque version tag; changes with every write. Used for conditional puts. */
  etag: string;
  lastModified: Date;
}

/**
 * `start` at or past the end of the object → RegistryError 'range-not-satisfiable' (its headers carry the
 * `content-range` with the object size); `end` before `start` → 'invalid'; `end` past the end is clamped.
 */
export interface IByteRange {
  start: number;
  /** Inclusive; absent means to the end. */
  end?: number;
}

export interface IGetResult {
  info: IObjectInfo;
  /** The requested bytes (all, or the range). */
  stream: Readable;
  /** Bytes in `stream`. */
  length: number;
}

export interface IPutDigests {
  size: number;
  /** Hex digests, at least sha256. */
  digests: Partial<Record<THashAlgorithm, string>> & { sha256: string };
}

/** The condition of a conditional put. */
export type TPutCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface IPutOptions {
  /** Extra digests to compute in the same pass (sha256 is always computed). */
  hashes?: THashAlgorithm[];
  /** Abort with a too-large RegistryError once more bytes than this arrive; nothing is stored. */
  maxBytes?: number;
  /**
   * A hash that saw the bytes before these (an upload continued in parts): the same pass feeds it.
   * It is never finished; on a failed put it has seen some bytes, so hand over a copy.
   */
  running?: Hash;
  /**
   * With `running`: hash the bytes once, into `running` only. `digests.sha256` is then the running hash's
   * digest so far (of every byte it saw, not of this object alone); an upload in parts needs no more.
   */
  hashOnlyRunning?: boolean;
  /**
   * Runs after the last byte, before the object becomes visible. Throwing rejects the put and
   * nothing is stored (used for digest verification).
   */
  verify?: (result: IPutDigests) => void | Promise<void>;
  /**
   * Write only if the current object has this etag (precondition-failed otherwise, also when it is missing).
   * Conditional puts are meant for metadata documents: the S3 backend buffers their body (bounded by maxBytes).
   */
  ifMatch?: string;
  /** '*' : write only if no object exists at the key. */
  ifNoneMatch?: '*';
  /**
   * With `ifNoneMatch`: when an object is found at the key, asked once whether to write over it (a create-once
   * artifact a failed writer left behind): the conditions of a second attempt with the same bytes, or a rejection
   * the put fails with. Spares a stat before every create for the rare left-over.
   */
  onExisting?: () => Promise<TPutCondition>;
  /**
   * Work the object must wait for (the artifact a document lists): nothing is stored before it has
   * fulfilled, and when it rejects the put is rejected with its error. The body is taken in meanwhile
   * (on the filesystem written and flushed to a temp file), so the wait overlaps that work.
   */
  after?: Promise<unknown>;
}

export interface IDeleteOptions {
  ifMatch?: string;
}

export interface IPutResult extends IPutDigests {
  etag: string;
}

export interface IListOptions {
  /** Page size. Default and S3's maximum 1000: a page may hold fewer objects and still have a `nextToken`. */
  limit?: number;
  /** Continue after this token (from a previous page's `nextToken`; opaque and backend-specific). */
  continuationToken?: string;
  /**
   * List only keys that sort after this one (byte order; it need not exist), so a page in the middle of
   * a large prefix costs one call. Ignored when a `continuationToken` is given.
   */
  startAfter?: string;
}

/** What a presigned GET URL is made for. */
export interface IPresignOptions {
  /** Seconds the URL stays valid. */
  expiresIn: number;
  /** Origin the client reaches the object store at; the URL is signed for it. Default: the storage endpoint. */
  publicUrl?: string;
  /** `Content-Type` the object store answers with (it stores none of its own). */
  contentType?: string;
  /** When the URL is signed (its validity starts then). Default: now. */
  signedAt?: Date;
}

export interface IListResult {
  objects: IObjectInfo[];
  /** Present when more objects follow. */
  nextToken?: string;
}

/**
 * The one interface every storage backend implements. Keys are `/`-separated, never start with `/`,
 * contain no `..` segment, no backslash and no NUL. Listing returns keys in byte order.
 */
export interface IStorageBackend {
  init(): Promise<void>;
  get(key: string, range?: IByteRange): Promise<IGetResult | null>;
  put(key: string, body: Readable | Uint8Array, options?: IPutOptions): Promise<IPutResult>;
  stat(key: string): Promise<IObjectInfo | null>;
  /**
   * Deleting a missing key is not an error. With `ifMatch`, delete only the version with that etag
   * (precondition-failed otherwise), so a read-modify-write that ends in a delete loses no concurrent write.
   */
  delete(key: string, options?: IDeleteOptions): Promise<void>;
  list(prefix: string, options?: IListOptions): Promise<IListResult>;
  /**
   * Every key under `prefix`, in byte order, and nothing else. Only backends whose listing costs a stat per
   * object have it (the filesystem); `RegistryStorage.listKeys` uses `list` where it is absent.
   */
  listKeys?(prefix: string): AsyncIterable<string>;
  /** Missing source → RegistryError 'not-found'. */
  copy(sourceKey: string, targetKey: string): Promise<void>;
  /**
   * A URL anyone holding it can GET `key` from, straight from the object store, for `expiresIn` seconds.
   * Only backends that can hand out such URLs have it (S3); it does not check that the key exists.
   */
  presignGet?(key: string, options: IPresignOptions): Promise<string>;
  destroy(): Promise<void>;
}
