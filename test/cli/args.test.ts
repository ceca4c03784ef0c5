import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CliUsageError, parseCliArgs } from '../../ts/cli/args.js';
import { buildRegistryConfig, clientUrls } from '../../ts/cli/config.js';
import { REGISTRY_PROTOCOLS } from '../../ts/core/interfaces.core.js';

test('cli args: defaults are 127.0.0.1:4873, ./.smartregistry, errors-only logging', () => {
  const options = parseCliArgs(['serve'], {});
  assert.equal(options.command, 'serve');
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.port, 4873);
  assert.equal(options.dataDir, '.smartregistry');
  assert.equal(options.anonymousRead, false);
  assert.equal(options.logLevel, 'error');
  assert.equal(options.s3, undefined);
  assert.deepEqual(buildRegistryConfig(options).storage, { type: 'filesystem', path: path.resolve('.smartregistry') });
});

test('cli args: flags win over environment variables', () => {
  const env = { SMARTREGISTRY_PORT: '5000', SMARTREGISTRY_HOST: '127.0.0.2', SMARTREGISTRY_ANONYMOUS_READ: 'true' };
  assert.equal(parseCliArgs(['serve'], env).port, 5000);
  assert.equal(parseCliArgs(['serve'], env).host, '127.0.0.2');
  assert.equal(parseCliArgs(['serve'], env).anonymousRead, true);
  assert.equal(parseCliArgs(['serve', '--port', '0'], env).port, 0);
  assert.equal(parseCliArgs(['serve', '--anonymous-read'], {}).anonymousRead, true);
});

test('cli args: S3 from flags or environment becomes the storage descriptor', () => {
  const fromEnv = parseCliArgs(['serve'], {
    SMARTREGISTRY_S3_ENDPOINT: 's3.example.com',
    SMARTREGISTRY_S3_PORT: '9000',
    SMARTREGISTRY_S3_BUCKET: 'registry',
    SMARTREGISTRY_S3_ACCESS_KEY: 'key',
    SMARTREGISTRY_S3_SECRET_KEY: 'secret',
    SMARTREGISTRY_S3_REGION: 'eu-central-1',
    SMARTREGISTRY_S3_USE_SSL: 'true',
  });
  assert.deepEqual(buildRegistryConfig(fromEnv).storage, {
    type: 's3',
    endpoint: 's3.example.com',
    port: 9000,
    bucketName: 'registry',
    accessKey: 'key',
    accessSecret: 'secret',
    region: 'eu-central-1',
    useSsl: true,
    allowUnconditionalWrites: false,
  });
  const fromFlags = parseCliArgs(['serve', '--s3-endpoint', 'localhost', '--s3-bucket', 'b', '--s3-access-key', 'k', '--s3-secret-key', 's'], {});
  assert.equal(fromFlags.s3?.useSsl, false);
  assert.equal(fromFlags.s3?.allowUnconditionalWrites, false, 'a server that ignores conditional writes is refused by default');
  const allowing = ['serve', '--s3-endpoint', 'localhost', '--s3-bucket', 'b', '--s3-access-key', 'k', '--s3-secret-key', 's'];
  assert.equal(parseCliArgs([...allowing, '--s3-allow-unconditional-writes'], {}).s3?.allowUnconditionalWrites, true);
  assert.equal(parseCliArgs(allowing, { SMARTREGISTRY_S3_ALLOW_UNCONDITIONAL_WRITES: 'true' }).s3?.allowUnconditionalWrites, true);
  assert.throws(() => parseCliArgs(['serve', '--s3-endpoint', 'localhost'], {}), /S3 storage needs --s3-bucket/);
});

test('cli args: all seven protocols at /<protocol>, tokens in storage, sign-up off', () => {
  const config = buildRegistryConfig(parseCliArgs(['serve', '--registry-url', 'https://registry.example.com/'], {}));
  for (const protocol of REGISTRY_PROTOCOLS) {
    assert.deepEqual(config[protocol], { enabled: true, basePath: `/${protocol}`, registryUrl: `https://registry.example.com/${protocol}` });
  }
  assert.equal(config.auth.tokenStore, 'storage');
  assert.equal(config.auth.allowSignup, false);
  assert.equal(config.auth.jwtSecret, undefined);
  assert.equal(config.trustProxy, false, 'forwarded headers are not trusted unless asked');
  assert.equal(buildRegistryConfig(parseCliArgs(['serve', '--trust-proxy'], {})).trustProxy, true);
  assert.equal(buildRegistryConfig(parseCliArgs(['serve'], { SMARTREGISTRY_TRUST_PROXY: 'true' })).trustProxy, true);
});

