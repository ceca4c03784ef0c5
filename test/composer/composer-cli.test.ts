/**
 * The real `composer` (Debian's package, with php-cli and php-zip) against `smartregistry serve`:
 * uploads of zips made by the test, `composer require acme/greeter:^1.0` in a fresh project, `composer
 * update` to the second version, a dev branch, private reads with an auth.json token (http-basic and
 * bearer), a read without one that fails, and an upload with a wrong token that stores nothing.
 *
 * Nothing reaches the internet: every composer run has its own COMPOSER_HOME (auth.json, cache) and
 * HOME, every `COMPOSER_*` variable of the parent is dropped, and the project's composer.json names
 * our repository only, with the public one disabled (`{"packagist": false}`).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { composerMissing, runComposer } from './client.js';
import type { IClientRun } from '../helpers/clients.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';
import { greeterSource, makePackageZip, sha1 } from './fixtures.js';

const PACKAGE = 'acme/greeter';

interface IInstalledPackage {
  name: string;
  version: string;
  version_normalized: string;
  dist: { type: string; url: string; reference: string; shasum: string };
}

describe('composer against smartregistry serve', { skip: composerMissing() }, () => {
  let server: IServeInstance;
  let root: string;
  let repositoryUrl: string;
  let origin: string;
  const zips = new Map<string, Buffer>();

  /** A COMPOSER_HOME whose auth.json holds `auth` (the token as http-basic password, or as bearer). */
  const composerHome = async (label: string, auth: { basic?: string; bearer?: string } = {}) => {
    const home = path.join(root, 'homes', label);
    await fsp.mkdir(home, { recursive: true });
    const authJson = {
      ...(auth.basic ? { 'http-basic': { [origin]: { username: 'token', password: auth.basic } } } : {}),
      ...(auth.bearer ? { bearer: { [origin]: auth.bearer } } : {}),
    };
    await fsp.writeFile(path.join(home, 'auth.json'), `${JSON.stringify(authJson, null, 2)}\n`);
    return home;
  };

  /** A fresh project that knows our repository only. */
  const project = async (label: string) => {
    const dir = path.join(root, 'projects', label);
    await fsp.mkdir(dir, { recursive: true });
    const composerJson = {
      name: 'test/app',
      type: 'project',
      repositories: [{ type: 'composer', url: repositoryUrl }, { packagist: false }],
      config: { 'secure-http': false },
    };
    await fsp.writeFile(path.join(dir, 'composer.json'), `${JSON.stringify(composerJson, null, 2)}\n`);
    return dir;
  };

  const ok = (run: IClientRun, what: string) => assert.equal(run.code, 0, `${what} failed:\n${run.stdout}\n${run.stderr}`);

  const upload = async (label: string, options: { version?: string; composerVersion?: string | null; token?: string } = {}) => {
    const zip = await makePackageZip(PACKAGE, label, { version: options.composerVersion });
    const query = options.version ? `?version=${encodeURIComponent(options.version)}` : '';
    const res = await fetch(`${repositoryUrl}/packages/${PACKAGE}${query}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${options.token ?? server.tokens.composer}`, 'content-type': 'application/zip' },
      body: new Uint8Array(zip),
    });
    return { res, zip, text: await res.text() };
  };

  const installed = async (dir: string): Promise<IInstalledPackage> => {
    const document = JSON.parse(await fsp.readFile(path.join(dir, 'vendor/composer/installed.json'), 'utf8')) as { packages: IInstalledPackage[] };
    const found = document.packages.find((pkg) => pkg.name === PACKAGE);
    assert.ok(found, `${PACKAGE} is in installed.json`);
    return found;
  };

  const installedSource = (dir: string) => fsp.readFile(path.join(dir, 'vendor', PACKAGE, 'src/Greeter.php'), 'utf8');

  const composerKeys = async () => {
    const keys: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${prefix}${entry.name}/`);
        else keys.push(`${prefix}${entry.name}`);
      }
    };
    await walk(path.join(server.dataDir, 'composer'), 'composer/').catch(() => undefined);
    return keys.sort();
  };

  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-composer-cli-'));
    server = await startServe();
    repositoryUrl = `${server.url}/composer`;
    origin = `${server.host}:${server.port}`;
    assert.ok(server.tokens.composer, 'serve printed a composer token');
  });

  after(async () => {
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('stores an uploaded zip whose composer.json names the version', async () => {
    const { res, zip, text } = await upload('1.0.0');
    assert.equal(res.status, 201, text);
    zips.set('1.0.0', zip);
    assert.deepEqual(JSON.parse(text), { status: 'success', name: PACKAGE, version: '1.0.0', version_normalized: '1.0.0.0', shasum: sha1(zip) });
  });

  let app: string;
  let basicHome: string;

  /** Waits until the wall clock's second has turned (HTTP dates have whole seconds). */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

  it('composer require acme/greeter:^1.0 installs it in a fresh project (token as http-basic password)', async () => {
    app = await project('app');
    basicHome = await composerHome('basic', { basic: server.tokens.composer });
    ok(await runComposer(['require', `${PACKAGE}:^1.0`, '--no-audit', '--no-progress'], basicHome, app), 'composer require');
    const pkg = await installed(app);
    assert.equal(pkg.version, '1.0.0');
    assert.equal(pkg.version_normalized, '1.0.0.0');
    assert.deepEqual(pkg.dist, { type: 'zip', url: `${repositoryUrl}/dists/${PACKAGE}/${sha1(zips.get('1.0.0')!)}.zip`, reference: sha1(zips.get('1.0.0')!), shasum: sha1(zips.get('1.0.0')!) });
    assert.equal(await installedSource(app), greeterSource(PACKAGE, '1.0.0'));
    const lock = JSON.parse(await fsp.readFile(path.join(app, 'composer.lock'), 'utf8'));
    assert.deepEqual(lock.packages.map((p: IInstalledPackage) => [p.name, p.version]), [[PACKAGE, '1.0.0']]);
  });

  it('composer update moves to the second version (named by ?version=, composer.json has none)', async () => {
    // composer revalidates with If-Modified-Since, whose dates have whole seconds: a change in the same
    // second as the copy it holds cannot show (as with any registry); publish in the next second.
    await nextSecond();
    const { res, zip, text } = await upload('1.1.0', { version: '1.1.0', composerVersion: null });
    assert.equal(res.status, 201, text);
    ok(await runComposer(['update', '--no-audit', '--no-progress'], basicHome, app), 'composer update');
    const pkg = await installed(app);
    assert.equal(pkg.version, '1.1.0');
    assert.equal(pkg.dist.shasum, sha1(zip));
    assert.equal(await installedSource(app), greeterSource(PACKAGE, '1.1.0'));
  });

  it('installs a dev branch, and a new upload of the branch on update (token as bearer)', async () => {
    const first = await upload('dev-main', { version: 'dev-main', composerVersion: null });
    assert.equal(first.res.status, 201, first.text);
    const dev = await project('dev');
    const home = await composerHome('bearer', { bearer: server.tokens.composer });
    ok(await runComposer(['require', `${PACKAGE}:dev-main`, '--no-audit', '--no-progress'], home, dev), 'composer require dev-main');
    let pkg = await installed(dev);
    assert.equal(pkg.version, 'dev-main');
    assert.equal(pkg.version_normalized, 'dev-main');
    assert.equal(pkg.dist.reference, sha1(first.zip));
    assert.equal(await installedSource(dev), greeterSource(PACKAGE, 'dev-main'));

    await nextSecond();
    const second = await makePackageZip(PACKAGE, 'dev-main-2', { version: 'dev-main' });
    const res = await fetch(`${repositoryUrl}/packages/${PACKAGE}`, { method: 'PUT', headers: { authorization: `Bearer ${server.tokens.composer}` }, body: new Uint8Array(second) });
    assert.equal(res.status, 201, await res.text());
    ok(await runComposer(['update', '--no-audit', '--no-progress'], home, dev), 'composer update of the branch');
    pkg = await installed(dev);
    assert.equal(pkg.dist.reference, sha1(second));
    assert.equal(await installedSource(dev), greeterSource(PACKAGE, 'dev-main-2'));
  });

  it('cannot read the private repository without a token or with a wrong one', async () => {
    for (const [label, auth] of [['anonymous', {}], ['wrong', { basic: 'not-a-valid-token' }]] as const) {
      const dir = await project(label);
      const run = await runComposer(['require', `${PACKAGE}:^1.0`, '--no-audit', '--no-progress'], await composerHome(label, auth), dir);
      assert.notEqual(run.code, 0, `${label}: composer require must fail:\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stderr, /401/, label);
      await assert.rejects(fsp.stat(path.join(dir, 'vendor', PACKAGE)), `${label}: nothing installed`);
    }
  });

  it('refuses an upload with a wrong token and stores nothing', async () => {
    const before = await composerKeys();
    const { res, text } = await upload('2.0.0', { token: 'not-a-valid-token' });
    assert.equal(res.status, 401, text);
    assert.equal(JSON.parse(text).status, 'error');
    assert.deepEqual(await composerKeys(), before);
  });
});
