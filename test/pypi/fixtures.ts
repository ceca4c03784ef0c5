/**
 * Fixtures for the PyPI tests, generated on the fly: wheels (zip with a dist-info METADATA, written
 * by the core test zip writer), sdists (tar.gz with PKG-INFO) and upload forms shaped like the
 * multipart bodies twine sends.
 */
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { createBLAKE2b } from 'hash-wasm';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IProtocolConfig, IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { zipBuffer, type ITestZipEntry } from '../core/archive/zipwriter.js';
import { readResponse, sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry } from '../helpers/testregistry.js';

export { readResponse, type IReadResponse };

export interface IDistOptions {
  requiresPython?: string;
  summary?: string;
  /** The module's source (default: a VALUE constant naming the version). */
  module?: string;
  /** Leave the METADATA out (a broken wheel). */
  omitMetadata?: boolean;
  /** METADATA that names another version. */
  metadataVersion?: string;
  /** `Requires-Dist` lines. */
  requiresDist?: string[];
  /** Extra zip members. */
  extraEntries?: ITestZipEntry[];
}

export const moduleName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '_');

export function coreMetadata(name: string, version: string, options: IDistOptions = {}): string {
  return [
    'Metadata-Version: 2.1',
    `Name: ${name}`,
    `Version: ${options.metadataVersion ?? version}`,
    `Summary: ${options.summary ?? `${name} test project`}`,
    'Keywords: smartregistry,testing',
    ...(options.requiresPython ? [`Requires-Python: ${options.requiresPython}`] : []),
    ...(options.requiresDist ?? []).map((requirement) => `Requires-Dist: ${requirement}`),
    '',
    `${name} is a project made by the smartregistry tests.`,
    '',
  ].join('\n');
}

