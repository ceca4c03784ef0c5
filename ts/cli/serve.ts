import { SmartRegistry } from '../classes.smartregistry.js';
import { REGISTRY_PROTOCOLS } from '../core/interfaces.core.js';
import { ADMIN_USER, loadOrCreateAdmin } from './admin.js';
import type { ICliOptions } from './args.js';
import { buildRegistryConfig, clientUrls, storageConfigOf } from './config.js';
import { listenMetrics, type IMetricsServer } from './metricsserver.js';
import { missingServeEnv, missingServeFlags } from './runtime.js';
import { listen, urlHost, type IRunningServer } from './server.js';
import { createProtocolToken } from './tokens.js';

/** Where output goes; lines without `#` are machine-readable `<kind> <name> <value>`. */
export type TWriteLine = (line: string) => void;

const SHUTDOWN_TIMEOUT_MS = 10_000;

function describeStorage(options: ICliOptions): string {
  const storage = storageConfigOf(options);
  return storage.type === 'filesystem' ? `filesystem ${storage.path}` : `s3 ${storage.endpoint} bucket ${storage.bucketName}`;
}

export interface IServeHooks {
  /** Called with the stop function once listening, before `ready` is printed (install signal handlers here). */
  beforeReady?(stop: () => Promise<void>): void;
}

/** Start the registry and the HTTP server; resolves once it is listening. */
export async function serve(options: ICliOptions, write: TWriteLine, hooks: IServeHooks = {}): Promise<{ stop(): Promise<void> }> {
  write(`# smartregistry serving ${REGISTRY_PROTOCOLS.join(', ')} from ${describeStorage(options)}`);
  if (!options.registryUrl) {
    write(
      `# no --registry-url: links in answers use ${options.trustProxy ? 'X-Forwarded-* or ' : ''}each request's Host header over http; ` +
        'set --registry-url to the URL clients use',
    );
  }
  if (options.redirectDownloads && !options.s3) {
    write('# --redirect-downloads needs S3 storage: filesystem storage has no URLs of its own, so artifacts are streamed');
  }
  const missingFlags = missingServeFlags();
  if (missingFlags.length > 0) {
    write(
      `# node runs without ${missingFlags.join(' ')}: the heap takes more memory than it needs; ` +
        `run the smartregistry bin, \`npm start\` or \`node ${missingFlags.join(' ')} cli.js serve\``,
    );
  }
  const missingEnv = missingServeEnv();
  if (missingEnv.length > 0) {
    write(
      `# started without ${missingEnv.join(' ')} in the environment: freed buffers may stay with the process; ` +
        `run the smartregistry bin or \`npm start\`, or set it (glibc's malloc reads it at start)`,
    );
  }
  const admin = await loadOrCreateAdmin(storageConfigOf(options), { create: true });
  if (!admin) throw new Error('could not create the admin user');
  if (admin.createdPassword) {
    // Printed before anything else can fail: this is the only time the password is known.
    write(
      `# first start: the admin password and the tokens below are shown only this once; the tokens expire in ${options.tokenDays} days ` +
        '(`smartregistry token list` / `token revoke <id>`)',
    );
    write(`admin ${ADMIN_USER} ${admin.createdPassword}`);
  }

  const registry = new SmartRegistry(buildRegistryConfig(options, admin.users));
  await registry.init();
  let server: IRunningServer;
  let metricsServer: IMetricsServer | undefined;
  try {
    if (admin.createdPassword) {
      for (const protocol of REGISTRY_PROTOCOLS) {
        const token = await createProtocolToken(registry.getAuthManager(), protocol, ADMIN_USER, {
          days: options.tokenDays,
          name: 'smartregistry serve (first start)',
        });
        write(`token ${protocol} ${token}`);
      }
    } else {
      write(`# admin user exists; a new token: smartregistry token <protocol> --password <admin password>`);
    }
    if (options.metrics) metricsServer = await listenMetrics(registry.getMetrics()!, options.metrics.host, options.metrics.port);
    server = await listen(registry, options.host, options.port, options.timeouts);
  } catch (error) {
    await metricsServer?.close();
    await registry.destroy();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await server.close(SHUTDOWN_TIMEOUT_MS);
      await metricsServer?.close();
      await registry.destroy();
    })());
  // Before `ready`: whoever waits for that line may signal us right away.
  hooks.beforeReady?.(stop);

  const listenUrl = `http://${urlHost(server.host)}:${server.port}`;
  for (const [client, url] of clientUrls(options.registryUrl ?? listenUrl)) write(`url ${client} ${url}`);
  if (metricsServer) write(`metrics ${metricsServer.url}`);
  write(`ready ${listenUrl}`);
  return { stop };
}

/** Stop on SIGINT/SIGTERM: finish in-flight requests, release the registry, exit 0. A second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, writeError: TWriteLine): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(1);
    received = true;
    stop().then(
      () => process.exit(0),
      (error) => {
        writeError(`error during shutdown after ${signal}: ${(error as Error)?.message ?? error}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
