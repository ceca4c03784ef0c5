/**
 * Shared setup for the OCI tests that go through `SmartRegistry.handleRequest`: a registry on a
 * temporary filesystem directory with a few users, and small helpers to push blobs and manifests.
 */
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IProtocolConfig, IRegistryConfig, IRequestContext, IStorageConfig, TRequestBody } from '../../ts/core/interfaces.core.js';
import type { OciRegistry } from '../../ts/oci/classes.ociregistry.js';
import type { IOciOptions } from '../../ts/oci/interfaces.oci.js';

export const PASSWORDS = { admin: 'admin-password', reader: 'reader-password', pusher: 'pusher-password', alice: 'alice-password' } as const;

export const basic = (user: keyof typeof PASSWORDS, password: string = PASSWORDS[user]) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export const sha256 = (data: Uint8Array | string) => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
export const sha512 = (data: Uint8Array | string) => `sha512:${crypto.createHash('sha512').update(data).digest('hex')}`;

export interface ICallOptions {
  headers?: Record<string, string>;
  query?: Record<string, string | string[]>;
  body?: TRequestBody;
  /** Credentials: a user (Basic), a raw Authorization value, or none. */
  as?: keyof typeof PASSWORDS | { authorization: string } | null;
}

export interface ICallResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  json: any;
  /** First `errors[].code` of an OCI error document. */
  code?: string;
}

export interface IOciFixture {
  registry: SmartRegistry;
  oci: OciRegistry;
  dataDir: string;
  call(method: string, pathAndQuery: string, options?: ICallOptions): Promise<ICallResult>;
  pushBlob(name: string, bytes: Buffer | string, as?: ICallOptions['as']): Promise<string>;
  pushManifest(name: string, reference: string, manifest: object | Buffer, mediaType?: string, as?: ICallOptions['as']): Promise<ICallResult>;
  /** Push config + layers + an OCI image manifest; returns the manifest's digest and bytes. */
  pushImage(name: string, tag: string, layers?: string[], extra?: Record<string, unknown>): Promise<{ digest: string; bytes: Buffer; layers: string[]; config: string }>;
  cleanup(): Promise<void>;
}

export interface IFixtureOptions {
  anonymousRead?: boolean;
  basePath?: string;
  registryUrl?: string;
  storage?: IStorageConfig;
  /** Share a data directory with another fixture (a second instance on the same storage). */
  dataDir?: string;
  limits?: IRegistryConfig['limits'];
  ociTokens?: NonNullable<IRegistryConfig['auth']['ociTokens']>;
  hooks?: IRegistryConfig['storageHooks'];
  /** Garbage collection, retention and download settings of the `oci` section. */
  oci?: IOciOptions & Pick<IProtocolConfig, 'downloads'>;
}

export const header = (headers: Record<string, string>, name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

export async function createOciFixture(options: IFixtureOptions = {}): Promise<IOciFixture> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-oci-')));
  const config: IRegistryConfig = {
    storage: options.storage ?? { type: 'filesystem', path: dataDir },
    auth: {
      tokenStore: 'memory',
      jwtSecret: 'oci-test-secret-0123456789abcdef-0123',
      anonymousRead: options.anonymousRead ?? false,
      users: {
        admin: { password: PASSWORDS.admin, scopes: ['*'] },
        reader: { password: PASSWORDS.reader, scopes: ['oci:repository:*:pull'] },
        pusher: { password: PASSWORDS.pusher, scopes: ['oci:repository:*:push'] },
        alice: { password: PASSWORDS.alice, scopes: ['oci:repository:alice/*:*'] },
      },
      ...(options.ociTokens ? { ociTokens: options.ociTokens } : {}),
    },
    logging: { level: 'silent' },
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.hooks ? { storageHooks: options.hooks } : {}),
    oci: { enabled: true, basePath: options.basePath ?? '/oci', ...(options.registryUrl ? { registryUrl: options.registryUrl } : {}), ...options.oci },
  };
  const registry = new SmartRegistry(config);
  await registry.init();
  const oci = registry.getRegistry('oci') as OciRegistry;

  const call = async (method: string, pathAndQuery: string, callOptions: ICallOptions = {}): Promise<ICallResult> => {
    const url = new URL(pathAndQuery, 'http://registry.example.com');
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of url.searchParams) {
      const existing = query[key];
      query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    Object.assign(query, callOptions.query);
    const headers: Record<string, string> = { host: 'registry.example.com', ...callOptions.headers };
    const as = callOptions.as === undefined ? 'admin' : callOptions.as;
    if (as && typeof as === 'object') headers.authorization = as.authorization;
    else if (as) headers.authorization = basic(as);
    const body = callOptions.body;
    if (body instanceof Uint8Array && headers['content-length'] === undefined) headers['content-length'] = String(body.byteLength);
    const ctx: IRequestContext = { method, path: url.pathname, headers, query, body };
    const response = await registry.handleRequest(ctx);
    const bytes = await streamToBuffer(response.body);
    let json: any;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, body: bytes, json, code: json?.errors?.[0]?.code };
  };

  const pushBlob = async (name: string, data: Buffer | string, as?: ICallOptions['as']) => {
    const bytes = Buffer.from(data);
    const digest = sha256(bytes);
    const res = await call('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: bytes, as });
    if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${res.body.toString()}`);
    return digest;
  };

  const pushManifest = async (name: string, reference: string, manifest: object | Buffer, mediaType?: string, as?: ICallOptions['as']) => {
    const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
    const type = mediaType ?? (Buffer.isBuffer(manifest) ? undefined : ((manifest as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json'));
    return call('PUT', `/v2/${name}/manifests/${reference}`, { body: bytes, headers: type ? { 'content-type': type } : {}, as });
  };

  const pushImage = async (name: string, tag: string, layerTexts: string[] = [`layer of ${name}:${tag}`], extra: Record<string, unknown> = {}) => {
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
    const config = await pushBlob(name, configBytes);
    const layers = [];
    for (const text of layerTexts) layers.push({ digest: await pushBlob(name, text), size: Buffer.byteLength(text) });
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })),
      ...extra,
    };
    const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
    const res = await pushManifest(name, tag, bytes, manifest.mediaType);
    if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${res.body.toString()}`);
    return { digest: sha256(bytes), bytes, layers: layers.map((layer) => layer.digest), config };
  };

  return {
    registry,
    oci,
    dataDir,
    call,
    pushBlob,
    pushManifest,
    pushImage,
    async cleanup() {
      await registry.destroy();
      if (ownDir) await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every file below a directory (relative paths), to prove a failed request left storage unchanged. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string) => {
    for (const entry of await fsp.readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  await walk(dir).catch(() => undefined);
  return out.filter((file) => !file.startsWith('.tmp') && !file.startsWith('.locks')).sort();
}
