/**
 * One registry with all seven protocols, and for each protocol the three things a principal may try on
 * one package: read it, publish a version of it, delete (or yank) a version of it. The access matrix
 * and the hostile-input tests both drive protocols through these, so each request shape is written once.
 */
import * as crypto from 'node:crypto';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry, type ITestRegistry } from '../helpers/testregistry.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { publishBody } from '../npm/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { pomOf } from '../maven/maven.fixtures.js';

export const PROTOCOLS: TRegistryProtocol[] = ['npm', 'oci', 'maven', 'cargo', 'composer', 'pypi', 'rubygems'];

/** The JWT secret of the test registry: the matrix signs an expired OCI token with it. */
export const JWT_SECRET = 'access-matrix-secret-0123456789abcdef';

export type TAction = 'read' | 'write' | 'delete';

export interface IProtocolActions {
  protocol: TRegistryProtocol;
  /** The scope resource of a package name (`npm:package:target`). */
  resource(name: 'target' | 'other'): string;
  /** What scopes call read, write and delete in this protocol. */
  actionNames: Record<TAction, string>;
  /** The Authorization header as this protocol's clients send a token. */
  authorization(token: string): string;
  read(token: string | null): Promise<IReadResponse>;
  /** Publish version `n` of the target package. */
  write(token: string | null, n: number): Promise<IReadResponse>;
  /** Delete (or yank) version `n` of the target package, which an administrator published. */
  remove(token: string | null, n: number): Promise<IReadResponse>;
}

/** One upload as raw HTTP: what the body-level tests (oversized, slow) send per protocol. */
export interface IUpload {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface IAllProtocolsRegistry extends ITestRegistry {
  /** A token of the administrator (scopes `*`) for each protocol. */
  adminTokens: Record<TRegistryProtocol, string>;
  actions: Record<TRegistryProtocol, IProtocolActions>;
}

const BASE: Record<TRegistryProtocol, string> = {
  npm: '/npm',
  oci: '/oci',
  maven: '/maven',
  cargo: '/cargo',
  composer: '/composer',
  pypi: '/pypi',
  rubygems: '/rubygems',
};

const bearer = (token: string) => `Bearer ${token}`;

/** All seven protocols at `/{protocol}`, filesystem storage, memory tokens, user `admin` with `*`. */
export async function startAllProtocols(config: Partial<IRegistryConfig> = {}, auth: Partial<IRegistryConfig['auth']> = {}): Promise<IAllProtocolsRegistry> {
  const protocolConfig = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, { enabled: true, basePath: BASE[protocol] }]));
  const base = await startTestRegistry({
    label: 'all',
    users: { admin: { password: 'admin-password', scopes: ['*'] } },
    auth: { jwtSecret: JWT_SECRET, ...auth },
    config: { ...protocolConfig, ...config },
  });
  const manager = base.registry.getAuthManager();
  const adminTokens = Object.fromEntries(
    await Promise.all(PROTOCOLS.map(async (protocol) => [protocol, await manager.createToken('admin', protocol)])),
  ) as Record<TRegistryProtocol, string>;
  const send = (protocol: TRegistryProtocol, token: string | null, method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (token) headers.authorization = actions[protocol].authorization(token);
    return sendRequest(base.registry, method, `${BASE[protocol]}${path}`, { headers, body: options.body });
  };
  const actions = buildActions(send, (protocol) => adminTokens[protocol]);
  return { ...base, adminTokens, actions };
}

type TSend = (
  protocol: TRegistryProtocol,
  token: string | null,
  method: string,
  path: string,
  options?: { body?: unknown; headers?: Record<string, string> },
) => Promise<IReadResponse>;

const version = (n: number) => `1.0.${n}`;

