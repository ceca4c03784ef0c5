import * as crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BufferPool } from '../classes.bufferpool.js';
import { RegistryError } from '../classes.registryerror.js';
import { digestBytes, HashingTransform } from '../helpers.hash.js';
import { pipeStreams, pipeStreamsAsync } from '../helpers.pipe.js';
import type { IS3StorageConfig } from '../interfaces.core.js';
import { corePaths } from '../storage.paths.js';
import { assertValidKey, assertValidPrefix } from './helpers.key.js';
import { KeyLock } from './helpers.keylock.js';
import { uploadInParts } from './helpers.s3multipart.js';
import { S3ObjectClient, type IReopenableBody } from './classes.s3objectclient.js';
import { SpoolWriter } from './helpers.s3spool.js';
import { checkCondition, probeConditionalWrites, writeOverLeftOver } from './helpers.conditionalwrites.js';
import { classifyS3Error, s3HttpStatus, storageErrorOf, type TS3Request } from './helpers.s3errors.js';
import type {
  IByteRange,
  IDeleteOptions,
  IGetResult,
  IListOptions,
  IListResult,
  IObjectInfo,
  IPutDigests,
  IPutOptions,
  IPresignOptions,
  IPutResult,
  IStorageBackend,
} from './interfaces.storage.js';

/**
 * A multipart upload holds every part it sends, and the one it fills, in memory: S3's smallest part
 * (5 MiB) two at a time keeps that near 15 MiB (8 MiB parts four at a time: 40 MiB). 10,000 parts of
 * 5 MiB allow objects up to 48 GiB.
 */
const PART_BYTES = 5 * 1024 * 1024;
const PARALLEL_PARTS = 2;
/** In-memory bodies up to this size go up in one PutObject; larger ones in parallel parts. */
const SINGLE_PUT_MAX_BYTES = 64 * 1024 * 1024;
/** S3's largest single PutObject. */
const SINGLE_PUT_LIMIT_BYTES = 5 * 1024 ** 3;
const MAX_LIST_PAGE = 1000;

const toReadable = (body: Readable | Uint8Array): Readable =>
  body instanceof Uint8Array ? Readable.from([body], { objectMode: false }) : body;

/** `http(s)://host[:port]` from the descriptor (an endpoint's own scheme wins over `useSsl`). */
function endpointUrl(config: IS3StorageConfig): string {
  const endpoint = config.endpoint.trim();
  const scheme = config.useSsl === false ? 'http' : 'https';
  const url = new URL(/^https?:\/\//i.test(endpoint) ? endpoint : `${scheme}://${endpoint.replace(/\/.*$/, '')}`);
  if (config.port !== undefined && config.port !== '') url.port = String(config.port);
  return url.origin;
}

/**
 * CopySource is a URL path: encode each segment, but keep the sub-delimiters S3 accepts raw (`@` of npm
 * scopes, `:`, `=` ...) because some S3-compatible servers only run decodeURI on it. `+` stays encoded:
 * S3 would read a raw one as a space.
 */
const encodeCopySource = (bucket: string, key: string) =>
  `${bucket}/${key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%(40|3A|3D|2C|3B|24|26)/g, (escaped) => decodeURIComponent(escaped)))
    .join('/')}`;

function rangeHeader(range: IByteRange | undefined): string | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw RegistryError.invalid(`invalid byte range ${start}-${end ?? ''}`);
  }
  return `bytes=${start}-${end ?? ''}`;
}

/** What a GET or HEAD answer says about the object. */
function objectInfo(key: string, headers: IncomingHttpHeaders, size: number): IObjectInfo {
  const lastModified = headers['last-modified'];
  return { key, size, etag: headers.etag ?? '', lastModified: lastModified ? new Date(lastModified) : new Date(0) };
}

const contentLength = (headers: IncomingHttpHeaders) => Number(headers['content-length'] ?? 0);

/** `Content-Range: bytes 0-9/1234` → its numbers. */
function parseContentRange(contentRange: string | undefined) {
  const match = contentRange?.match(/^bytes (\d+)-(\d+)\/(\d+)$/);
  return match ? { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) } : undefined;
}

/**
 * Objects in one S3 bucket. Reads, writes and deletes of one object go through S3ObjectClient (a fifth of the
 * SDK's CPU per request); listing, copying, multipart uploads, the bucket and presigning through the AWS SDK's
 * client. smartbucket is not used: it has no conditional or ranged operations, and loading it beside the SDK
 * cost 28 MiB of RSS and a second client only to create the bucket.
 */
