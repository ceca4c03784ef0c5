/**
 * Fixtures for the Cargo tests, generated on the fly: real .crate files (gzipped tar with
 * `{name}-{version}/Cargo.toml`) and publish bodies framed as `cargo publish` frames them.
 */
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { SmartRegistry, ISmartRegistryOptions } from '../../ts/classes.smartregistry.js';
import { CargoRegistry, type ICargoRegistryOptions } from '../../ts/cargo/classes.cargoregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IProtocolConfig, IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { readResponse, sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry } from '../helpers/testregistry.js';

export { readResponse, type IReadResponse };

export interface ICrateOptions {
  /** Cargo.toml's name and version when they should differ from the metadata's. */
  tomlName?: string;
  tomlVersion?: string;
  /** Replace Cargo.toml's text. */
  toml?: string | null;
  extraBytes?: number;
  /** A member of this many zero bytes (compresses to almost nothing: a gzip bomb). */
  zeroBytes?: number;
}

/** A .crate as `cargo package` makes it. */
export async function makeCrate(name: string, vers: string, options: ICrateOptions = {}): Promise<Buffer> {
  const pack = tar.pack();
  const dir = `${name}-${vers}`;
  const toml =
    options.toml === undefined
      ? `[package]\nedition = "2021"\nname = "${options.tomlName ?? name}"\nversion = "${options.tomlVersion ?? vers}"\ndescription = "test crate"\nlicense = "MIT"\n`
      : options.toml;
  if (toml !== null) pack.entry({ name: `${dir}/Cargo.toml` }, toml);
  pack.entry({ name: `${dir}/src/lib.rs` }, `pub fn name() -> &'static str { "${name}@${vers}" }\n`);
  if (options.zeroBytes) pack.entry({ name: `${dir}/zeros.bin` }, Buffer.alloc(options.zeroBytes));
  if (options.extraBytes) pack.entry({ name: `${dir}/data.bin` }, crypto.randomBytes(options.extraBytes));
  pack.finalize();
  return zlib.gzipSync(await streamToBuffer(pack as unknown as Readable));
}

/** The publish metadata cargo sends (the fields it always sends). */
export function publishMetadata(name: string, vers: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    vers,
    deps: [],
    features: {},
    authors: [],
    description: `${name} test crate`,
    documentation: null,
    homepage: null,
    readme: null,
    readme_file: null,
    keywords: [],
    categories: [],
    license: 'MIT',
    license_file: null,
    repository: null,
    badges: {},
    links: null,
    rust_version: null,
    ...extra,
  };
}

const u32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value, 0);
  return bytes;
};

/** u32 LE JSON length, JSON, u32 LE crate length, crate. */
export function frame(json: Buffer | string, crate: Buffer, lengths: { json?: number; crate?: number } = {}): Buffer {
  const jsonBytes = Buffer.isBuffer(json) ? json : Buffer.from(json, 'utf8');
  return Buffer.concat([u32(lengths.json ?? jsonBytes.length), jsonBytes, u32(lengths.crate ?? crate.length), crate]);
}

export interface ICargoTestRegistry {
  registry: SmartRegistry;
  dir: string;
  /** alice: full access; bob: read and write on every crate (no admin); readonly: alice, read-only. */
  tokens: { alice: string; bob: string; readonly: string };
  request(
    method: string,
    path: string,
    options?: { token?: string | null; headers?: Record<string, string>; body?: unknown },
  ): Promise<IReadResponse>;
  keys(): Promise<string[]>;
  publish(name: string, vers: string, options?: { token?: string; metadata?: Record<string, unknown>; crate?: Buffer }): Promise<IReadResponse>;
  close(): Promise<void>;
}

export interface ICargoTestOptions {
  storage?: IRegistryConfig['storage'];
  cargo?: Partial<IProtocolConfig>;
  auth?: Partial<IRegistryConfig['auth']>;
  cargoOptions?: ICargoRegistryOptions;
  registryOptions?: ISmartRegistryOptions;
  storageHooks?: IRegistryConfig['storageHooks'];
  dir?: string;
}

/** A SmartRegistry with filesystem storage in a temp directory and cargo at /cargo. */
export async function createCargoRegistry(options: ICargoTestOptions = {}): Promise<ICargoTestRegistry> {
  const base = await startTestRegistry({
    label: 'cargo',
    dir: options.dir,
    users: {
      alice: { password: 'alice-password', scopes: ['*'] },
      bob: { password: 'bob-password', scopes: ['cargo:crate:*:read', 'cargo:crate:*:write'] },
    },
    auth: { cargoTokens: { enabled: true }, ...options.auth },
    config: {
      ...(options.storage ? { storage: options.storage } : {}),
      cargo: { enabled: true, basePath: '/cargo', ...options.cargo },
      ...(options.storageHooks ? { storageHooks: options.storageHooks } : {}),
    },
    registryOptions: { protocolFactories: { cargo: (deps) => new CargoRegistry(deps, options.cargoOptions) }, ...options.registryOptions },
  });
  const auth = base.registry.getAuthManager();
  const tokens = {
    alice: await auth.createCargoToken('alice'),
    bob: await auth.createCargoToken('bob', false, { scopes: ['cargo:crate:*:read', 'cargo:crate:*:write'] }),
    readonly: await auth.createCargoToken('alice', true),
  };
  const request: ICargoTestRegistry['request'] = (method, requestPath, extra = {}) => {
    const { token = tokens.alice, headers = {} } = extra;
    // Cargo sends the bare token.
    return sendRequest(base.registry, method, requestPath, { headers: token ? { authorization: token, ...headers } : headers, body: extra.body });
  };
  return {
    ...base,
    tokens,
    request,
    async publish(name, vers, publishOptions = {}) {
      const crate = publishOptions.crate ?? (await makeCrate(name, vers));
      const body = frame(JSON.stringify(publishMetadata(name, vers, publishOptions.metadata)), crate);
      return request('PUT', '/cargo/api/v1/crates/new', { body, token: publishOptions.token });
    },
  };
}

/** Keys under cargo/ (auth records aside). */
export const cargoKeys = async (r: ICargoTestRegistry) => (await r.keys()).filter((key) => key.startsWith('cargo/'));