test('cli args: bad input is a usage error', () => {
  for (const argv of [['serve', '--port', '70000'], ['serve', '--registry-url', 'not a url'], ['serve', 'extra'], ['token'], ['token', 'docker'], ['serve', '--log-level', 'loud']]) {
    assert.throws(() => parseCliArgs(argv, {}), CliUsageError, argv.join(' '));
  }
  assert.equal(parseCliArgs([], {}).command, 'help');
  assert.equal(parseCliArgs(['serve', '--help'], {}).command, 'help');
  assert.equal(parseCliArgs(['token', 'pypi', '--password', 'pw'], {}).protocol, 'pypi');
  assert.equal(parseCliArgs(['serve'], {}).tokenDays, 90);
  assert.equal(parseCliArgs(['serve', '--token-days', '7'], {}).tokenDays, 7);
  assert.equal(parseCliArgs(['serve'], { SMARTREGISTRY_TOKEN_DAYS: '30' }).tokenDays, 30);
  for (const days of ['0', '-1', '1.5', 'ninety', '3651']) {
    assert.throws(() => parseCliArgs(['serve', `--token-days=${days}`], {}), /--token-days must be a whole number/, days);
  }
  assert.deepEqual(
    [parseCliArgs(['token', 'list'], {}).tokenAction, parseCliArgs(['token', 'revoke', 'abc'], {}).tokenId],
    ['list', 'abc'],
  );
  assert.throws(() => parseCliArgs(['token', 'revoke'], {}), /token revoke needs one token id/);
});

test('cli client URLs: IPv6 hosts and proxies', () => {
  assert.deepEqual(Object.fromEntries(clientUrls('http://[::1]:4873')).oci, '[::1]:4873');
  assert.equal(Object.fromEntries(clientUrls('https://registry.example.com')).pypi, 'https://registry.example.com/pypi/simple/');
});

test('serve timeouts: seconds from flags or environment, defaults 60 s headers, 5 min idle, 5 s keep-alive', () => {
  assert.deepEqual(parseCliArgs(['serve'], {}).timeouts, { headersMs: 60_000, idleMs: 300_000, keepAliveMs: 5_000 });
  assert.deepEqual(
    parseCliArgs(['serve', '--headers-timeout', '10', '--idle-timeout', '120', '--keep-alive-timeout', '2'], {}).timeouts,
    { headersMs: 10_000, idleMs: 120_000, keepAliveMs: 2_000 },
  );
  const fromEnv = parseCliArgs(['serve'], { SMARTREGISTRY_HEADERS_TIMEOUT: '30', SMARTREGISTRY_IDLE_TIMEOUT: '60', SMARTREGISTRY_KEEP_ALIVE_TIMEOUT: '1' });
  assert.deepEqual(fromEnv.timeouts, { headersMs: 30_000, idleMs: 60_000, keepAliveMs: 1_000 });
  assert.throws(() => parseCliArgs(['serve', '--idle-timeout', '0'], {}), /--idle-timeout must be a whole number of seconds/);
  assert.throws(() => parseCliArgs(['serve', '--headers-timeout', 'soon'], {}), /--headers-timeout must be a whole number of seconds/);
});

test('cli args: --redirect-downloads and --downloads-public-url become the registry\'s downloads', () => {
  assert.deepEqual(buildRegistryConfig(parseCliArgs(['serve'], {})).downloads, { redirect: false, publicUrl: undefined });
  const flags = parseCliArgs(['serve', '--redirect-downloads', '--downloads-public-url', 'https://objects.example.com'], {});
  assert.deepEqual(buildRegistryConfig(flags).downloads, { redirect: true, publicUrl: 'https://objects.example.com' });
  const env = parseCliArgs(['serve'], { SMARTREGISTRY_REDIRECT_DOWNLOADS: 'true', SMARTREGISTRY_DOWNLOADS_PUBLIC_URL: 'http://127.0.0.1:9000' });
  assert.deepEqual(buildRegistryConfig(env).downloads, { redirect: true, publicUrl: 'http://127.0.0.1:9000' });
  assert.throws(() => parseCliArgs(['serve', '--downloads-public-url', 'objects.example.com/x'], {}), CliUsageError);
});

