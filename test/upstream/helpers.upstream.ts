/**
 * Upstreams for the proxy tests, all on 127.0.0.1: a real SmartRegistry behind createNodeHandler that
 * counts the requests it gets, a fault server (500s, slow answers, dropped connections, redirects), and
 * the proxy registry under test with a StaticUpstreamProvider.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { createNodeHandler } from '../../ts/adapters/node.js';
import type { IRegistryConfig, TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { StaticUpstreamProvider } from '../../ts/upstream/classes.staticupstreamprovider.js';
import type { IProtocolUpstreamConfig } from '../../ts/upstream/interfaces.upstream.js';
import { startHttp, type ITestServer } from '../adapters/helpers.http.js';
import { sendRequest, storageKeys } from '../helpers/requests.js';

export interface IRequestLog {
  method: string;
  url: string;
  authorization?: string;
}

export interface IUpstreamRegistry {
  registry: SmartRegistry;
  url: string;
  /** Every request the upstream got. */
  log: IRequestLog[];
  /** Requests whose path (without query) is exactly `path`. */
  count(path: string): number;
  stop(): Promise<void>;
}

const silent = { level: (process.env.UPSTREAM_TEST_LOG as 'error') ?? 'silent' } as const;
const PROTOCOLS: TRegistryProtocol[] = ['npm', 'oci', 'maven', 'cargo', 'pypi', 'composer', 'rubygems'];

/** Every implemented protocol at `/{protocol}`, `admin` may do anything, anonymous reads on unless `anonymousRead` is false. */
function registryConfig(storage: IRegistryConfig['storage'], anonymousRead = true, extra: Partial<IRegistryConfig> = {}): IRegistryConfig {
  const config: IRegistryConfig = {
    storage,
    auth: {
      tokenStore: 'memory',
      anonymousRead,
      users: { admin: { password: 'admin-password', scopes: ['*'] } },
      npmTokens: { enabled: true },
      ociTokens: { enabled: true },
    },
    logging: silent,
    ...extra,
  };
  for (const protocol of PROTOCOLS) config[protocol] = { enabled: true, basePath: `/${protocol}` };
  return config;
}

/** A SmartRegistry serving every implemented protocol at `/{protocol}`, anonymous reads on, `admin` may do anything. */
export async function startUpstreamRegistry(options: { anonymousRead?: boolean } = {}): Promise<IUpstreamRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-'));
  const registry = new SmartRegistry(registryConfig({ type: 'filesystem', path: dir }, options.anonymousRead));
  await registry.init();
  const handler = createNodeHandler(registry);
  const log: IRequestLog[] = [];
  const server = await startHttp((req, res) => {
    log.push({ method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization });
    void handler(req, res);
  });
  return {
    registry,
    url: server.url,
    log,
    count: (wanted) => log.filter((entry) => entry.url.split('?')[0] === wanted).length,
    async stop() {
      await server.close();
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the fault server does with a request. */
export type TFault =
  | { kind: 'status'; status: number }
  | { kind: 'slow'; ms: number }
  | { kind: 'drop' }
  | { kind: 'redirect'; to: string }
  | { kind: 'reply'; status: number; headers?: Record<string, string>; body: Buffer | string };

export interface IFaultServer extends ITestServer {
  log: IRequestLog[];
  /** Decides per request; replace it at any time. */
  behave: (req: http.IncomingMessage) => TFault;
}

export async function startFaultServer(behave: IFaultServer['behave']): Promise<IFaultServer> {
  const log: IRequestLog[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const fault: Partial<IFaultServer> = { log, behave };
  const server = await startHttp((req, res) => {
    log.push({ method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization });
    const action = fault.behave!(req);
    switch (action.kind) {
      case 'status':
        res.writeHead(action.status, { 'content-type': 'application/json' }).end('{"error":"fault"}');
        return;
      case 'slow': {
        const timer = setTimeout(() => res.writeHead(200).end('{}'), action.ms);
        timers.add(timer);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'drop':
        req.socket.destroy();
        return;
      case 'redirect':
        res.writeHead(307, { location: action.to }).end();
        return;
      case 'reply':
        res.writeHead(action.status, action.headers ?? {}).end(action.body);
    }
  });
  return Object.assign(fault, server, {
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await server.close();
    },
  }) as IFaultServer;
}

export interface IProxyRegistry {
  registry: SmartRegistry;
  dir: string;
  keys(prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** `protocol` proxying the one upstream at `url` (id `up`, no retries), with `extra` settings. */
export function oneUpstream<P extends TRegistryProtocol>(protocol: P, url: string, extra: Partial<IProtocolUpstreamConfig> = {}): Record<P, IProtocolUpstreamConfig> {
  const config: IProtocolUpstreamConfig = { enabled: true, upstreams: [{ id: 'up', url, priority: 1, enabled: true }], resilience: { retries: 0 }, ...extra };
  return { [protocol]: config } as Record<P, IProtocolUpstreamConfig>;
}

/** The registry under test: the given protocols at `/{protocol}`, with these upstream configurations. */
export async function startProxyRegistry(
  upstreams: Partial<Record<TRegistryProtocol, IProtocolUpstreamConfig>>,
  options: { storage?: IRegistryConfig['storage']; anonymousRead?: boolean } = {},
): Promise<IProxyRegistry> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-proxy-'));
  const storage = options.storage ?? { type: 'filesystem', path: dir };
  const registry = new SmartRegistry(registryConfig(storage, options.anonymousRead, { upstreamProvider: new StaticUpstreamProvider(upstreams) }));
  await registry.init();
  return {
    registry,
    dir,
    keys: (prefix) => storageKeys(registry, prefix),
    async stop() {
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` (a few ms apart) until it holds: for work the proxy finishes in the background. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Sends 100 concurrent GETs of one uncached artifact through the proxy and checks that every answer has
 * `bytes`, that exactly one was a MISS, and that the upstream saw exactly one request for `upstreamPath`.
 */
export async function assertOneFetchFor100(proxy: IProxyRegistry, upstream: IUpstreamRegistry, proxyPath: string, upstreamPath: string, bytes: Buffer): Promise<void> {
  const before = upstream.count(upstreamPath);
  const answers = await Promise.all(Array.from({ length: 100 }, () => sendRequest(proxy.registry, 'GET', proxyPath)));
  for (const answer of answers) {
    assert.equal(answer.status, 200, answer.text);
    assert.ok(answer.bytes.equals(bytes), `${proxyPath}: ${answer.bytes.length} bytes, not the upstream's ${bytes.length}`);
  }
  assert.equal(upstream.count(upstreamPath) - before, 1, `${upstreamPath}: one upstream fetch for 100 concurrent requests`);
  assert.equal(answers.filter((answer) => answer.headers['x-cache'] === 'MISS').length, 1, 'one MISS, the rest HIT');
}
