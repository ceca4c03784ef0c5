/**
 * A tiny test-only protocol: enough routes to exercise the orchestrator, the adapters and the
 * storage hooks without any real protocol.
 */
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRegistryConfig, TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import type { TProtocolFactory } from '../../ts/protocols.js';
import { BaseRegistry, type IRoute, type IProtocolDependencies } from '../../ts/core/classes.baseregistry.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

/** Deterministic bytes: the same (offset → byte) mapping on both ends, so tests compare hashes. */
export function patternChunk(offset: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) chunk[i] = ((offset + i) * 31 + ((offset + i) >>> 12)) & 0xff;
  return chunk;
}

/** A lazy Node stream of `size` pattern bytes; `pulled` counts what a consumer actually read. */
export function patternStream(size: number, chunkSize = 256 * 1024): Readable & { pulled: number } {
  let offset = 0;
  const stream = new Readable({
    read() {
      if (offset >= size) return void this.push(null);
      const length = Math.min(chunkSize, size - offset);
      const chunk = patternChunk(offset, length);
      offset += length;
      (stream as Readable & { pulled: number }).pulled = offset;
      this.push(chunk);
    },
  }) as Readable & { pulled: number };
  stream.pulled = 0;
  return stream;
}

/**
 * The same bytes as a pull-based Web stream (built by hand: Node 20's `Readable.toWeb` throws an
 * uncaught ERR_INVALID_STATE when its stream is cancelled while data is buffered).
 */
export function patternWebStream(size: number, chunkSize = 256 * 1024): ReadableStream<Uint8Array> & { pulled: number; cancelled: boolean } {
  let offset = 0;
  const web = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= size) return controller.close();
        const length = Math.min(chunkSize, size - offset);
        controller.enqueue(patternChunk(offset, length));
        offset += length;
        web.pulled = offset;
      },
      cancel() {
        web.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  ) as ReadableStream<Uint8Array> & { pulled: number; cancelled: boolean };
  web.pulled = 0;
  web.cancelled = false;
  return web;
}

export function patternSha256(size: number, chunkSize = 1024 * 1024): string {
  const hash = crypto.createHash('sha256');
  for (let offset = 0; offset < size; offset += chunkSize) hash.update(patternChunk(offset, Math.min(chunkSize, size - offset)));
  return hash.digest('hex');
}

export class EchoRegistry extends BaseRegistry {
  /** Every download stream `GET /big` handed out, so tests can see it destroyed on client abort. */
  readonly downloads: (Readable & { pulled: number })[] = [];
  /** Extra host-root paths, e.g. ['/v2'] to mimic OCI. */
  private readonly extraRootPaths: string[];

  constructor(deps: IProtocolDependencies, extraRootPaths: string[] = []) {
    super(deps);
    this.extraRootPaths = extraRootPaths;
  }

  override rootPaths(): string[] {
    return this.extraRootPaths;
  }

