/** A SmartRegistry with Maven at /maven on a temp directory, users with chosen scopes, and a settable clock. */
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import type { IMavenOptions } from '../../ts/maven/interfaces.maven.js';
import { readResponse, storageKeys, type IReadResponse } from '../helpers/requests.js';

export const hex = (algorithm: string, bytes: Uint8Array | string) => crypto.createHash(algorithm).update(bytes).digest('hex');

export const pomOf = (groupId: string, artifactId: string, version: string, packaging = 'jar', name?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${groupId}</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
  <packaging>${packaging}</packaging>${name ? `\n  <name>${name}</name>` : ''}
</project>
`;

export interface IMavenTestRegistry {
  registry: SmartRegistry;
  tokens: { admin: string; reader: string; writer: string; deleter: string };
  clock: { now: Date };
  request(method: string, path: string, options?: { token?: string | null; body?: Uint8Array | string; headers?: Record<string, string> }): Promise<IReadResponse>;
  /** PUT a file and its four checksums, as mvn deploy does. */
  deploy(path: string, body: Uint8Array | string, token?: string): Promise<IReadResponse>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export interface IMavenTestOptions {
  /** Default: filesystem storage in a temp directory. */
  storage?: IRegistryConfig['storage'];
  maven?: IMavenOptions;
  auth?: Partial<IRegistryConfig['auth']>;
  limits?: IRegistryConfig['limits'];
  storageHooks?: IRegistryConfig['storageHooks'];
  cache?: IRegistryConfig['cache'];
}

export async function createMavenRegistry(options: IMavenTestOptions = {}): Promise<IMavenTestRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-maven-'));
  const clock = { now: new Date('2026-11-26T10:10:10Z') };
  const registry = new SmartRegistry({
    storage: options.storage ?? { type: 'filesystem', path: dir },
    auth: {
      tokenStore: 'memory',
      users: {
        admin: { password: 'admin-password', scopes: ['*'] },
        reader: { password: 'reader-password', scopes: ['maven:artifact:com.example:*:read'] },
        writer: { password: 'writer-password', scopes: ['maven:artifact:com.example:*:write'] },
        deleter: { password: 'deleter-password', scopes: ['maven:artifact:com.example:*:delete', 'maven:artifact:com.example:*:read'] },
      },
      ...options.auth,
    },
    logging: { level: 'silent' },
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.storageHooks ? { storageHooks: options.storageHooks } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    maven: { enabled: true, basePath: '/maven', now: () => clock.now, ...options.maven },
  });
  await registry.init();
  const auth = registry.getAuthManager();
  const tokens = {
    admin: await auth.createMavenToken('admin'),
    reader: await auth.createMavenToken('reader'),
    writer: await auth.createMavenToken('writer'),
    deleter: await auth.createMavenToken('deleter'),
  };
  const request: IMavenTestRegistry['request'] = async (method, requestPath, extra = {}) => {
    const { token = tokens.admin, headers = {}, body } = extra;
    const [pathOnly, search] = requestPath.split('?');
    const query: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(search ?? '')) query[key] = value;
    const allHeaders: Record<string, string> = { host: 'registry.example.com', ...headers };
    if (token) allHeaders.authorization = `Bearer ${token}`;
    return readResponse(await registry.handleRequest({ method, path: pathOnly, query, headers: allHeaders, body }));
  };
  return {
    registry,
    tokens,
    clock,
    request,
    async deploy(filePath, body, token = tokens.admin) {
      const put = await request('PUT', filePath, { body, token });
      if (put.status !== 201) return put;
      for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) {
        const checksum = await request('PUT', `${filePath}.${algorithm}`, { body: hex(algorithm, body), token });
        if (checksum.status !== 201) return checksum;
      }
      return put;
    },
    keys: () => storageKeys(registry),
    async close() {
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