/** A pure-Python wheel (PEP 427): the module, its dist-info METADATA, WHEEL and RECORD. */
export async function makeWheel(name: string, version: string, options: IDistOptions = {}): Promise<{ filename: string; bytes: Buffer }> {
  const dist = moduleName(name);
  const info = `${dist}-${version}.dist-info`;
  const files: [string, string][] = [
    [`${dist}/__init__.py`, options.module ?? `VALUE = ${JSON.stringify(`${name} ${version}`)}\n`],
    ...(options.omitMetadata ? [] : ([[`${info}/METADATA`, coreMetadata(name, version, options)]] as [string, string][])),
    [`${info}/WHEEL`, 'Wheel-Version: 1.0\nGenerator: smartregistry-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'],
  ];
  const record = files.map(([file, text]) => {
    const digest = crypto.createHash('sha256').update(text).digest('base64url');
    return `${file},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  files.push([`${info}/RECORD`, `${record.join('\n')}\n${info}/RECORD,,\n`]);
  const entries: ITestZipEntry[] = files.map(([file, text]) => ({ name: file, data: Buffer.from(text), method: 'deflate' }));
  return { filename: `${dist}-${version}-py3-none-any.whl`, bytes: await zipBuffer([...entries, ...(options.extraEntries ?? [])]) };
}

/** An sdist (PEP 625 name): `{name}-{version}/PKG-INFO` and the module, gzipped tar. */
export async function makeSdist(name: string, version: string, options: IDistOptions = {}): Promise<{ filename: string; bytes: Buffer }> {
  const dist = moduleName(name);
  const root = `${dist}-${version}`;
  const pack = tar.pack();
  pack.entry({ name: `${root}/PKG-INFO` }, coreMetadata(name, version, options));
  pack.entry({ name: `${root}/${dist}/__init__.py` }, options.module ?? `VALUE = ${JSON.stringify(`${name} ${version}`)}\n`);
  pack.finalize();
  return { filename: `${root}.tar.gz`, bytes: zlib.gzipSync(await streamToBuffer(pack as unknown as Readable)) };
}

export async function digestsOf(bytes: Buffer) {
  const blake = await createBLAKE2b(256);
  blake.init();
  blake.update(bytes);
  return {
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    md5: crypto.createHash('md5').update(bytes).digest('hex'),
    blake2_256: blake.digest('hex'),
  };
}

export type TFormFields = [string, string][];

/** The fields twine sends for a file, digests included. */
export async function uploadFields(name: string, version: string, file: { filename: string; bytes: Buffer }, extra: TFormFields = []): Promise<TFormFields> {
  const digests = await digestsOf(file.bytes);
  const wheel = file.filename.endsWith('.whl');
  return [
    [':action', 'file_upload'],
    ['protocol_version', '1'],
    ['name', name],
    ['version', version],
    ['filetype', wheel ? 'bdist_wheel' : 'sdist'],
    ['pyversion', wheel ? 'py3' : 'source'],
    ['metadata_version', '2.1'],
    ['summary', `${name} test project`],
    ['keywords', 'smartregistry,testing'],
    ['classifiers', 'Programming Language :: Python :: 3'],
    ['classifiers', 'License :: OSI Approved :: MIT License'],
    ['requires_dist', 'requests>=2'],
    ['project_urls', 'Source, https://registry.example.com/source'],
    ['md5_digest', digests.md5],
    ['sha256_digest', digests.sha256],
    ['blake2_256_digest', digests.blake2_256],
    ...extra,
  ];
}

export const BOUNDARY = 'smartregistry-test-boundary-7c1f';

/** A multipart/form-data body: the fields, then the file (unless null), then the closing boundary. */
export function multipartBody(fields: TFormFields, file: { filename: string; bytes: Buffer; field?: string } | null, after: TFormFields = []): Buffer {
  const parts: Buffer[] = [];
  const field = ([name, value]: [string, string]) =>
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  fields.forEach(field);
  if (file) {
    parts.push(
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${file.field ?? 'content'}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      file.bytes,
      Buffer.from('\r\n'),
    );
  }
  after.forEach(field);
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

export interface IPypiTestRegistry {
  registry: SmartRegistry;
  dir: string;
  /** alice: everything on pypi; bob: write on `bob-*` only; readonly: alice's read-only token. */
  tokens: { alice: string; bob: string; readonly: string };
  request(
    method: string,
    path: string,
    options?: { token?: string | null; authorization?: string; headers?: Record<string, string>; body?: unknown },
  ): Promise<IReadResponse>;
  /** A twine-shaped upload of `file`. */
  upload(
    name: string,
    version: string,
    file: { filename: string; bytes: Buffer },
    options?: { token?: string | null; authorization?: string; extra?: TFormFields },
  ): Promise<IReadResponse>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export interface IPypiTestOptions {
  storage?: IRegistryConfig['storage'];
  pypi?: Partial<IProtocolConfig>;
  auth?: Partial<IRegistryConfig['auth']>;
  limits?: IRegistryConfig['limits'];
  storageHooks?: IRegistryConfig['storageHooks'];
}

/** A SmartRegistry with filesystem storage in a temp directory and PyPI at /pypi. */
export async function createPypiRegistry(options: IPypiTestOptions = {}): Promise<IPypiTestRegistry> {
  const base = await startTestRegistry({
    label: 'pypi',
    users: {
      alice: { password: 'alice-password', scopes: ['pypi:*:*:*'] },
      bob: { password: 'bob-password', scopes: ['pypi:package:bob-*:*', 'pypi:package:*:read'] },
    },
    auth: options.auth,
    config: {
      ...(options.storage ? { storage: options.storage } : {}),
      pypi: { enabled: true, basePath: '/pypi', ...options.pypi },
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.storageHooks ? { storageHooks: options.storageHooks } : {}),
    },
  });
  const auth = base.registry.getAuthManager();
  const tokens = {
    alice: await auth.createPypiToken('alice', false),
    bob: await auth.createPypiToken('bob', false),
    readonly: await auth.createPypiToken('alice', true),
  };
  const request: IPypiTestRegistry['request'] = async (method, requestPath, extra = {}) => {
    const { token = tokens.alice, authorization, headers = {}, body } = extra;
    const credentials = authorization ?? (token ? `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}` : undefined);
    return sendRequest(base.registry, method, requestPath, { headers: credentials ? { ...headers, authorization: credentials } : headers, body });
  };
  return {
    ...base,
    tokens,
    request,
    async upload(name, version, file, uploadOptions = {}) {
      const body = multipartBody(await uploadFields(name, version, file, uploadOptions.extra), file);
      return request('POST', '/pypi/', {
        token: uploadOptions.token,
        authorization: uploadOptions.authorization,
        headers: { 'content-type': MULTIPART_TYPE, 'content-length': String(body.length) },
        body,
      });
    },
  };
}
