import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { REGISTRY_PROTOCOLS, type TRegistryProtocol } from '../core/interfaces.core.js';
import { assertDownloadsConfig } from '../core/helpers.downloads.js';
import { parseDuration } from '../core/helpers.duration.js';
import type { IOciRetentionRule } from '../oci/interfaces.oci.js';
import { parseRetentionFlag, RETENTION_FLAG_FORM } from './retentionflag.js';
import { DEFAULT_SERVER_TIMEOUTS, type IServerTimeouts } from './server.js';

/** Everything `smartregistry serve` and `smartregistry token` are configured by. */
export interface ICliOptions {
  command: 'serve' | 'token' | 'report' | 'gc' | 'help';
  /** `report`: what it prints. */
  report?: { json: boolean; top: number; protocols?: string[] };
  /** `gc`: list only (`--dry-run`), print JSON (`--json`). */
  gc?: { dryRun: boolean; json: boolean };
  /** OCI garbage collection: `serve` collects this often (`--gc-interval`). */
  gcIntervalMs?: number;
  /** OCI garbage collection's grace period (`--gc-grace`), for `serve` and `gc`. */
  gcGraceMs?: number;
  /** OCI retention rules (`--retention`, repeated), for `serve` and `gc`; the first matching rule applies. */
  retention?: IOciRetentionRule[];
  /** `token <protocol>` creates, `token list` lists, `token revoke <id>` revokes. */
  tokenAction?: 'create' | 'list' | 'revoke';
  /** `token <protocol>` */
  protocol?: TRegistryProtocol;
  /** `token revoke <id>` */
  tokenId?: string;
  /** Lifetime of the admin tokens `serve` and `token` print, in days. */
  tokenDays: number;
  host: string;
  port: number;
  dataDir: string;
  registryUrl?: string;
  /** Links follow X-Forwarded-Proto/-Host/-Prefix (a proxy in front sets them). */
  trustProxy: boolean;
  anonymousRead: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** `json`: one JSON line per request on stdout, and an X-Request-Id header on each answer. */
  logFormat: 'text' | 'json';
  adminPassword?: string;
  /** `serve`'s header, idle and keep-alive timeouts. */
  timeouts: IServerTimeouts;
  /** Artifact GETs answer 307 to a presigned URL of the S3 bucket (`downloads.redirect`). */
  redirectDownloads: boolean;
  /** `downloads.publicUrl`: the origin clients reach the bucket at. */
  downloadsPublicUrl?: string;
  /** Where `/-/metrics` is served (its own listener, unauthenticated: protected by the address it binds); off when unset. */
  metrics?: { host: string; port: number };
  /** Audit events appended as JSON lines to this file. */
  eventsLog?: string;
  /** Audit events POSTed here, signed with the secret (HMAC-SHA256). */
  webhook?: { url: string; secret: string };
  s3?: {
    endpoint: string;
    port?: number;
    bucketName: string;
    accessKey: string;
    accessSecret: string;
    region?: string;
    useSsl: boolean;
    allowUnconditionalWrites: boolean;
  };
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 4873;
export const DEFAULT_TOKEN_DAYS = 90;
/** Ten years: beyond that a token is a password that never changes. */
const MAX_TOKEN_DAYS = 3650;

export const HELP_TEXT = `smartregistry — OCI, npm, Maven, Cargo, Composer, PyPI and RubyGems in one registry

Usage:
  smartregistry serve [options]          start the registry server
  smartregistry token <protocol> [options]
                                         create a new token for the admin user
                                         (protocol: ${REGISTRY_PROTOCOLS.join(', ')})
  smartregistry token list [options]     list the admin's tokens: id, protocol, expiry, name
  smartregistry token revoke <id> [options]
                                         revoke one of them by its id
  smartregistry report [--json] [--top <n>] [--protocol <p>]...
                                         bytes and objects per protocol and the <n> largest
                                         packages of each (default 10), from the storage listing
  smartregistry gc [--dry-run] [--json] [--gc-grace <duration>] [--retention <rule>]...
                                         OCI garbage collection: delete blobs, links and upload
                                         sessions nothing references any more, and the tags and
                                         manifests retention rules let go (safe while serving)
  smartregistry --help                   show this help

Options (each also read from the environment variable shown):
  --host <host>           address to listen on (SMARTREGISTRY_HOST, default ${DEFAULT_HOST})
  --port <port>           port to listen on, 0 picks a free one (SMARTREGISTRY_PORT, default ${DEFAULT_PORT})
  --data-dir <dir>        filesystem storage directory (SMARTREGISTRY_DATA_DIR, default ./.smartregistry)
  --registry-url <url>    public URL when behind a proxy, e.g. https://registry.example.com
                          (SMARTREGISTRY_REGISTRY_URL); each protocol is served at <url>/<protocol>
  --trust-proxy           build links from X-Forwarded-Proto/-Host/-Prefix; only behind a proxy
                          that sets them (SMARTREGISTRY_TRUST_PROXY=true)
  --anonymous-read        allow reads without a token (SMARTREGISTRY_ANONYMOUS_READ=true)
  --log-level <level>     silent, error, warn, info or debug (SMARTREGISTRY_LOG_LEVEL, default error)
  --log-format <format>   text, or json: one JSON line per request on stdout, with the request id
                          that also answers as X-Request-Id (SMARTREGISTRY_LOG_FORMAT, default text)
  --password <password>   admin password, for \`token\` (SMARTREGISTRY_ADMIN_PASSWORD)
  --token-days <days>     lifetime of the admin tokens printed by \`serve\` and \`token\`
                          (SMARTREGISTRY_TOKEN_DAYS, default ${DEFAULT_TOKEN_DAYS})
  --headers-timeout <s>   seconds a client has to send a request's headers
                          (SMARTREGISTRY_HEADERS_TIMEOUT, default ${DEFAULT_SERVER_TIMEOUTS.headersMs / 1000})
  --idle-timeout <s>      seconds without any traffic before a connection is closed; uploads
                          that keep sending, and requests still being worked on, are never cut (SMARTREGISTRY_IDLE_TIMEOUT, default ${DEFAULT_SERVER_TIMEOUTS.idleMs / 1000})
  --keep-alive-timeout <s>
                          seconds an idle keep-alive connection stays open between requests
                          (SMARTREGISTRY_KEEP_ALIVE_TIMEOUT, default ${DEFAULT_SERVER_TIMEOUTS.keepAliveMs / 1000})
  --redirect-downloads    answer artifact downloads with a 307 to a presigned S3 URL valid 5 minutes,
                          so the bytes come from the bucket (SMARTREGISTRY_REDIRECT_DOWNLOADS=true);
                          S3 storage only, filesystem storage keeps streaming
  --downloads-public-url <url>
                          origin clients reach the bucket at, e.g. https://objects.example.com
                          (SMARTREGISTRY_DOWNLOADS_PUBLIC_URL, default the S3 endpoint)
  --metrics-port <port>   serve Prometheus metrics at /-/metrics on this port, without a token: bind it
                          where only the scraper reaches (SMARTREGISTRY_METRICS_PORT; default off)
  --metrics-host <host>   address of the metrics listener (SMARTREGISTRY_METRICS_HOST, default ${DEFAULT_HOST})
  --events-log <file>     append audit events (publish, delete, yank, dist-tag, token, failed login)
                          as JSON lines (SMARTREGISTRY_EVENTS_LOG)
  --gc-interval <d>       \`serve\` runs the OCI garbage collection this often, e.g. 6h
                          (SMARTREGISTRY_GC_INTERVAL; default off)
  --gc-grace <d>          nothing written or used more recently is collected, e.g. 1h
                          (SMARTREGISTRY_GC_GRACE, default 1h)
  --retention <rule>      an OCI retention rule for \`serve\` and \`gc\`, repeatable, the first whose
                          repositories match applies; ${RETENTION_FLAG_FORM}
                          e.g. 'team/*:keep-newest=10,keep-tags=v*,keep-tags=latest,delete-untagged-after=7d'
                          (SMARTREGISTRY_RETENTION: rules separated by ';'; default none)
  --webhook-url <url>     POST each audit event there, signed (SMARTREGISTRY_WEBHOOK_URL); the HMAC
                          key comes from SMARTREGISTRY_WEBHOOK_SECRET (16+ characters)

S3 storage (used instead of --data-dir when an endpoint is given):
  --s3-endpoint <host>    SMARTREGISTRY_S3_ENDPOINT, e.g. s3.example.com
  --s3-port <port>        SMARTREGISTRY_S3_PORT
  --s3-bucket <name>      SMARTREGISTRY_S3_BUCKET
  --s3-access-key <key>   SMARTREGISTRY_S3_ACCESS_KEY
  --s3-secret-key <key>   SMARTREGISTRY_S3_SECRET_KEY
  --s3-region <region>    SMARTREGISTRY_S3_REGION
  --s3-use-ssl            SMARTREGISTRY_S3_USE_SSL=true (default false)
  --s3-allow-unconditional-writes
                          start although the S3 server ignores If-Match / If-None-Match
                          (SMARTREGISTRY_S3_ALLOW_UNCONDITIONAL_WRITES=true); single instance only

On first start an \`admin\` user is created; its password and one token per protocol are printed
once. Output lines are machine-readable: \`admin <user> <password>\`, \`token <protocol> <token>\`,
\`url <client> <url>\`, \`metrics <url>\` (with --metrics-port), and finally \`ready <url>\`.
/-/health/live and /-/health/ready answer on the main port without a token. \`token list\` prints
\`token-info <id> <protocol> <expires|never> <name>\` lines; \`token revoke\` prints \`revoked <id>\`.
\`gc\` prints \`tag <repository> <tag> <digest>\`, \`manifest <repository> <digest> <bytes>\`, \`link <repository> <digest>\`,
\`blob <digest> <bytes>\`, \`upload <uuid> <repository> <bytes>\`, \`part <key> <bytes>\` and \`reclaimed <bytes>\` lines (a dry run deletes nothing).
\`report\` prints \`total <bytes> <objects>\`, \`protocol <protocol> <bytes> <objects>\` and
\`package <protocol> <bytes> <objects> <name>\` lines, largest first (the whole report as JSON with --json).
`;

/** Raised for bad command lines; the message is shown with a hint to --help. */
export class CliUsageError extends Error {}

const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;

const truthy = (value: string | undefined) => value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());

