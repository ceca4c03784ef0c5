/**
 * The real npm CLI against `smartregistry serve`: publish (plain and scoped), a second version,
 * install of both, dist-tag add/ls/rm, deprecate, unpublish, view, search, whoami, ping, audit,
 * login (web flow and legacy), token list, and a publish with a wrong token that must fail.
 *
 * Each npm run gets its own HOME, user config, global config and cache in a temp directory, and the
 * registry in its .npmrc and on the command line; every `npm_config_*` variable of the parent is
 * dropped, and the update notifier is off: npm never talks to any registry but ours.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServe, type IServeInstance } from '../helpers/serve.js';
import { clientMissing, envWithout, runClient, type IClientRun, type IClientRunOptions } from '../helpers/clients.js';

const NPM = 'npm';
const npmMissing = clientMissing(NPM, ['--version']);

describe('npm CLI against smartregistry serve', { skip: npmMissing }, () => {
  let server: IServeInstance;
  let root: string;
  let registryUrl: string;
  let authKey: string;

  /** Environment for one npm run: nothing from the parent's npm configuration. */
  const npmEnv = (home: string): NodeJS.ProcessEnv =>
    envWithout(/^(npm_|NODE_AUTH_TOKEN$|NPM_TOKEN$)/i, {
      HOME: home,
      npm_config_userconfig: path.join(home, '.npmrc'),
      npm_config_globalconfig: path.join(home, 'global-npmrc'),
      npm_config_cache: path.join(root, 'cache'),
      npm_config_registry: registryUrl,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_loglevel: 'warn',
      NO_COLOR: '1',
    });

  /** Run npm in `cwd` against our registry, with its own HOME; resolves with its exit code and output. */
  const npm = (args: string[], options: { cwd?: string; home?: string } & Pick<IClientRunOptions, 'prompts' | 'onStdout'> = {}): Promise<IClientRun> =>
    runClient(NPM, [...args, `--registry=${registryUrl}`], {
      cwd: options.cwd ?? root,
      env: npmEnv(options.home ?? path.join(root, 'home')),
      prompts: options.prompts,
      onStdout: options.onStdout,
      timeoutMs: 120_000,
    });

  const ok = (run: IClientRun, what: string) => assert.equal(run.code, 0, `${what} failed:\n${run.stdout}\n${run.stderr}`);

  const writePackage = async (name: string, version: string, extra: Record<string, unknown> = {}) => {
    const dir = path.join(root, 'packages', `${name.replace('/', '__')}-${version}`);
    await fsp.mkdir(dir, { recursive: true });
    const manifest = { name, version, description: `${name} for the npm CLI test`, main: 'index.js', license: 'MIT', keywords: ['smartregistry-test'], ...extra };
    await fsp.writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    await fsp.writeFile(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`);
    await fsp.writeFile(path.join(dir, 'README.md'), `# ${name}\n\nversion ${version}\n`);
    return dir;
  };

  const writeNpmrc = async (home: string, token?: string) => {
    await fsp.mkdir(home, { recursive: true });
    const lines = [`registry=${registryUrl}`, 'update-notifier=false', 'fund=false'];
    if (token) lines.push(`${authKey}:_authToken=${token}`);
    await fsp.writeFile(path.join(home, '.npmrc'), `${lines.join('\n')}\n`);
    await fsp.writeFile(path.join(home, 'global-npmrc'), '');
  };

  before(async () => {
    server = await startServe();
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-npm-cli-'));
    registryUrl = `${server.url}/npm/`;
    authKey = `//${server.host}:${server.port}/npm/`;
    await writeNpmrc(path.join(root, 'home'), server.tokens.npm);
  });

  after(async () => {
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('npm ping and npm whoami', async () => {
    ok(await npm(['ping']), 'npm ping');
    const whoami = await npm(['whoami']);
    ok(whoami, 'npm whoami');
    assert.equal(whoami.stdout.trim(), 'admin');
  });

  it('npm publish: a plain package, a scoped package and a second version', async () => {
    ok(await npm(['publish'], { cwd: await writePackage('cli-plain', '1.0.0') }), 'publish cli-plain@1.0.0');
    ok(await npm(['publish', '--access', 'public'], { cwd: await writePackage('@cli-test/scoped', '1.0.0') }), 'publish @cli-test/scoped');
    ok(await npm(['publish'], { cwd: await writePackage('cli-plain', '1.1.0') }), 'publish cli-plain@1.1.0');
  });

  it('npm publish over an existing version fails with the registry’s message', async () => {
    const run = await npm(['publish', '--force'], { cwd: await writePackage('cli-plain', '1.0.0', { description: 'changed' }) });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /403/);
    assert.match(run.stderr, /You cannot publish over the previously published versions: 1\.0\.0/);
  });

  it('npm publish with a wrong token fails', async () => {
    const home = path.join(root, 'home-wrong-token');
    await writeNpmrc(home, 'this-token-does-not-exist');
    const run = await npm(['publish'], { cwd: await writePackage('cli-wrong-token', '1.0.0'), home });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /E401|401/);
    const view = await npm(['view', 'cli-wrong-token', 'name']);
    assert.notEqual(view.code, 0, 'nothing was published');
    assert.match(view.stderr, /E404|404/);
  });

  it('npm install: both versions, plain and scoped, with audit', async () => {
    const consumer = path.join(root, 'consumer');
    await fsp.mkdir(consumer, { recursive: true });
    await fsp.writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    ok(await npm(['install', 'cli-plain@1.0.0', '@cli-test/scoped'], { cwd: consumer }), 'install 1.0.0');
    const load = (file: string) => fsp.readFile(path.join(consumer, 'node_modules', file), 'utf8');
    assert.equal(JSON.parse(await load('cli-plain/package.json')).version, '1.0.0');
    assert.match(await load('cli-plain/index.js'), /cli-plain@1\.0\.0/);
    assert.equal(JSON.parse(await load('@cli-test/scoped/package.json')).version, '1.0.0');
    const lock = JSON.parse(await fsp.readFile(path.join(consumer, 'package-lock.json'), 'utf8'));
    assert.equal(lock.packages['node_modules/cli-plain'].resolved, `${registryUrl}cli-plain/-/cli-plain-1.0.0.tgz`);
    assert.equal(lock.packages['node_modules/@cli-test/scoped'].resolved, `${registryUrl}@cli-test/scoped/-/scoped-1.0.0.tgz`);

    ok(await npm(['install', 'cli-plain@latest'], { cwd: consumer }), 'install latest');
    assert.equal(JSON.parse(await load('cli-plain/package.json')).version, '1.1.0');

    // A clean install from the lock file, cache emptied: every tarball comes from the registry again.
    await fsp.rm(path.join(consumer, 'node_modules'), { recursive: true, force: true });
    await fsp.rm(path.join(root, 'cache'), { recursive: true, force: true });
    ok(await npm(['ci'], { cwd: consumer }), 'npm ci');
    assert.equal(JSON.parse(await load('cli-plain/package.json')).version, '1.1.0');

    const audit = await npm(['audit'], { cwd: consumer });
    ok(audit, 'npm audit');
    assert.match(audit.stdout, /found 0 vulnerabilities/);
  });

  it('npm install right after npm publish gets the new version (the abbreviated document is written after the answer)', async () => {
    ok(await npm(['publish'], { cwd: await writePackage('cli-fresh', '1.0.0') }), 'publish cli-fresh@1.0.0');
    const consumer = path.join(root, 'consumer-fresh');
    await fsp.mkdir(consumer, { recursive: true });
    await fsp.writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer-fresh', version: '1.0.0', private: true }));
    ok(await npm(['install', 'cli-fresh'], { cwd: consumer }), 'install cli-fresh');
    ok(await npm(['publish'], { cwd: await writePackage('cli-fresh', '1.1.0') }), 'publish cli-fresh@1.1.0');
    ok(await npm(['install', 'cli-fresh@latest', '--prefer-online'], { cwd: consumer }), 'install cli-fresh@latest');
    assert.equal(JSON.parse(await fsp.readFile(path.join(consumer, 'node_modules', 'cli-fresh', 'package.json'), 'utf8')).version, '1.1.0');
  });

  it('npm view', async () => {
    const view = await npm(['view', 'cli-plain', '--json']);
    ok(view, 'npm view');
    const data = JSON.parse(view.stdout);
    assert.equal(data.name, 'cli-plain');
    assert.equal(data.version, '1.1.0');
    assert.deepEqual(data.versions, ['1.0.0', '1.1.0']);
    assert.equal(data.dist.tarball, `${registryUrl}cli-plain/-/cli-plain-1.1.0.tgz`);
    assert.match(JSON.stringify(data._npmUser), /admin/);
    assert.match(JSON.stringify(data.maintainers), /admin/);
    assert.equal(data['dist-tags'].latest, '1.1.0');
    assert.match(data.dist.integrity, /^sha512-/);
    const scoped = await npm(['view', '@cli-test/scoped@1.0.0', 'description']);
    ok(scoped, 'npm view scoped');
    assert.equal(scoped.stdout.trim(), '@cli-test/scoped for the npm CLI test');
    const human = await npm(['view', 'cli-plain']);
    ok(human, 'npm view (text)');
    assert.match(human.stdout, /cli-plain@1\.1\.0/);
  });

  it('npm dist-tag add, ls and rm', async () => {
    ok(await npm(['dist-tag', 'add', 'cli-plain@1.0.0', 'stable']), 'dist-tag add');
    const ls = await npm(['dist-tag', 'ls', 'cli-plain']);
    ok(ls, 'dist-tag ls');
    assert.match(ls.stdout, /latest: 1\.1\.0/);
    assert.match(ls.stdout, /stable: 1\.0\.0/);
    ok(await npm(['dist-tag', 'add', '@cli-test/scoped@1.0.0', 'beta']), 'dist-tag add (scoped)');
    assert.match((await npm(['dist-tag', 'ls', '@cli-test/scoped'])).stdout, /beta: 1\.0\.0/);
    ok(await npm(['dist-tag', 'rm', 'cli-plain', 'stable']), 'dist-tag rm');
    const after = await npm(['dist-tag', 'ls', 'cli-plain']);
    assert.doesNotMatch(after.stdout, /stable/);
  });

  it('npm deprecate and undeprecate', async () => {
    ok(await npm(['deprecate', 'cli-plain@1.0.0', 'please use 1.1.0']), 'deprecate');
    const view = await npm(['view', 'cli-plain@1.0.0', 'deprecated']);
    ok(view, 'view deprecated');
    assert.equal(view.stdout.trim(), 'please use 1.1.0');
    ok(await npm(['deprecate', 'cli-plain@1.0.0', '']), 'undeprecate');
    assert.equal((await npm(['view', 'cli-plain@1.0.0', 'deprecated'])).stdout.trim(), '');
  });

  it('npm search', async () => {
    const search = await npm(['search', 'cli-plain']);
    ok(search, 'npm search');
    assert.match(search.stdout, /cli-plain/);
    const json = await npm(['search', 'cli', '--json']);
    ok(json, 'npm search --json');
    const names = JSON.parse(json.stdout).map((entry: { name: string }) => entry.name);
    assert.ok(names.includes('cli-plain') && names.includes('@cli-test/scoped'), names.join(','));
  });

  it('npm unpublish of one version moves latest; of the last version removes the package', async () => {
    ok(await npm(['unpublish', 'cli-plain@1.1.0']), 'unpublish 1.1.0');
    const view = await npm(['view', 'cli-plain', 'dist-tags.latest', '--prefer-online']);
    ok(view, 'view after unpublish');
    assert.equal(view.stdout.trim(), '1.0.0');
    const gone = await npm(['view', 'cli-plain@1.1.0', 'version', '--prefer-online']);
    assert.equal(gone.stdout.trim(), '');

    ok(await npm(['publish'], { cwd: await writePackage('cli-once', '1.0.0') }), 'publish cli-once');
    ok(await npm(['unpublish', 'cli-once@1.0.0', '--force']), 'unpublish the only version');
    const removed = await npm(['view', 'cli-once', '--prefer-online']);
    assert.notEqual(removed.code, 0);
    assert.match(removed.stderr, /E404|404/);

    ok(await npm(['publish'], { cwd: await writePackage('cli-whole', '1.0.0') }), 'publish cli-whole');
    ok(await npm(['publish'], { cwd: await writePackage('cli-whole', '2.0.0') }), 'publish cli-whole 2');
    ok(await npm(['unpublish', 'cli-whole', '--force']), 'unpublish whole package');
    assert.notEqual((await npm(['view', 'cli-whole', '--prefer-online'])).code, 0);
  });

  it('npm login (web flow, the default) and whoami with the new token', async () => {
    const home = path.join(root, 'home-web-login');
    await writeNpmrc(home);
    let signedIn: Promise<Response> | undefined;
    const run = await npm(['login'], {
      home,
      onStdout: (text) => {
        const loginUrl = /https?:\/\/\S+\/-\/v1\/login\/cli\/[0-9a-f]+/.exec(text)?.[0];
        if (!loginUrl || signedIn) return;
        // What a person does in the browser: fill in the form on the login page.
        signedIn = fetch(loginUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: 'admin', password: server.adminPassword }).toString(),
        });
      },
    });
    ok(run, 'npm login');
    assert.ok(signedIn, `npm login printed no login URL:\n${run.stdout}`);
    assert.equal((await signedIn).status, 200);
    assert.match(run.stdout + run.stderr, /Logged in on/);
    const npmrc = await fsp.readFile(path.join(home, '.npmrc'), 'utf8');
    assert.match(npmrc, new RegExp(`${authKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:_authToken=`));
    const whoami = await npm(['whoami'], { home });
    ok(whoami, 'whoami after web login');
    assert.equal(whoami.stdout.trim(), 'admin');
  });

  it('npm login --auth-type=legacy', async () => {
    const home = path.join(root, 'home-legacy-login');
    await writeNpmrc(home);
    const run = await npm(['login', '--auth-type=legacy'], {
      home,
      prompts: [
        [/Username:/, 'admin'],
        [/Password:/, server.adminPassword],
      ],
    });
    ok(run, 'npm login --auth-type=legacy');
    const whoami = await npm(['whoami'], { home });
    ok(whoami, 'whoami after legacy login');
    assert.equal(whoami.stdout.trim(), 'admin');
  });

  it('npm token list', async () => {
    const list = await npm(['token', 'list', '--json']);
    ok(list, 'npm token list');
    const tokens = JSON.parse(list.stdout) as { key: string; readonly: boolean }[];
    assert.ok(tokens.length >= 3, 'the serve token plus the two login tokens');
    assert.ok(tokens.every((token) => /^[0-9a-f]{64}$/.test(token.key)));
    const text = await npm(['token', 'list']);
    ok(text, 'npm token list (text)');
    assert.match(text.stdout, /with id [0-9a-f]{6}/);
  });

  it('npm whoami with an invalid token fails with 401', async () => {
    const home = path.join(root, 'home-invalid');
    await writeNpmrc(home, 'invalid-token');
    const run = await npm(['whoami'], { home });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /E401|401/);
  });
});
