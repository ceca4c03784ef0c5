/**
 * The real `cargo` against `smartregistry serve`: publish of two crates (the second depends on the
 * first from our registry), `cargo build` of a consumer with a fresh CARGO_HOME, yank and --undo,
 * search, owner --add/--list/--remove, a publish to a crate someone else owns, the default
 * `auth-required` registry (reads need the token; without one the build fails), and a publish with
 * a wrong token that stores nothing.
 *
 * Every cargo run gets its own CARGO_HOME whose config names our registry and replaces crates-io
 * with it, and every `CARGO_*` variable of the parent is dropped: cargo never talks to any
 * registry but ours, and the consumer depends only on our crates.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { clientMissing, envWithout, runClient, type IClientRun } from '../helpers/clients.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';

const CARGO = 'cargo';
const REGISTRY = 'smartreg';
const MIN_CARGO_MINOR = 74;

const cargoMissing = clientMissing(CARGO, ['--version'], (output) => {
  const minor = Number(/^cargo 1\.(\d+)\./.exec(output)?.[1] ?? 0);
  return minor >= MIN_CARGO_MINOR ? null : `${output || 'no version'}, need cargo ≥ 1.${MIN_CARGO_MINOR} for auth-required`;
});

describe('cargo against smartregistry serve', { skip: cargoMissing }, () => {
  let server: IServeInstance;
  let root: string;
  let indexUrl: string;
  let adminToken: string;
  let bobToken: string;
  let readToken: string;

  /** A CARGO_HOME with our registry (and crates-io replaced by it) and, if given, its token. */
  const cargoHome = async (name: string, token?: string) => {
    const home = path.join(root, 'homes', name);
    await fsp.mkdir(home, { recursive: true });
    const config = [
      `[registries.${REGISTRY}]`,
      `index = "${indexUrl}"`,
      '',
      // An auth-required registry needs a credential provider; cargo:token reads credentials.toml.
      '[registry]',
      'global-credential-providers = ["cargo:token"]',
      '',
      '[source.crates-io]',
      `replace-with = "${REGISTRY}"`,
      '',
      '[net]',
      'retry = 0',
      '',
    ].join('\n');
    await fsp.writeFile(path.join(home, 'config.toml'), config);
    if (token) await fsp.writeFile(path.join(home, 'credentials.toml'), `[registries.${REGISTRY}]\ntoken = "${token}"\n`);
    return home;
  };

  /** Environment for one cargo run: nothing from the parent's cargo configuration. */
  // rustup's cargo proxy finds its toolchain by RUSTUP_HOME (default under the real HOME); cargo's own state lives in CARGO_HOME.
  const cargoEnv = (home: string) => envWithout(/^CARGO_/, { CARGO_HOME: home, CARGO_TERM_COLOR: 'never', CARGO_NET_OFFLINE: 'false', CARGO_HTTP_TIMEOUT: '60' });

  const cargo = (args: string[], home: string, cwd = root) => runClient(CARGO, args, { cwd, env: cargoEnv(home) });

  const ok = (run: IClientRun, what: string) => assert.equal(run.code, 0, `${what} failed:\n${run.stdout}\n${run.stderr}`);

  /** A library crate `name` (depending on `deps`, all from our registry). */
  const writeCrate = async (name: string, version: string, body: string, deps: Record<string, string> = {}, bin = false) => {
    const dir = path.join(root, 'crates', `${name}-${version}`);
    await fsp.mkdir(path.join(dir, 'src'), { recursive: true });
    const depLines = Object.entries(deps).map(([dep, req]) => `${dep} = { version = "${req}", registry = "${REGISTRY}" }`);
    const manifest = [
      '[package]',
      `name = "${name}"`,
      `version = "${version}"`,
      'edition = "2021"',
      `description = "${name}, published by the smartregistry cargo test"`,
      'license = "MIT"',
      `publish = ["${REGISTRY}"]`,
      '',
      '[dependencies]',
      ...depLines,
      '',
    ].join('\n');
    await fsp.writeFile(path.join(dir, 'Cargo.toml'), manifest);
    await fsp.writeFile(path.join(dir, 'src', bin ? 'main.rs' : 'lib.rs'), body);
    // cargo sends README.md's text with the publish (the manifest's `readme` defaults to it).
    await fsp.writeFile(path.join(dir, 'README.md'), `# ${name}\n\nThe readme of **${name}**.\n`);
    return dir;
  };

  const publish = (dir: string, home: string) => cargo(['publish', '--registry', REGISTRY, '--no-verify', '--allow-dirty'], home, dir);

  const indexLines = async (indexPath: string, token = adminToken) => {
    const res = await fetch(`${indexUrl.slice('sparse+'.length)}${indexPath}`, { headers: { authorization: token } });
    assert.equal(res.status, 200, `${indexPath}: ${res.status}`);
    return (await res.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line));
  };

  const cargoKeys = async () => {
    const keys: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${prefix}${entry.name}/`);
        else keys.push(`${prefix}${entry.name}`);
      }
    };
    await walk(path.join(server.dataDir, 'cargo'), 'cargo/').catch(() => undefined);
    return keys.sort();
  };

  let adminHome: string;

  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-cargo-cli-'));
    server = await startServe();
    indexUrl = `sparse+${server.url}/cargo/`;
    adminToken = server.tokens.cargo;
    assert.ok(adminToken, 'serve printed a cargo token');

    // A second user, made through the library on the same storage the server uses.
    const registry = new SmartRegistry({
      storage: { type: 'filesystem', path: server.dataDir },
      auth: { tokenStore: 'storage', allowSignup: true, signupScopes: ['cargo:crate:*:read', 'cargo:crate:*:write'], cargoTokens: { enabled: true } },
      logging: { level: 'silent' },
    });
    await registry.init();
    const auth = registry.getAuthManager();
    assert.equal(await auth.createUser('bob', 'bob-password-123'), true);
    bobToken = await auth.createCargoToken('bob', false, { scopes: ['cargo:crate:*:read', 'cargo:crate:*:write'] });
    readToken = await auth.createCargoToken('bob', true, { scopes: ['cargo:crate:*:read'] });
    await registry.destroy();

    adminHome = await cargoHome('admin', adminToken);
  });

  after(async () => {
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('serves config.json that says auth is required', async () => {
    const res = await fetch(`${server.url}/cargo/config.json`, { headers: { authorization: adminToken } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dl: `${server.url}/cargo/api/v1/crates`, api: `${server.url}/cargo`, 'auth-required': true });
  });

  it('publishes two crates, the second depending on the first from our registry', async () => {
    const base = await writeCrate('sr_base', '0.1.0', 'pub fn greeting() -> &\'static str { "hello from sr_base" }\n');
    ok(await publish(base, adminHome), 'cargo publish sr_base');
    const app = await writeCrate('sr-lib', '0.1.0', 'pub fn twice() -> String { format!("{} {}", sr_base::greeting(), sr_base::greeting()) }\n', { sr_base: '0.1' });
    ok(await publish(app, adminHome), 'cargo publish sr-lib');

    const [baseLine] = await indexLines('sr/_b/sr_base');
    assert.equal(baseLine.name, 'sr_base');
    assert.match(baseLine.cksum, /^[0-9a-f]{64}$/);
    const [libLine] = await indexLines('sr/-l/sr-lib');
    assert.deepEqual(
      libLine.deps.map((dep: any) => [dep.name, dep.req, dep.kind, dep.registry]),
      [['sr_base', '^0.1', 'normal', null]],
    );
    // The web page (serve mounts it at /) renders the readme cargo sent.
    const page = await fetch(`${server.url}/packages/cargo/sr_base`, { headers: { authorization: adminToken } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<section class="readme"[^>]*><h2 id="readme">Readme<\/h2><h1>sr_base<\/h1>\n<p>The readme of <strong>sr_base<\/strong>\.<\/p>/);
  });

  it('builds a consumer of both crates with a fresh CARGO_HOME', async () => {
    const consumer = await writeCrate(
      'sr_consumer',
      '0.1.0',
      'fn main() { println!("{} | {}", sr_base::greeting(), sr_lib::twice()); }\n',
      { sr_base: '0.1', 'sr-lib': '0.1' },
      true,
    );
    const home = await cargoHome('consumer', readToken);
    const run = await cargo(['run', '--quiet'], home, consumer);
    ok(run, 'cargo run of the consumer');
    assert.equal(run.stdout.trim(), 'hello from sr_base | hello from sr_base hello from sr_base');
  });

  it('cannot read the auth-required registry without a token or with a wrong one', async () => {
    const consumer = await writeCrate('sr_anonymous', '0.1.0', 'fn main() { println!("{}", sr_base::greeting()); }\n', { sr_base: '0.1' }, true);
    const anonymous = await cargo(['generate-lockfile'], await cargoHome('anonymous'), consumer);
    assert.notEqual(anonymous.code, 0, `an anonymous resolve must fail:\n${anonymous.stderr}`);
    assert.match(anonymous.stderr, /no token found for `smartreg`/);
    const wrong = await cargo(['generate-lockfile'], await cargoHome('wrong-reader', 'not-a-valid-token'), consumer);
    assert.notEqual(wrong.code, 0, `a resolve with a wrong token must fail:\n${wrong.stderr}`);
    assert.match(wrong.stderr, /401/);
  });

  it('yanks a version and undoes it', async () => {
    ok(await cargo(['yank', '--registry', REGISTRY, 'sr_base@0.1.0'], adminHome), 'cargo yank');
    assert.equal((await indexLines('sr/_b/sr_base'))[0].yanked, true);
    ok(await cargo(['yank', '--registry', REGISTRY, '--undo', 'sr_base@0.1.0'], adminHome), 'cargo yank --undo');
    assert.equal((await indexLines('sr/_b/sr_base'))[0].yanked, false);
  });

  it('finds crates with cargo search', async () => {
    const run = await cargo(['search', '--registry', REGISTRY, 'sr'], adminHome);
    ok(run, 'cargo search');
    assert.match(run.stdout, /^sr_base = "0\.1\.0"\s+# sr_base, published by the smartregistry cargo test$/m);
    assert.match(run.stdout, /^sr-lib = "0\.1\.0"/m);
  });

  it('refuses a publish to a crate owned by someone else, then allows it once an owner adds them', async () => {
    const bobHome = await cargoHome('bob', bobToken);
    const next = await writeCrate('sr_base', '0.2.0', 'pub fn greeting() -> &\'static str { "bob was here" }\n');
    const before = await cargoKeys();
    const refused = await publish(next, bobHome);
    assert.notEqual(refused.code, 0, 'a foreign publish must fail');
    assert.match(refused.stderr, /not an owner of crate `sr_base`/);
    assert.deepEqual(await cargoKeys(), before, 'nothing stored');

    ok(await cargo(['owner', '--registry', REGISTRY, '--add', 'bob', 'sr_base'], adminHome), 'cargo owner --add');
    const list = await cargo(['owner', '--registry', REGISTRY, '--list', 'sr_base'], adminHome);
    ok(list, 'cargo owner --list');
    assert.deepEqual(list.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/)[0]).sort(), ['admin', 'bob']);
    ok(await publish(next, bobHome), 'publish by a new owner');

    ok(await cargo(['owner', '--registry', REGISTRY, '--remove', 'bob', 'sr_base'], adminHome), 'cargo owner --remove');
    const after = await cargo(['owner', '--registry', REGISTRY, '--list', 'sr_base'], adminHome);
    assert.deepEqual(after.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/)[0]), ['admin']);
  });

  it('refuses a publish with a wrong token and stores nothing', async () => {
    const crate = await writeCrate('sr_wrong', '0.1.0', 'pub fn x() {}\n');
    const before = await cargoKeys();
    const run = await publish(crate, await cargoHome('wrong', 'not-a-valid-token'));
    assert.notEqual(run.code, 0, 'publish with a wrong token must fail');
    assert.match(run.stderr, /401|invalid, expired or revoked token/);
    assert.deepEqual(await cargoKeys(), before);
  });
});