export class S3Backend implements IStorageBackend {
  private readonly bucket: string;
  private readonly client: S3Client;
  private readonly objects: S3ObjectClient;
  private readonly allowUnconditionalWrites: boolean;
  /**
   * Set at init when the server ignores conditional writes and `allowUnconditionalWrites` allows that: this
   * process then checks the conditions itself, one write per key at a time (right for a single instance only).
   */
  private localConditions?: KeyLock;

  /** Clients that sign for a public origin other than the endpoint (they never send a request). */
  private readonly publicSigners = new Map<string, S3Client>();
  private readonly config: IS3StorageConfig;
  /** Enough for one upload at a time; concurrent ones allocate more and leave them to the collector. */
  private readonly partBuffers = new BufferPool(PART_BYTES, PARALLEL_PARTS + 1);

  constructor(config: IS3StorageConfig) {
    this.config = config;
    this.bucket = config.bucketName;
    this.allowUnconditionalWrites = config.allowUnconditionalWrites === true;
    // The SDK's default checksum settings make a streaming put of unknown length fail
    // (`x-amz-decoded-content-length` undefined).
    this.client = this.createClient(endpointUrl(config));
    this.objects = new S3ObjectClient({
      endpoint: endpointUrl(config),
      bucket: this.bucket,
      region: config.region || 'us-east-1',
      accessKey: config.accessKey,
      secretKey: config.accessSecret,
    });
  }

