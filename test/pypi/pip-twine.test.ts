/**
 * The real twine and pip (Debian's packages: `twine`, `python3-venv`, `python3-pip`) against
 * `smartregistry serve`: uploads of a wheel and an sdist, a second version, a duplicate and a
 * wrong-token upload, installs into a fresh venv (latest, pinned), `pip download`, an install that
 * skips a yanked release, and pip resolving through PEP 658 metadata files without fetching wheels.
 *
 * Nothing reaches the internet: every pip run has its own HOME, no configuration file
 * (PIP_CONFIG_FILE=/dev/null), our `--index-url` only and no version check; twine gets the
 * repository URL and credentials on its command line. Every request goes through a recording proxy,
 * whose log is the server's request log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServe, type IServeInstance } from '../helpers/serve.js';
import { clientMissing, envWithout, runClient } from '../helpers/clients.js';
import { makeSdist, makeWheel } from './fixtures.js';
import { startRecordingProxy, type IRecordingProxy } from '../helpers/recordingproxy.js';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TWINE = fs.existsSync('/usr/bin/twine') ? '/usr/bin/twine' : 'twine';

// Debian: apt-get install twine python3-venv (venv and ensurepip build the pip environments).
const missing = clientMissing(TWINE, ['--version']) || clientMissing(PYTHON, ['-c', 'import venv, ensurepip']);

/** A newer pip than Debian's (PEP 714 `core-metadata` in JSON needs pip >= 23.2), when this machine has one. */
function newerPython(): string | null {
  const candidates = [process.env.PYPI_TEST_NEW_PYTHON, ...['3.13.0', '3.12.1', '3.11.7'].map((v) => `/root/.pyenv/versions/${v}/bin/python3`)];
  for (const candidate of candidates) {
    if (!candidate || !fs.existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-c', 'import ensurepip; print(ensurepip.version())'], { encoding: 'utf8' });
    const [major, minor] = (version.stdout ?? '').trim().split('.').map(Number);
    if (version.status === 0 && (major > 23 || (major === 23 && minor >= 2))) return candidate;
  }
  return null;
}

describe('pip and twine against smartregistry serve', { skip: missing }, () => {
  let server: IServeInstance;
  let proxy: IRecordingProxy;
  let root: string;
  let venv: string;
  let dist: string;

  const env = (): NodeJS.ProcessEnv =>
    envWithout(/^(PIP_|TWINE_|PYTHON|VIRTUAL_ENV|PYENV)/i, {
      HOME: path.join(root, 'home'),
      PIP_CONFIG_FILE: os.devNull,
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1',
      PIP_CACHE_DIR: path.join(root, 'pip-cache'),
      PYTHONNOUSERSITE: '1',
      NO_COLOR: '1',
    });

  const run = (command: string, args: string[]) => runClient(command, args, { cwd: root, env: env() });

  const must = async (command: string, args: string[]) => {
    const result = await run(command, args);
    assert.equal(result.code, 0, `${path.basename(command)} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result;
  };

  const repositoryUrl = () => `${proxy.url}/pypi/`;
  /** pip sends the credentials of its index URL as Basic auth (user `__token__`, the token as password). */
  const indexUrl = () => `${proxy.url.replace('http://', `http://__token__:${server.tokens.pypi}@`)}/pypi/simple/`;
  const twine = (files: string[], password = server.tokens.pypi, extra: string[] = []) =>
    run(TWINE, ['upload', ...extra, '--non-interactive', '--disable-progress-bar', '--repository-url', repositoryUrl(), '-u', '__token__', '-p', password, ...files]);
  const pip = (python: string, args: string[]) => must(python, ['-m', 'pip', ...args, '--index-url', indexUrl()]);
  const venvPython = (dir = venv) => path.join(dir, 'bin', 'python');
  const imported = async (module: string, dir = venv) => (await must(venvPython(dir), ['-c', `import ${module}; print(${module}.VALUE)`])).stdout.trim();

  /** Every stored file below the data directory (the registry's storage). */
  const storedFiles = async () => {
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else files.push(path.relative(server.dataDir, full));
      }
    };
    await walk(path.join(server.dataDir));
    return files.filter((file) => file.includes('pypi')).sort();
  };

  const writeDist = async (file: { filename: string; bytes: Buffer }) => {
    const target = path.join(dist, file.filename);
    await fsp.writeFile(target, file.bytes);
    return target;
  };

  before(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-pip-'));
    dist = path.join(root, 'dist');
    venv = path.join(root, 'venv');
    await fsp.mkdir(path.join(root, 'home'), { recursive: true });
    await fsp.mkdir(dist);
    server = await startServe();
    proxy = await startRecordingProxy(server.url);
    await must(PYTHON, ['-m', 'venv', venv]);
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('twine uploads a wheel and an sdist, then a second version', async () => {
    const wheel = await writeDist(await makeWheel('sr-demo', '1.0.0', { requiresPython: '>=3.7' }));
    const sdist = await writeDist(await makeSdist('sr-demo', '1.0.0', { requiresPython: '>=3.7' }));
    const first = await twine([wheel, sdist]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const second = await twine([await writeDist(await makeWheel('sr-demo', '2.0.0'))]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const app = await twine([await writeDist(await makeWheel('sr-app', '1.0.0', { requiresDist: ['sr-demo<2'], module: 'from sr_demo import VALUE as DEMO\nVALUE = "app with " + DEMO\n' }))]);
    assert.equal(app.code, 0, app.stdout + app.stderr);
    assert.equal(proxy.log.filter((line) => line === 'POST /pypi/ 200').length, 4);
  });

  it('twine shows "File already exists" for a second upload of a file', async () => {
    const again = await twine([path.join(dist, 'sr_demo-1.0.0-py3-none-any.whl')]);
    assert.notEqual(again.code, 0);
    assert.match(again.stdout + again.stderr, /400 .*\n?.*File already exists/);
    // twine --skip-existing recognises the answer by its reason phrase.
    const skipped = await twine([path.join(dist, 'sr_demo-1.0.0-py3-none-any.whl')], server.tokens.pypi, ['--skip-existing']);
    assert.equal(skipped.code, 0, skipped.stdout + skipped.stderr);
    assert.match(skipped.stdout + skipped.stderr, /Skipping sr_demo-1\.0\.0-py3-none-any\.whl because it appears to already\s+exist/);
  });

  it('refuses an upload with a wrong token and stores nothing', async () => {
    const before = await storedFiles();
    const wrong = await twine([await writeDist(await makeWheel('sr-demo', '3.0.0'))], 'not-a-valid-token');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stdout + wrong.stderr, /401|403/);
    assert.deepEqual(await storedFiles(), before);
  });

  it('pip installs the latest version into a fresh venv, and an older one by pin', async () => {
    await pip(venvPython(), ['install', '--no-deps', 'sr-demo']);
    assert.equal(await imported('sr_demo'), 'sr-demo 2.0.0');
    await pip(venvPython(), ['install', '--no-deps', 'sr-demo==1.0.0']);
    assert.equal(await imported('sr_demo'), 'sr-demo 1.0.0');
  });

  it('pip download fetches the exact uploaded bytes', async () => {
    const into = path.join(root, 'downloads');
    await pip(venvPython(), ['download', '--no-deps', '--only-binary', ':all:', '-d', into, 'sr-demo==1.0.0']);
    const downloaded = await fsp.readFile(path.join(into, 'sr_demo-1.0.0-py3-none-any.whl'));
    assert.deepEqual(downloaded, await fsp.readFile(path.join(dist, 'sr_demo-1.0.0-py3-none-any.whl')));
  });

  it('pip skips a yanked release unless it is pinned', async () => {
    const yank = await fetch(`${proxy.url}/pypi/pypi/sr-demo/2.0.0/yank`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`__token__:${server.tokens.pypi}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'broken build' }),
    });
    assert.equal(yank.status, 200, await yank.text());
    await must(venvPython(), ['-m', 'pip', 'uninstall', '-y', 'sr-demo']);
    await pip(venvPython(), ['install', '--no-deps', 'sr-demo']);
    assert.equal(await imported('sr_demo'), 'sr-demo 1.0.0');
    const pinned = await pip(venvPython(), ['install', '--no-deps', 'sr-demo==2.0.0']);
    assert.match(pinned.stdout + pinned.stderr, /yanked.*broken build/is);
    assert.equal(await imported('sr_demo'), 'sr-demo 2.0.0');
  });

  /** pip resolves sr-app and its dependency from .metadata files; wheels are fetched only after resolution. */
  const assertResolvedThroughMetadata = (log: string[]) => {
    const gets = log.filter((line) => line.startsWith('GET /pypi/packages/') && line.endsWith(' 200')).map((line) => line.slice(0, -' 200'.length));
    const metadata = gets.map((line, index) => ({ line, index })).filter(({ line }) => line.endsWith('.whl.metadata'));
    const wheels = gets.map((line, index) => ({ line, index })).filter(({ line }) => line.endsWith('.whl'));
    assert.deepEqual(
      metadata.map(({ line }) => line),
      ['GET /pypi/packages/sr-app/sr_app-1.0.0-py3-none-any.whl.metadata', 'GET /pypi/packages/sr-demo/sr_demo-1.0.0-py3-none-any.whl.metadata'],
      log.join('\n'),
    );
    // pip 23.0 fetches each wheel twice after a metadata-only resolution (its own bug, fixed in 23.1).
    assert.deepEqual([...new Set(wheels.map(({ line }) => line))].sort(), [
      'GET /pypi/packages/sr-app/sr_app-1.0.0-py3-none-any.whl',
      'GET /pypi/packages/sr-demo/sr_demo-1.0.0-py3-none-any.whl',
    ], log.join('\n'));
    const lastMetadata = Math.max(...metadata.map(({ index }) => index));
    assert.ok(wheels.every(({ index }) => index > lastMetadata), `a wheel was fetched during resolution:\n${gets.join('\n')}`);
  };

  it("pip (Debian's, reading the HTML form) resolves through PEP 658 metadata files", async () => {
    // Debian bookworm's pip 23.0.1 predates PEP 714: it reads `data-dist-info-metadata` from HTML only,
    // so the proxy asks for HTML on its behalf.
    const fresh = path.join(root, 'venv-html');
    await must(PYTHON, ['-m', 'venv', fresh]);
    proxy.forceHtml = true;
    proxy.log.length = 0;
    try {
      await pip(venvPython(fresh), ['install', '--only-binary', ':all:', 'sr-app']);
    } finally {
      proxy.forceHtml = false;
    }
    assertResolvedThroughMetadata(proxy.log);
    assert.equal(await imported('sr_app', fresh), 'app with sr-demo 1.0.0');
  });

  const newer = newerPython();
  it('a pip with PEP 714 resolves through `core-metadata` in the JSON form', { skip: newer ? false : 'no pip >= 23.2 on this machine' }, async () => {
    const fresh = path.join(root, 'venv-json');
    await must(newer!, ['-m', 'venv', fresh]);
    proxy.log.length = 0;
    await pip(venvPython(fresh), ['install', '--only-binary', ':all:', 'sr-app']);
    assertResolvedThroughMetadata(proxy.log);
    assert.equal(await imported('sr_app', fresh), 'app with sr-demo 1.0.0');
  });
});