test('serve metrics listener: off by default, --metrics-port / SMARTREGISTRY_METRICS_PORT with a host defaulting to 127.0.0.1', () => {
  assert.equal(parseCliArgs(['serve'], {}).metrics, undefined);
  assert.deepEqual(parseCliArgs(['serve', '--metrics-port', '9464'], {}).metrics, { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseCliArgs(['serve'], { SMARTREGISTRY_METRICS_PORT: '0', SMARTREGISTRY_METRICS_HOST: '::1' }).metrics, { host: '::1', port: 0 });
  assert.throws(() => parseCliArgs(['serve', '--metrics-host', '0.0.0.0'], {}), /--metrics-host needs --metrics-port/);
  assert.throws(() => parseCliArgs(['serve', '--metrics-port', 'x'], {}), /--metrics-port must be a port number/);
});

test('serve audit events: --events-log as an absolute path, --webhook-url with its secret only from the environment', () => {
  const options = parseCliArgs(['serve', '--events-log', 'audit.jsonl', '--webhook-url', 'https://hooks.example.com/registry'], {
    SMARTREGISTRY_WEBHOOK_SECRET: 'a-secret-of-enough-length',
  });
  assert.equal(options.eventsLog, path.resolve('audit.jsonl'));
  assert.deepEqual(options.webhook, { url: 'https://hooks.example.com/registry', secret: 'a-secret-of-enough-length' });
  assert.deepEqual(buildRegistryConfig(options).events, { log: path.resolve('audit.jsonl'), webhooks: [options.webhook] });
  assert.deepEqual(buildRegistryConfig(parseCliArgs(['serve'], {})).events, {});
  assert.throws(() => parseCliArgs(['serve', '--webhook-url', 'https://hooks.example.com/x'], {}), /SMARTREGISTRY_WEBHOOK_SECRET/);
  assert.throws(() => parseCliArgs(['serve', '--webhook-url', 'ftp://hooks.example.com/x'], { SMARTREGISTRY_WEBHOOK_SECRET: 'a-secret-of-enough-length' }), /http or https/);
});

test('--retention rules (repeatable, or SMARTREGISTRY_RETENTION separated by ;) reach the OCI configuration of serve and gc in order', () => {
  const rules = [
    { repositories: 'team/*', keepNewest: 10, keepTags: ['v*', 'latest'], deleteUntaggedAfter: '7d' },
    { repositories: '*', deleteUntaggedAfter: '30d' },
  ];
  const flags = ['--retention', 'team/*:keep-newest=10,keep-tags=v*,keep-tags=latest,delete-untagged-after=7d', '--retention', '*:delete-untagged-after=30d'];
  assert.deepEqual(buildRegistryConfig(parseCliArgs(['serve', ...flags], {})).oci?.retention, rules);
  assert.deepEqual(buildRegistryConfig(parseCliArgs(['gc', ...flags], {})).oci?.retention, rules);
  const env = { SMARTREGISTRY_RETENTION: 'team/*:keep-newest=10,keep-tags=v*,keep-tags=latest,delete-untagged-after=7d; *:delete-untagged-after=30d' };
  assert.deepEqual(buildRegistryConfig(parseCliArgs(['serve'], env)).oci?.retention, rules);
  assert.equal(buildRegistryConfig(parseCliArgs(['serve'], {})).oci?.retention, undefined);
  for (const [bad, message] of [
    ['team/*', /is not <repositories>:/],
    ['team/*:', /sets nothing/],
    ['team/*:keep-newest', /is not <setting>=<value>/],
    ['team/*:delete-untagged-after=soon', /delete-untagged-after must be a duration/],
  ] as const) {
    assert.throws(() => parseCliArgs(['gc', '--retention', bad], {}), (error: Error) => error instanceof CliUsageError && message.test(error.message), bad);
  }
});
