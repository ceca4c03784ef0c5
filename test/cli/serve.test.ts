import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { loadOrCreateAdmin } from '../../ts/cli/admin.js';
import { REGISTRY_PROTOCOLS, type TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { startS3Server } from '../helpers/s3server.js';
import { launchServe, startServe } from '../helpers/serve.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'ts/cli/index.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Check tokens against the server's storage, in-process, with the admin it persisted. */
async function withStoredAuth<T>(dataDir: string, action: (registry: SmartRegistry) => Promise<T>): Promise<T> {
  const admin = await loadOrCreateAdmin({ type: 'filesystem', path: dataDir }, { create: false });
  assert.ok(admin, 'admin.json exists');
  const registry = new SmartRegistry({
    storage: { type: 'filesystem', path: dataDir },
    auth: { tokenStore: 'storage', users: admin.users },
    logging: { level: 'silent' },
  });
  await registry.init();
  try {
    return await action(registry);
  } finally {
    await registry.destroy();
  }
}

async function assertTokensValid(dataDir: string, tokens: Partial<Record<TRegistryProtocol, string>>) {
  await withStoredAuth(dataDir, async (registry) => {
    for (const [protocol, token] of Object.entries(tokens) as [TRegistryProtocol, string][]) {
      const authToken = await registry.getAuthManager().validateToken(token, protocol);
      assert.equal(authToken?.userId, 'admin', `${protocol} token is valid`);
      assert.equal(await registry.getAuthManager().authorize(authToken, `${protocol}:package:anything`, 'write'), true);
    }
  });
}

describe('smartregistry serve', () => {
  const dataDir = path.join(os.tmpdir(), `smartregistry-cli-${process.pid}-${Date.now()}`);
  let first: Awaited<ReturnType<typeof launchServe>>;
  before(async () => {
    await fsp.mkdir(dataDir);
    first = await launchServe({ dataDir });
  });
  after(async () => {
    await first?.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  });

  it('prints an admin password, a token per protocol and the ready URL on 127.0.0.1', () => {
    assert.match(first.adminPassword, /^[A-Za-z0-9_-]{20,}$/);
    assert.deepEqual(Object.keys(first.tokens).sort(), [...REGISTRY_PROTOCOLS].sort());
    assert.equal(first.host, '127.0.0.1');
    assert.ok(first.port > 0);
    assert.equal(first.url, `http://127.0.0.1:${first.port}`);
  });

  it('prints the URL each client uses', () => {
    const base = first.url;
    assert.deepEqual(first.urls, {
      npm: `${base}/npm/`,
      oci: `127.0.0.1:${first.port}`,
      maven: `${base}/maven/`,
      cargo: `sparse+${base}/cargo/`,
      composer: `${base}/composer/`,
      pypi: `${base}/pypi/simple/`,
      rubygems: `${base}/rubygems/`,
    });
  });

  it('says at start-up when --registry-url is missing', () => {
    assert.ok(first.lines.some((line) => /^# no --registry-url: links in answers use each request's Host header/.test(line)), first.lines.join('\n'));
  });

  it('every basePath and the OCI root /v2/ reach the registry', async () => {
    for (const target of ['/v2/', ...REGISTRY_PROTOCOLS.map((protocol) => `/${protocol}/`)]) {
      const response = await fetch(`${first.url}${target}`);
      await response.arrayBuffer();
      assert.ok(response.status < 500, `${target} answered ${response.status}`);
      assert.ok(response.headers.get('content-type'), `${target} has a content type`);
    }
    // The web page is mounted at the host root: it answers every path no protocol does.
    const home = await fetch(`${first.url}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
    await home.arrayBuffer();
    const unrouted = await fetch(`${first.url}/nowhere`);
    assert.equal(unrouted.status, 404);
    assert.match(unrouted.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await unrouted.text(), /<h1>Not found<\/h1>/);
  });

  it('the printed tokens are valid admin tokens, stored in the data directory', async () => {
    await assertTokensValid(dataDir, first.tokens);
    await withStoredAuth(dataDir, async (registry) => {
      assert.equal(await registry.getAuthManager().authenticate({ username: 'admin', password: first.adminPassword }), 'admin');
      assert.equal(await registry.getAuthManager().authenticate({ username: 'admin', password: 'wrong' }), null);
    });
    const stored = await fsp.readFile(path.join(dataDir, 'admin.json'), 'utf8');
    assert.ok(!stored.includes(first.adminPassword), 'the password is stored only as a hash');
    assert.match(stored, /"passwordHash":"scrypt\$/);
  });

  it('`token <protocol>` creates a new admin token with the password; a wrong one is refused', async () => {
    const ok = await cli(['token', 'maven', '--data-dir', dataDir], { SMARTREGISTRY_ADMIN_PASSWORD: first.adminPassword });
    assert.equal(ok.code, 0, ok.stderr);
    const [, protocol, token] = ok.stdout.trim().split(' ');
    assert.equal(protocol, 'maven');
    await assertTokensValid(dataDir, { maven: token });
    const bad = await cli(['token', 'npm', '--data-dir', dataDir, '--password', 'wrong']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /wrong admin password/);
  });

  it('printed tokens expire after 90 days, are listed and can be revoked by id', async () => {
    const ninetyDays = Date.now() + 90 * 86400_000;
    const listed = await cli(['token', 'list', '--data-dir', dataDir, '--password', first.adminPassword]);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout.trim().split('\n').map((line) => line.split(' '));
    const firstStart = rows.filter((row) => row.slice(4).join(' ') === 'smartregistry serve (first start)');
    assert.deepEqual(firstStart.map((row) => row[2]).sort(), [...REGISTRY_PROTOCOLS].sort());
    for (const [kind, id, , expires] of firstStart) {
      assert.equal(kind, 'token-info');
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.ok(Math.abs(Date.parse(expires) - ninetyDays) < 10 * 60_000, `${expires} is 90 days away`);
    }

    const created = await cli(['token', 'npm', '--data-dir', dataDir, '--token-days', '7'], { SMARTREGISTRY_ADMIN_PASSWORD: first.adminPassword });
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim().split(' ')[2];
    const tokenId = await withStoredAuth(dataDir, async (registry) => {
      assert.equal((await registry.getAuthManager().validateToken(token, 'npm'))?.userId, 'admin');
      const info = (await registry.getAuthManager().listUserTokens('admin')).find((t) => t.name === 'smartregistry token' && t.protocol === 'npm');
      assert.ok(info?.expiresAt && Math.abs(Date.parse(info.expiresAt) - (Date.now() + 7 * 86400_000)) < 10 * 60_000);
      return info.tokenId;
    });
    const revoked = await cli(['token', 'revoke', tokenId, '--data-dir', dataDir, '--password', first.adminPassword]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout.trim(), `revoked ${tokenId}`);
    // The running server, which had not seen the token, refuses it.
    assert.equal((await fetch(`${first.url}/npm/-/whoami`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    const again = await cli(['token', 'revoke', tokenId, '--data-dir', dataDir, '--password', first.adminPassword]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no token of admin has the id/);
  });

  it('SIGTERM exits 0; a second start reuses the admin and earlier tokens still work', async () => {
    await first.stop();
    assert.equal(await first.exitCode(), 0);
    const second = await launchServe({ dataDir });
    try {
      assert.equal(second.adminPassword, '');
      assert.deepEqual(second.tokens, {});
      await assertTokensValid(dataDir, first.tokens);
    } finally {
      second.child.kill('SIGINT');
      assert.equal(await second.exitCode(), 0);
      await second.stop();
    }
  });
});

describe('smartregistry serve options', () => {
  it('--registry-url sets the printed client URLs; the ready line stays the local address', async () => {
    const instance = await launchServe({ args: ['--registry-url', 'https://registry.example.com/'] });
    try {
      assert.ok(!instance.lines.some((line) => line.includes('no --registry-url')));
      assert.equal(instance.urls.npm, 'https://registry.example.com/npm/');
      assert.equal(instance.urls.oci, 'registry.example.com');
      assert.equal(instance.urls.cargo, 'sparse+https://registry.example.com/cargo/');
      assert.equal(instance.url, `http://127.0.0.1:${instance.port}`);
    } finally {
      await instance.stop();
    }
  });

  it('says at start-up when node runs without the memory flags and environment the bin gives it, and not when it has them', async () => {
    const bare = await launchServe({ nodeFlags: [], env: { MALLOC_MMAP_THRESHOLD_: undefined } });
    try {
      assert.ok(bare.lines.some((line) => /^# node runs without --max-semi-space-size=1 --heap-growing-percent=15 --expose-gc: .*node --max-semi-space-size=1 --heap-growing-percent=15 --expose-gc cli.js serve/.test(line)), bare.lines.join('\n'));
      assert.ok(bare.lines.some((line) => /^# started without MALLOC_MMAP_THRESHOLD_=131072 in the environment: /.test(line)), bare.lines.join('\n'));
    } finally {
      await bare.stop();
    }
    const flagged = await launchServe();
    try {
      assert.ok(!flagged.lines.some((line) => line.startsWith('# node runs without') || line.startsWith('# started without')), flagged.lines.join('\n'));
    } finally {
      await flagged.stop();
    }
  });

  it('--redirect-downloads on filesystem storage says at start-up that artifacts are streamed', async () => {
    const instance = await launchServe({ args: ['--redirect-downloads'] });
    try {
      assert.ok(instance.lines.some((line) => /^# --redirect-downloads needs S3 storage: .* artifacts are streamed/.test(line)), instance.lines.join('\n'));
    } finally {
      await instance.stop();
    }
  });

  it('S3 storage from flags and environment: the admin and tokens live in the bucket', async () => {
    const s3 = await startS3Server();
    const { endpoint, port, accessKey, accessSecret } = s3.descriptor;
    // s3rver ignores conditional writes: without the flag, serve refuses it.
    const args = ['--s3-endpoint', endpoint, '--s3-port', String(port), '--s3-bucket', 'cli-registry', '--s3-access-key', accessKey, '--s3-allow-unconditional-writes'];
    const env = { SMARTREGISTRY_S3_SECRET_KEY: accessSecret, SMARTREGISTRY_S3_REGION: 'us-east-1' };
    try {
      const first = await launchServe({ args, env });
      assert.deepEqual(Object.keys(first.tokens).sort(), [...REGISTRY_PROTOCOLS].sort());
      await first.stop();
      assert.equal(await first.exitCode(), 0);
      assert.deepEqual(await fsp.readdir(first.dataDir).catch(() => []), [], 'nothing went to the filesystem');

      const second = await launchServe({ args, env });
      try {
        assert.equal(second.adminPassword, '', 'the admin from the bucket is reused');
        const token = await cli(['token', 'npm', ...args, `--password=${first.adminPassword}`], env);
        assert.equal(token.code, 0, token.stderr);
        assert.match(token.stdout, /^token npm [0-9a-f-]{36}\n$/);
      } finally {
        await second.stop();
      }
    } finally {
      await s3.stop();
    }
  });

  it('startServe creates and removes its own data directory', async () => {
    const instance = await startServe({ env: { SMARTREGISTRY_LOG_LEVEL: 'silent' } });
    const dir = instance.dataDir;
    assert.ok((await fsp.stat(path.join(dir, 'admin.json'))).isFile());
    await instance.stop();
    await assert.rejects(fsp.stat(dir), { code: 'ENOENT' });
  });

  it('--help documents the commands, flags and environment variables', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const word of ['serve', 'token', '--data-dir', '--s3-endpoint', '--s3-use-ssl', 'SMARTREGISTRY_S3_SECRET_KEY', 'SMARTREGISTRY_PORT', '--anonymous-read', '--registry-url', '--trust-proxy']) {
      assert.ok(help.stdout.includes(word), word);
    }
  });

  it('a bad command line exits 2 and says what is wrong', async () => {
    const bad = await cli(['serve', '--port', 'eighty']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port must be a port number/);
    const unknown = await cli(['launch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'launch'/);
  });

  it('a port in use is an error with exit code 1', async () => {
    const instance = await startServe();
    try {
      const clash = await cli(['serve', '--port', String(instance.port), '--data-dir', instance.dataDir]);
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /EADDRINUSE/);
    } finally {
      await instance.stop();
    }
  });
});