function parsePort(value: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new CliUsageError(`${what} must be a port number, not '${value}'`);
  return Number(value);
}

function parseTokenDays(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_TOKEN_DAYS) {
    throw new CliUsageError(`--token-days must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}, not '${value}'`);
  }
  return Number(value);
}

/** Longest timeout the flags accept: a day. */
const MAX_TIMEOUT_SECONDS = 86_400;

function parseTimeoutSeconds(value: string, flag: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_TIMEOUT_SECONDS) {
    throw new CliUsageError(`${flag} must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, not '${value}'`);
  }
  return Number(value) * 1000;
}

function parseCliDuration(value: string, flag: string): number {
  try {
    return parseDuration(value, flag);
  } catch {
    throw new CliUsageError(`${flag} must be a duration such as 90s, 30m, 6h or 7d, not '${value}'`);
  }
}

export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ICliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'data-dir': { type: 'string' },
        'registry-url': { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        'anonymous-read': { type: 'boolean' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        password: { type: 'string' },
        'token-days': { type: 'string' },
        'headers-timeout': { type: 'string' },
        'idle-timeout': { type: 'string' },
        'keep-alive-timeout': { type: 'string' },
        'redirect-downloads': { type: 'boolean' },
        'downloads-public-url': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        'events-log': { type: 'string' },
        'webhook-url': { type: 'string' },
        json: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'gc-interval': { type: 'string' },
        'gc-grace': { type: 'string' },
        retention: { type: 'string', multiple: true },
        top: { type: 'string' },
        protocol: { type: 'string', multiple: true },
        's3-endpoint': { type: 'string' },
        's3-port': { type: 'string' },
        's3-bucket': { type: 'string' },
        's3-access-key': { type: 'string' },
        's3-secret-key': { type: 'string' },
        's3-region': { type: 'string' },
        's3-use-ssl': { type: 'boolean' },
        's3-allow-unconditional-writes': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;

  const options: ICliOptions = {
    command: 'help',
    host: values.host ?? env.SMARTREGISTRY_HOST ?? DEFAULT_HOST,
    port: parsePort(values.port ?? env.SMARTREGISTRY_PORT ?? String(DEFAULT_PORT), '--port'),
    dataDir: values['data-dir'] ?? env.SMARTREGISTRY_DATA_DIR ?? '.smartregistry',
    registryUrl: values['registry-url'] ?? env.SMARTREGISTRY_REGISTRY_URL,
    trustProxy: values['trust-proxy'] ?? truthy(env.SMARTREGISTRY_TRUST_PROXY),
    anonymousRead: values['anonymous-read'] ?? truthy(env.SMARTREGISTRY_ANONYMOUS_READ),
    logLevel: 'error',
    logFormat: 'text',
    adminPassword: values.password ?? env.SMARTREGISTRY_ADMIN_PASSWORD,
    tokenDays: parseTokenDays(values['token-days'] ?? env.SMARTREGISTRY_TOKEN_DAYS ?? String(DEFAULT_TOKEN_DAYS)),
    redirectDownloads: values['redirect-downloads'] ?? truthy(env.SMARTREGISTRY_REDIRECT_DOWNLOADS),
    downloadsPublicUrl: values['downloads-public-url'] ?? env.SMARTREGISTRY_DOWNLOADS_PUBLIC_URL,
    timeouts: {
      headersMs: parseTimeoutSeconds(values['headers-timeout'] ?? env.SMARTREGISTRY_HEADERS_TIMEOUT ?? String(DEFAULT_SERVER_TIMEOUTS.headersMs / 1000), '--headers-timeout'),
      idleMs: parseTimeoutSeconds(values['idle-timeout'] ?? env.SMARTREGISTRY_IDLE_TIMEOUT ?? String(DEFAULT_SERVER_TIMEOUTS.idleMs / 1000), '--idle-timeout'),
      keepAliveMs: parseTimeoutSeconds(
        values['keep-alive-timeout'] ?? env.SMARTREGISTRY_KEEP_ALIVE_TIMEOUT ?? String(DEFAULT_SERVER_TIMEOUTS.keepAliveMs / 1000),
        '--keep-alive-timeout',
      ),
    },
  };

  const metricsPort = values['metrics-port'] ?? env.SMARTREGISTRY_METRICS_PORT;
  if (metricsPort !== undefined && metricsPort !== '') {
    options.metrics = { host: values['metrics-host'] ?? env.SMARTREGISTRY_METRICS_HOST ?? DEFAULT_HOST, port: parsePort(metricsPort, '--metrics-port') };
  } else if (values['metrics-host'] !== undefined) {
    throw new CliUsageError('--metrics-host needs --metrics-port');
  }

  const eventsLog = values['events-log'] ?? env.SMARTREGISTRY_EVENTS_LOG;
  if (eventsLog) options.eventsLog = path.resolve(eventsLog);
  const webhookUrl = values['webhook-url'] ?? env.SMARTREGISTRY_WEBHOOK_URL;
  if (webhookUrl) {
    const secret = env.SMARTREGISTRY_WEBHOOK_SECRET ?? '';
    // Only from the environment: a secret on the command line shows in the process list.
    if (secret.length < 16) throw new CliUsageError('--webhook-url needs SMARTREGISTRY_WEBHOOK_SECRET (at least 16 characters) in the environment');
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      throw new CliUsageError(`--webhook-url must be an absolute URL, not '${webhookUrl}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError('--webhook-url must be http or https');
    options.webhook = { url: url.href, secret };
  }

  const gcInterval = values['gc-interval'] ?? env.SMARTREGISTRY_GC_INTERVAL;
  if (gcInterval) {
    options.gcIntervalMs = parseCliDuration(gcInterval, '--gc-interval');
    if (options.gcIntervalMs === 0) throw new CliUsageError('--gc-interval must be longer than 0');
  }
  const gcGrace = values['gc-grace'] ?? env.SMARTREGISTRY_GC_GRACE;
  if (gcGrace) options.gcGraceMs = parseCliDuration(gcGrace, '--gc-grace');
  const retention = values.retention ?? env.SMARTREGISTRY_RETENTION?.split(';').filter((rule) => rule.trim() !== '');
  if (retention && retention.length > 0) {
    options.retention = retention.map((rule) => {
      try {
        return parseRetentionFlag(rule.trim());
      } catch (error) {
        throw new CliUsageError(`--retention: ${(error as Error).message}`);
      }
    });
  }

  const logLevel = values['log-level'] ?? env.SMARTREGISTRY_LOG_LEVEL ?? 'error';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new CliUsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  options.logLevel = logLevel as ICliOptions['logLevel'];
  const logFormat = values['log-format'] ?? env.SMARTREGISTRY_LOG_FORMAT ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new CliUsageError('--log-format must be text or json');
  options.logFormat = logFormat;

  if (options.registryUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.registryUrl);
    } catch {
      throw new CliUsageError(`--registry-url must be an absolute URL, not '${options.registryUrl}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError('--registry-url must be http or https');
    options.registryUrl = url.href.replace(/\/+$/, '');
  }

  if (options.downloadsPublicUrl !== undefined) {
    try {
      assertDownloadsConfig('--downloads-public-url', { publicUrl: options.downloadsPublicUrl });
    } catch {
      throw new CliUsageError(`--downloads-public-url must be an http(s) origin such as https://objects.example.com, not '${options.downloadsPublicUrl}'`);
    }
  }

  const endpoint = values['s3-endpoint'] ?? env.SMARTREGISTRY_S3_ENDPOINT;
  if (endpoint) {
    const s3Port = values['s3-port'] ?? env.SMARTREGISTRY_S3_PORT;
    const bucketName = values['s3-bucket'] ?? env.SMARTREGISTRY_S3_BUCKET;
    const accessKey = values['s3-access-key'] ?? env.SMARTREGISTRY_S3_ACCESS_KEY;
    const accessSecret = values['s3-secret-key'] ?? env.SMARTREGISTRY_S3_SECRET_KEY;
    if (!bucketName || !accessKey || !accessSecret) {
      throw new CliUsageError('S3 storage needs --s3-bucket, --s3-access-key and --s3-secret-key (or their environment variables)');
    }
    options.s3 = {
      endpoint,
      port: s3Port ? parsePort(s3Port, '--s3-port') : undefined,
      bucketName,
      accessKey,
      accessSecret,
      region: values['s3-region'] ?? env.SMARTREGISTRY_S3_REGION,
      useSsl: values['s3-use-ssl'] ?? truthy(env.SMARTREGISTRY_S3_USE_SSL),
      allowUnconditionalWrites: values['s3-allow-unconditional-writes'] ?? truthy(env.SMARTREGISTRY_S3_ALLOW_UNCONDITIONAL_WRITES),
    };
  }

  if (values.help || command === undefined || command === 'help') return options;
  if (command === 'serve') {
    if (rest.length > 0) throw new CliUsageError(`serve takes no arguments, got '${rest.join(' ')}'`);
    return { ...options, command: 'serve' };
  }
  if (command === 'gc') {
    if (rest.length > 0) throw new CliUsageError(`gc takes no arguments, got '${rest.join(' ')}'`);
    return { ...options, command: 'gc', gc: { dryRun: values['dry-run'] ?? false, json: values.json ?? false } };
  }
  if (command === 'report') {
    if (rest.length > 0) throw new CliUsageError(`report takes no arguments, got '${rest.join(' ')}'`);
    const top = values.top ?? '10';
    if (!/^[0-9]{1,7}$/.test(top)) throw new CliUsageError(`--top must be a whole number, not '${top}'`);
    for (const protocol of values.protocol ?? []) {
      if (!(REGISTRY_PROTOCOLS as readonly string[]).includes(protocol) && protocol !== 'core') {
        throw new CliUsageError(`--protocol must be one of ${REGISTRY_PROTOCOLS.join(', ')}, core; not '${protocol}'`);
      }
    }
    return { ...options, command: 'report', report: { json: values.json ?? false, top: Number(top), protocols: values.protocol } };
  }
  if (command === 'token') {
    const [what, ...more] = rest;
    if (what === 'list' && more.length === 0) return { ...options, command: 'token', tokenAction: 'list' };
    if (what === 'revoke') {
      if (more.length !== 1) throw new CliUsageError('token revoke needs one token id (see `token list`)');
      return { ...options, command: 'token', tokenAction: 'revoke', tokenId: more[0] };
    }
    const protocol = what as TRegistryProtocol | undefined;
    if (!protocol || !REGISTRY_PROTOCOLS.includes(protocol) || more.length > 0) {
      throw new CliUsageError(`token needs one protocol (${REGISTRY_PROTOCOLS.join(', ')}), or list, or revoke <id>`);
    }
    return { ...options, command: 'token', tokenAction: 'create', protocol };
  }
  throw new CliUsageError(`unknown command '${command}'`);
}