  private createClient(endpoint: string): S3Client {
    return new S3Client({
      endpoint,
      region: this.config.region || 'us-east-1',
      credentials: { accessKeyId: this.config.accessKey, secretAccessKey: this.config.accessSecret },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async init(): Promise<void> {
    await this.ensureBucket();
    // Without conditional writes two writers of one document silently lose each other's changes: find out now.
    const ignored = await probeConditionalWrites(this, corePaths.conditionalWriteProbe(crypto.randomUUID()));
    if (ignored === undefined) return;
    if (!this.allowUnconditionalWrites) {
      throw new Error(
        `the S3 server ignores conditional writes (${ignored}): registry instances sharing bucket "${this.bucket}" would ` +
          'lose each other\'s writes. Use an S3 server that honours If-Match and If-None-Match on PutObject (AWS S3, ' +
          'Ceph RGW 20), or set storage.allowUnconditionalWrites: true to run a single instance on this bucket.',
      );
    }
    this.localConditions = new KeyLock();
  }

  private async ensureBucket(): Promise<void> {
    if (await this.bucketExists()) return;
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      // Another instance may have created it at the same moment.
      if (!(await this.bucketExists())) throw error;
    }
  }

  async destroy(): Promise<void> {
    this.client.destroy();
    this.objects.destroy();
    for (const signer of this.publicSigners.values()) signer.destroy();
  }

  async get(key: string, range?: IByteRange): Promise<IGetResult | null> {
    assertValidKey(key);
    const Range = rangeHeader(range);
    try {
      const stream = await this.objects.open({ method: 'GET', key, headers: Range ? { range: Range } : {} });
      const length = contentLength(stream.headers);
      const contentRange = stream.headers['content-range'];
      const served = parseContentRange(contentRange);
      if (range) {
        // Wrong bytes would be worse than an error: check that the server honoured the range exactly.
        const honoured =
          served && served.start === range.start && served.end === Math.min(range.end ?? Infinity, served.size - 1);
        if (!honoured) {
          stream.destroy();
          throw new Error(`S3 server answered ${Range} for ${key} with ${contentRange ?? 'the whole object'}`);
        }
      }
      return { info: objectInfo(key, stream.headers, served?.size ?? length), stream, length };
    } catch (error) {
      const outcome = classifyS3Error(error, 'read');
      if (outcome === 'missing') return null;
      if (outcome === 'range-not-satisfiable') {
        const size = (await this.stat(key))?.size;
        throw new RegistryError('range-not-satisfiable', `range starts at ${range?.start} but the object has ${size} bytes`, {
          headers: size === undefined ? {} : { 'content-range': `bytes */${size}` },
          cause: error,
        });
      }
      throw this.storageError(outcome, error, key);
    }
  }

  async put(key: string, body: Readable | Uint8Array, options: IPutOptions = {}): Promise<IPutResult> {
    assertValidKey(key);
    // Observed here too: taking the body in may fail before `after` is awaited.
    options.after?.catch(() => undefined);
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    // Conditions only exist on PutObject, which needs the length up front: a conditional stream (a
    // create-once artifact) waits in memory or, when large, a temporary file; metadata documents arrive as bytes.
    if (conditional && !(body instanceof Uint8Array)) return this.putSpooled(key, body, options);
    if (conditional || (body instanceof Uint8Array && body.byteLength <= SINGLE_PUT_MAX_BYTES)) {
      const { bytes, digests } = await this.bufferBody(body, options);
      await options.after;
      return this.putWithConditions(key, bytes, digests, options);
    }
    await options.after;
    return this.putStream(key, body, options);
  }

  async stat(key: string): Promise<IObjectInfo | null> {
    assertValidKey(key);
    try {
      const headers = await this.objects.send({ method: 'HEAD', key });
      return objectInfo(key, headers, contentLength(headers));
    } catch (error) {
      const outcome = classifyS3Error(error, 'read');
      if (outcome === 'missing') return null;
      throw this.storageError(outcome, error, key);
    }
  }

  async delete(key: string, options: IDeleteOptions = {}): Promise<void> {
    assertValidKey(key);
    const localConditions = this.localConditions;
    if (options.ifMatch !== undefined && localConditions) {
      return localConditions.run(key, async () => {
        checkCondition(key, await this.stat(key), options);
        await this.deleteObject(key, {});
      });
    }
    await this.deleteObject(key, options);
  }

  private async deleteObject(key: string, options: IDeleteOptions): Promise<void> {
    try {
      await this.objects.send({ method: 'DELETE', key, headers: options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch } });
    } catch (error) {
      const outcome = classifyS3Error(error, options.ifMatch === undefined ? 'delete' : 'replace');
      if (outcome === 'missing') return;
      throw this.storageError(outcome, error, key);
    }
  }

  async list(prefix: string, options: IListOptions = {}): Promise<IListResult> {
    assertValidPrefix(prefix);
    const limit = options.limit ?? MAX_LIST_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1) throw RegistryError.invalid(`invalid list limit ${limit}`);
    const response = await this.client
      .send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix === '' ? undefined : prefix,
          MaxKeys: Math.min(limit, MAX_LIST_PAGE),
          ContinuationToken: options.continuationToken,
          StartAfter: options.continuationToken === undefined ? options.startAfter : undefined,
        }),
      )
      .catch((error: unknown) => {
        throw this.storageError(classifyS3Error(error, 'list'), error, prefix);
      });
    const objects = (response.Contents ?? []).map(
      (object): IObjectInfo => ({
        key: object.Key ?? '',
        size: object.Size ?? 0,
        etag: object.ETag ?? '',
        lastModified: object.LastModified ?? new Date(0),
      }),
    );
    return response.IsTruncated && response.NextContinuationToken
      ? { objects, nextToken: response.NextContinuationToken }
      : { objects };
  }

  async copy(sourceKey: string, targetKey: string): Promise<void> {
    assertValidKey(sourceKey);
    assertValidKey(targetKey);
    try {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: targetKey, CopySource: encodeCopySource(this.bucket, sourceKey) }),
      );
    } catch (error) {
      throw this.storageError(classifyS3Error(error, 'copy'), error, sourceKey);
    }
  }

  /**
   * Signing is local (no request): the URL carries the signature in its query, so only the Host is signed and
   * the client may add Range and conditional headers. The object store answers with its own ETag.
   */
  async presignGet(key: string, options: IPresignOptions): Promise<string> {
    assertValidKey(key);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentType: options.contentType });
    return getSignedUrl(this.signerFor(options.publicUrl), command, { expiresIn: options.expiresIn, signingDate: options.signedAt });
  }

  private signerFor(publicUrl: string | undefined): S3Client {
    if (publicUrl === undefined) return this.client;
    let signer = this.publicSigners.get(publicUrl);
    if (!signer) {
      signer = this.createClient(publicUrl);
      this.publicSigners.set(publicUrl, signer);
    }
    return signer;
  }

  private async bucketExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (error) {
      // HeadBucket has no body, so no code to read: a 404 is the bucket missing.
      if (s3HttpStatus(error) === 404) return false;
      throw this.storageError(classifyS3Error(error, 'read'), error, '');
    }
  }

  /** The typed error for an S3 error, by the table in helpers.s3errors.ts. */
  private storageError(outcome: ReturnType<typeof classifyS3Error>, error: unknown, key: string): unknown {
    return storageErrorOf(outcome, error, { bucket: this.bucket, key });
  }

  /** Reads the whole body through the hasher, so size limit and verification run before any request. */
  private async bufferBody(body: Readable | Uint8Array, options: IPutOptions) {
    if (body instanceof Uint8Array) return { bytes: body, digests: await digestBytes(body, options) };
    const hasher = new HashingTransform(options);
    const chunks: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await pipeStreamsAsync(body, hasher, collect);
    return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), digests: hasher.result };
  }


  /** PutObject with its conditions, and once more over a left-over when `options.onExisting` says so. */
  private putWithConditions(key: string, body: Uint8Array | IReopenableBody, digests: IPutDigests, options: IPutOptions): Promise<IPutResult> {
    // The request is signed with the body's sha256, which the hasher has unless it only fed a running hash.
    const bodySha256 = options.hashOnlyRunning ? undefined : digests.digests.sha256;
    return writeOverLeftOver(options, (condition) => this.putIfHolds(key, body, bodySha256, digests, condition));
  }

  /** PutObject under `condition`; checked here, per key, when the server ignores conditions (the single-instance option). */
  private putIfHolds(
    key: string,
    body: Uint8Array | IReopenableBody,
    bodySha256: string | undefined,
    digests: IPutDigests,
    condition: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'>,
  ): Promise<IPutResult> {
    const localConditions = this.localConditions;
    const conditional = condition.ifMatch !== undefined || condition.ifNoneMatch !== undefined;
    if (conditional && localConditions) {
      return localConditions.run(key, async () => {
        checkCondition(key, await this.stat(key), condition);
        return this.putObject(key, body, bodySha256, digests, {});
      });
    }
    return this.putObject(key, body, bodySha256, digests, condition);
  }

  /** Hashed and limit-checked into memory or, past SPOOL_IN_MEMORY_BYTES, a temporary file; then one conditional PutObject. */
  private async putSpooled(key: string, body: Readable, options: IPutOptions): Promise<IPutResult> {
    const spool = new SpoolWriter();
    try {
      const hasher = new HashingTransform(options);
      await pipeStreamsAsync(body, hasher, spool);
      const { size } = hasher.result;
      if (size > SINGLE_PUT_LIMIT_BYTES) {
        throw RegistryError.tooLarge(`a conditional write of ${size} bytes exceeds S3's single PUT limit of ${SINGLE_PUT_LIMIT_BYTES} bytes`);
      }
      await options.after;
      return await this.putWithConditions(key, spool.body(), hasher.result, options);
    } finally {
      await spool.remove();
    }
  }


  private async putObject(
    key: string,
    body: Uint8Array | IReopenableBody,
    bodySha256: string | undefined,
    digests: IPutDigests,
    options: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'>,
  ): Promise<IPutResult> {
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    if (options.ifNoneMatch !== undefined) headers['if-none-match'] = options.ifNoneMatch;
    try {
      const answer = await this.objects.send({ method: 'PUT', key, headers, body, bodySha256 });
      return { ...digests, etag: answer.etag ?? '' };
    } catch (error) {
      const request: TS3Request = options.ifMatch !== undefined ? 'replace' : options.ifNoneMatch !== undefined ? 'create' : 'write';
      throw this.storageError(classifyS3Error(error, request), error, key);
    }
  }

  /**
   * Streams of unknown length go up in parts. The body runs through the hasher into the upload; a
   * size-limit or verify failure errors the hasher before its end, so the upload is never completed and
   * nothing becomes visible.
   */
  private async putStream(key: string, body: Readable | Uint8Array, options: IPutOptions): Promise<IPutResult> {
    const hasher = new HashingTransform(options);
    let bodyError: unknown;
    hasher.on('error', (error) => {
      bodyError ??= error;
    });
    // Errors travel both ways: a failing body destroys the hasher (and the upload reading it), and the
    // other way round, so a client connection is not left hanging.
    pipeStreams([toReadable(body), hasher], () => undefined);
    try {
      const { etag } = await uploadInParts(this.client, { Bucket: this.bucket, Key: key }, hasher, {
        buffers: this.partBuffers,
        parallelParts: PARALLEL_PARTS,
        // The hasher has ended by then: its sha256 signs the body, unless it only fed a running hash.
        putWhole: async (bytes) => {
          const bodySha256 = options.hashOnlyRunning ? undefined : hasher.result.digests.sha256;
          return (await this.objects.send({ method: 'PUT', key, body: bytes, bodySha256 })).etag ?? '';
        },
      });
      return { ...hasher.result, etag };
    } catch (error) {
      hasher.destroy(error instanceof Error ? error : new Error(String(error)));
      // Report why the body failed (too large, verify), not a follow-up error such as a failed abort.
      throw bodyError ?? this.storageError(classifyS3Error(error, 'write'), error, key);
    }
  }
}