  protected routes(): IRoute[] {
    return [
      {
        method: 'GET',
        pattern: '/v2/:rest+',
        permission: 'public',
        handler: async (req) => ({ status: 200, body: { protocol: this.protocol, path: req.path, baseUrl: req.baseUrl } }),
      },
      {
        method: 'GET',
        pattern: '/info/:rest+',
        permission: 'public',
        handler: async (req) => ({
          status: 200,
          body: { protocol: this.protocol, path: req.path, params: req.params, query: req.query, baseUrl: req.baseUrl, method: req.method },
        }),
      },
      {
        method: 'GET',
        pattern: '/',
        permission: 'public',
        handler: async (req) => ({ status: 200, body: { protocol: this.protocol, path: req.path } }),
      },
      {
        // Digest and length of the body as bytes, whatever shape it came in; `?thinkMs=` waits that long before answering.
        method: 'POST',
        pattern: '/digest',
        permission: 'public',
        handler: async (req) => {
          const bytes = await req.body.buffer();
          await sleep(Number(req.query.thinkMs ?? 0));
          return { status: 200, body: { length: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') } };
        },
      },
      {
        method: 'POST',
        pattern: '/json',
        permission: 'public',
        handler: async (req) => ({ status: 200, body: { value: await req.body.json() } }),
      },
      {
        // The request stream straight back out.
        method: 'PUT',
        pattern: '/stream',
        permission: 'public',
        handler: async (req) => ({ status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: req.body.stream() }),
      },
      {
        method: 'GET',
        pattern: '/big',
        permission: 'public',
        handler: async (req) => {
          const size = Number(req.query.size ?? 1024);
          const stream = patternStream(size);
          this.downloads.push(stream);
          return { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }, body: stream };
        },
      },
      {
        method: 'GET',
        pattern: '/throw',
        permission: 'public',
        handler: async () => {
          throw new Error('plain failure inside a handler');
        },
      },
      {
        method: 'GET',
        pattern: '/only-get',
        permission: 'public',
        handler: async () => ({ status: 200, body: 'ok' }),
      },
      {
        method: 'PUT',
        pattern: '/files/:key+',
        permission: 'public',
        handler: async (req) => {
          const result = await this.storage.putObject(`echo/${req.params.key}`, req.body.stream(), req.storageContext, {
            maxBytes: req.body.limits.maxArtifactBytes,
          });
          return { status: 201, body: { size: result.size, sha256: result.digests.sha256 } };
        },
      },
      {
        method: 'GET',
        pattern: '/files/:key+',
        permission: 'public',
        handler: async (req) => {
          const result = await this.storage.getObject(`echo/${req.params.key}`, req.storageContext);
          if (!result) throw RegistryError.notFound(`no file ${req.params.key}`);
          return { status: 200, headers: { 'Content-Length': String(result.length) }, body: result.stream };
        },
      },
      {
        method: 'DELETE',
        pattern: '/files/:key+',
        permission: 'public',
        handler: async (req) => {
          await this.storage.deleteObject(`echo/${req.params.key}`, req.storageContext);
          return { status: 204 };
        },
      },
      {
        method: 'GET',
        pattern: '/whoami',
        permission: 'authenticated',
        handler: async (req) => ({ status: 200, body: { userId: req.token?.userId } }),
      },
      {
        method: 'GET',
        pattern: '/maybe-whoami',
        permission: 'optional',
        handler: async (req) => ({ status: 200, body: { userId: req.token?.userId ?? null, actor: req.storageContext.actor?.userId ?? null } }),
      },
    ];
  }
}

export interface IEchoSetup {
  registry: SmartRegistry;
  dataDir: string;
  /** The EchoRegistry instance mounted for a protocol. */
  echo(protocol: TRegistryProtocol): EchoRegistry;
  /** Objects in storage, as `key size` lines, for before/after comparisons. */
  listStorage(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/**
 * A SmartRegistry on a temp filesystem directory with EchoRegistry mounted for each protocol in
 * `mounts` (protocol → basePath); `rootPaths` gives a protocol host-root paths (OCI's `/v2`).
 */
export async function createEchoRegistry(
  mounts: Partial<Record<TRegistryProtocol, string>> = { npm: '/npm' },
  extra: Partial<IRegistryConfig> = {},
  rootPaths: Partial<Record<TRegistryProtocol, string[]>> = {},
): Promise<IEchoSetup> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-echo-'));
  const config: IRegistryConfig = {
    storage: { type: 'filesystem', path: dataDir },
    auth: { tokenStore: 'memory' },
    logging: { level: 'silent' },
    ...extra,
  };
  const protocolFactories: Partial<Record<TRegistryProtocol, TProtocolFactory>> = {};
  for (const [protocol, basePath] of Object.entries(mounts) as [TRegistryProtocol, string][]) {
    config[protocol] = { enabled: true, basePath };
    protocolFactories[protocol] = (deps) => new EchoRegistry(deps, rootPaths[protocol]);
  }
  const registry = new SmartRegistry(config, { protocolFactories });
  await registry.init();
  return {
    registry,
    dataDir,
    echo: (protocol) => registry.getRegistry(protocol) as EchoRegistry,
    async listStorage() {
      const lines: string[] = [];
      for await (const object of registry.getStorage().listAll('')) lines.push(`${object.key} ${object.size}`);
      return lines.sort();
    },
    async cleanup() {
      await registry.destroy();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}