function buildActions(send: TSend, admin: (protocol: TRegistryProtocol) => string): Record<TRegistryProtocol, IProtocolActions> {
  const ociManifest = (n: number) => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', version: n }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [],
      }),
    );
    return { config, manifest };
  };
  const gemForm = (n: number) => `gem_name=target&version=${version(n)}`;

  return {
    npm: {
      protocol: 'npm',
      resource: (name) => `npm:package:${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: bearer,
      read: (token) => send('npm', token, 'GET', '/target'),
      write: async (token, n) => send('npm', token, 'PUT', '/target', { body: (await publishBody('target', version(n))).body }),
      async remove(token, n) {
        // npm unpublish name@version: the document without that version, PUT at its revision (the
        // document is read as the administrator: reading is another cell of the matrix).
        const document = (await send('npm', admin('npm'), 'GET', '/target')).json;
        const versions = { ...document.versions };
        delete versions[version(n)];
        return send('npm', token, 'PUT', `/target/-rev/${document._rev}`, { body: { ...document, versions } });
      },
    },
    oci: {
      protocol: 'oci',
      resource: (name) => `oci:repository:${name}`,
      actionNames: { read: 'pull', write: 'push', delete: 'delete' },
      authorization: bearer,
      read: (token) => send('oci', token, 'GET', '/v2/target/manifests/v0', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }),
      async write(token, n) {
        const { config, manifest } = ociManifest(n);
        const blob = await send('oci', token, 'POST', `/v2/target/blobs/uploads/?digest=${sha256(config)}`, { body: config });
        if (blob.status !== 201) return blob;
        return send('oci', token, 'PUT', `/v2/target/manifests/v${n}`, { body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      },
      remove: (token, n) => send('oci', token, 'DELETE', `/v2/target/manifests/${sha256(ociManifest(n).manifest)}`),
    },
    maven: {
      protocol: 'maven',
      resource: (name) => `maven:artifact:com.example:${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: bearer,
      read: (token) => send('maven', token, 'GET', '/com/example/target/1.0.0/target-1.0.0.pom'),
      write: (token, n) =>
        send('maven', token, 'PUT', `/com/example/target/${version(n)}/target-${version(n)}.pom`, { body: Buffer.from(pomOf('com.example', 'target', version(n))) }),
      remove: (token, n) => send('maven', token, 'DELETE', `/com/example/target/${version(n)}/`),
    },
    cargo: {
      protocol: 'cargo',
      resource: (name) => `cargo:crate:${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: (token) => token,
      read: (token) => send('cargo', token, 'GET', '/api/v1/crates/target/1.0.0/download'),
      write: async (token, n) =>
        send('cargo', token, 'PUT', '/api/v1/crates/new', { body: frame(JSON.stringify(publishMetadata('target', version(n))), await makeCrate('target', version(n))) }),
      remove: (token, n) => send('cargo', token, 'DELETE', `/api/v1/crates/target/${version(n)}/yank`),
    },
    composer: {
      protocol: 'composer',
      resource: (name) => `composer:package:acme/${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: bearer,
      read: (token) => send('composer', token, 'GET', '/p2/acme/target.json'),
      write: async (token, n) =>
        send('composer', token, 'PUT', '/packages/acme/target', { body: await makePackageZip('acme/target', version(n)), headers: { 'content-type': 'application/zip' } }),
      remove: (token, n) => send('composer', token, 'DELETE', `/packages/acme/target/${version(n)}`),
    },
    pypi: {
      protocol: 'pypi',
      resource: (name) => `pypi:package:${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: (token) => `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`,
      read: (token) => send('pypi', token, 'GET', '/simple/target/'),
      async write(token, n) {
        const wheel = await makeWheel('target', version(n));
        return send('pypi', token, 'POST', '/', { body: multipartBody(await uploadFields('target', version(n), wheel), wheel), headers: { 'content-type': MULTIPART_TYPE } });
      },
      remove: (token, n) => send('pypi', token, 'DELETE', `/pypi/target/${version(n)}`),
    },
    rubygems: {
      protocol: 'rubygems',
      resource: (name) => `rubygems:gem:${name}`,
      actionNames: { read: 'read', write: 'write', delete: 'delete' },
      authorization: (token) => token,
      read: (token) => send('rubygems', token, 'GET', '/info/target'),
      write: async (token, n) =>
        send('rubygems', token, 'POST', '/api/v1/gems', { body: await makeGem(gemspecYaml('target', version(n))), headers: { 'content-type': 'application/octet-stream' } }),
      remove: (token, n) =>
        send('rubygems', token, 'DELETE', '/api/v1/gems/yank', { body: Buffer.from(gemForm(n)), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    },
  };
}

const sha256 = (bytes: Buffer) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

/** The message of an error answer in the protocol's own shape; undefined when the body is not that shape. */
export function errorMessage(protocol: TRegistryProtocol, res: IReadResponse): string | undefined {
  // Maven and RubyGems clients print the body of an error: one line of plain text.
  if (protocol === 'maven' || protocol === 'rubygems') return res.headers['content-type']?.startsWith('text/plain') && res.text.trim() ? res.text.trim() : undefined;
  const json = res.json;
  if (typeof json !== 'object' || json === null) return undefined;
  switch (protocol) {
    case 'oci':
      return typeof json.errors?.[0]?.code === 'string' ? json.errors[0].message : undefined;
    case 'cargo':
      return json.errors?.[0]?.detail;
    case 'composer':
      return json.status === 'error' ? json.message : undefined;
    case 'pypi':
      return json.message;
    default:
      return json.error;
  }
}
