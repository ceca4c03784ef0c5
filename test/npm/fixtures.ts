/**
 * Fixtures for the npm tests, generated on the fly: real gzipped tarballs and publish documents
 * shaped like the ones `npm publish` sends.
 */
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { SmartRegistry, ISmartRegistryOptions } from '../../ts/classes.smartregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IProtocolConfig, IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { readResponse, sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry } from '../helpers/testregistry.js';

export { readResponse, type IReadResponse };

/** A gzipped tarball with `package/package.json` (and a little content), as `npm pack` makes. */
export async function makeTarball(manifest: Record<string, unknown>, extraBytes = 0): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: 'package/package.json' }, JSON.stringify(manifest, null, 2));
  pack.entry({ name: 'package/index.js' }, `module.exports = ${JSON.stringify(`${manifest.name}@${manifest.version}`)};\n`);
  if (extraBytes > 0) pack.entry({ name: 'package/data.bin' }, crypto.randomBytes(extraBytes));
  pack.finalize();
  return zlib.gzipSync(await streamToBuffer(pack as unknown as Readable));
}

export interface IPublishOptions {
  tag?: string;
  manifest?: Record<string, unknown>;
  tarball?: Buffer;
  registry?: string;
}

/** The document `npm publish` PUTs to `/{name}`. */
export async function publishBody(name: string, version: string, options: IPublishOptions = {}) {
  const manifest = { name, version, description: `${name} test package`, main: 'index.js', ...options.manifest };
  const tarball = options.tarball ?? (await makeTarball(manifest));
  const bare = name.startsWith('@') ? name.split('/')[1] : name;
  const registry = options.registry ?? 'http://ignored.example.com/npm/';
  const versionManifest = {
    ...manifest,
    _id: `${name}@${version}`,
    dist: {
      integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
      shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
      tarball: `${registry}${name}/-/${bare}-${version}.tgz`,
    },
  };
  return {
    tarball,
    body: {
      _id: name,
      name,
      description: manifest.description,
      'dist-tags': { [options.tag ?? 'latest']: version },
      versions: { [version]: versionManifest } as Record<string, any>,
      access: null,
      _attachments: {
        [`${name}-${version}.tgz`]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length },
      } as Record<string, any>,
    },
  };
}

export const escapeName = (name: string) => name.replace('/', '%2f');

export interface INpmTestRegistry {
  registry: SmartRegistry;
  dir: string;
  /** A token of alice (user with full access), bob (limited), and alice's read-only token. */
  tokens: { alice: string; bob: string; readonly: string };
  request(method: string, path: string, options?: { token?: string | null; headers?: Record<string, string>; body?: unknown }): Promise<IReadResponse>;
  /** Every key in storage, sorted. */
  keys(): Promise<string[]>;
  publish(name: string, version: string, options?: IPublishOptions & { token?: string }): Promise<IReadResponse>;
  close(): Promise<void>;
}

export interface INpmTestOptions {
  /** Default: filesystem storage in a temp directory. */
  storage?: IRegistryConfig['storage'];
  npm?: Partial<IProtocolConfig>;
  auth?: Partial<IRegistryConfig['auth']>;
  dir?: string;
  registryOptions?: ISmartRegistryOptions;
  storageHooks?: IRegistryConfig['storageHooks'];
  cache?: IRegistryConfig['cache'];
  /** Default: silent (SMARTREGISTRY_TEST_LOG=error prints errors). */
  logging?: IRegistryConfig['logging'];
}

/** A SmartRegistry with filesystem storage in a temp directory and npm at /npm. */
export async function createNpmRegistry(options: INpmTestOptions = {}): Promise<INpmTestRegistry> {
  const base = await startTestRegistry({
    label: 'npm',
    dir: options.dir,
    users: {
      alice: { password: 'alice-password', scopes: ['*'] },
      bob: { password: 'bob-password', scopes: ['npm:package:bob-*:write'] },
    },
    auth: options.auth,
    config: {
      ...(options.storage ? { storage: options.storage } : {}),
      ...(options.logging ? { logging: options.logging } : {}),
      npm: { enabled: true, basePath: '/npm', ...options.npm },
      ...(options.storageHooks ? { storageHooks: options.storageHooks } : {}),
      ...(options.cache ? { cache: options.cache } : {}),
    },
    registryOptions: options.registryOptions,
  });
  const auth = base.registry.getAuthManager();
  const tokens = {
    alice: await auth.createNpmToken('alice', false),
    bob: await auth.createNpmToken('bob', false),
    readonly: await auth.createNpmToken('alice', true),
  };
  const request: INpmTestRegistry['request'] = async (method, requestPath, extra = {}) => {
    const { token = tokens.alice, headers = {}, body } = extra;
    return sendRequest(base.registry, method, requestPath, { headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers, body });
  };
  return {
    ...base,
    tokens,
    request,
    async publish(name, version, publishOptions = {}) {
      const { body } = await publishBody(name, version, publishOptions);
      return request('PUT', `/npm/${escapeName(name)}`, { body, token: publishOptions.token });
    },
  };
}
