/**
 * Fixtures for the Composer tests, generated on the fly: package zips (composer.json and a class, in
 * one top folder as GitHub's archives are made, or at the root) written by the core test zip writer,
 * and a registry reached through handleRequest.
 */
import * as crypto from 'node:crypto';
import { ComposerRegistry, type IComposerRegistryOptions } from '../../ts/composer/classes.composerregistry.js';
import type { IAuthConfig, IProtocolConfig, IRegistryConfig, IStorageConfig } from '../../ts/core/interfaces.core.js';
import { zipBuffer, type ITestZipEntry } from '../core/archive/zipwriter.js';
import { sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry, type ITestRegistry } from '../helpers/testregistry.js';

export interface IPackageZipOptions {
  /** composer.json's version; null leaves it out (the upload then names it). */
  version?: string | null;
  /** Members at the root instead of in `{vendor}-{package}/`. */
  atRoot?: boolean;
  /** composer.json's text, replacing the generated one; null leaves composer.json out. */
  composerJson?: string | null;
  /** composer.json fields merged over the generated ones. */
  extra?: Record<string, unknown>;
  extraEntries?: ITestZipEntry[];
}

/** The PHP class a package zip carries: it says which package and version it came from. */
export const greeterSource = (name: string, label: string) =>
  `<?php\nnamespace Test;\n\nfinal class Greeter\n{\n    public const FROM = ${JSON.stringify(`${name} ${label}`)};\n}\n`;

/** A package zip as `git archive` or GitHub makes it. */
export async function makePackageZip(name: string, label: string, options: IPackageZipOptions = {}): Promise<Buffer> {
  const version = options.version === undefined ? label : options.version;
  const composerJson =
    options.composerJson === undefined
      ? JSON.stringify({
          name,
          description: `${name}, made by the smartregistry composer tests`,
          type: 'library',
          license: 'MIT',
          ...(version === null ? {} : { version }),
          autoload: { 'psr-4': { 'Test\\': 'src/' } },
          ...options.extra,
        })
      : options.composerJson;
  const folder = options.atRoot ? '' : `${name.replace('/', '-')}-${label}/`;
  const entries: ITestZipEntry[] = [
    ...(composerJson === null ? [] : [{ name: `${folder}composer.json`, data: Buffer.from(composerJson), method: 'deflate' as const }]),
    { name: `${folder}src/Greeter.php`, data: Buffer.from(greeterSource(name, label)), method: 'deflate' },
    ...(options.extraEntries ?? []),
  ];
  return zipBuffer(entries);
}

export const sha1 = (bytes: Buffer) => crypto.createHash('sha1').update(bytes).digest('hex');

export interface IComposerTestRegistry extends ITestRegistry {
  tokens: { alice: string; bob: string; readonly: string };
  /** As `alice` (Bearer) unless `token` (null: none) or `authorization` says otherwise. */
  request(method: string, path: string, options?: { token?: string | null; authorization?: string; body?: unknown; headers?: Record<string, string> }): Promise<IReadResponse>;
  upload(name: string, zip: Buffer, options?: { version?: string; token?: string | null }): Promise<IReadResponse>;
}

export interface IComposerTestOptions {
  storage?: IStorageConfig;
  composer?: Partial<IProtocolConfig>;
  auth?: Partial<IAuthConfig>;
  limits?: IRegistryConfig['limits'];
  downloads?: IRegistryConfig['downloads'];
  registryOptions?: IComposerRegistryOptions;
}

/**
 * A registry with users alice (every composer scope) and bob (reads everything, writes `bob/*`, and a
 * token for `acme/private` reads only: `readonly`).
 */
export async function createComposerRegistry(options: IComposerTestOptions = {}): Promise<IComposerTestRegistry> {
  const base = await startTestRegistry({
    label: 'composer',
    users: {
      alice: { password: 'alice-password', scopes: ['composer:*:*:*'] },
      bob: { password: 'bob-password', scopes: ['composer:package:bob/*:*', 'composer:package:*:read'] },
    },
    auth: options.auth,
    config: {
      ...(options.storage ? { storage: options.storage } : {}),
      composer: { enabled: true, basePath: '/composer', ...options.composer },
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.downloads ? { downloads: options.downloads } : {}),
    },
    registryOptions: options.registryOptions ? { protocolFactories: { composer: (deps) => new ComposerRegistry(deps, options.registryOptions) } } : undefined,
  });
  const auth = base.registry.getAuthManager();
  const tokens = {
    alice: await auth.createComposerToken('alice', false),
    bob: await auth.createComposerToken('bob', false),
    readonly: await auth.createComposerToken('bob', true, { scopes: ['composer:package:acme/private:read'] }),
  };
  const request: IComposerTestRegistry['request'] = (method, requestPath, extra = {}) => {
    const { token = tokens.alice, authorization, headers = {}, body } = extra;
    const credentials = authorization ?? (token ? `Bearer ${token}` : undefined);
    return sendRequest(base.registry, method, requestPath, { headers: credentials ? { ...headers, authorization: credentials } : headers, body });
  };
  return {
    ...base,
    tokens,
    request,
    upload: (name, zip, uploadOptions = {}) =>
      request('PUT', `/composer/packages/${name}${uploadOptions.version ? `?version=${encodeURIComponent(uploadOptions.version)}` : ''}`, {
        token: uploadOptions.token,
        body: zip,
        headers: { 'content-type': 'application/zip' },
      }),
  };
}
