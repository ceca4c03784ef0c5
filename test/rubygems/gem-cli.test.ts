/**
 * The real `gem` and `bundle` (Debian's ruby and ruby-bundler) against `smartregistry serve`:
 * gem build of two gems (one depending on the other) and a platform gem, gem push --host, gem
 * install --source into a clean GEM_HOME, bundle install through the compact index, gem yank then a
 * bundle install that must not pick the yanked version, gem owner, and a push with a wrong key.
 *
 * Every run gets its own HOME, GEM_HOME, GEMRC and bundler settings in a temp directory; sources are
 * cleared and only ours is given, so nothing reaches any other host.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { clientMissing, runClient, type IClientRun } from '../helpers/clients.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';
import { rubyEnv as isolatedRubyEnv } from './client.js';

// Debian's ruby (gem) and ruby-bundler (bundle).
const gemMissing = clientMissing('gem', ['--version']) || clientMissing('bundle', ['--version']);

describe('gem and bundle against smartregistry serve', { skip: gemMissing }, () => {
  let server: IServeInstance;
  let root: string;
  let source: string;
  /** The source with the token as Basic credentials, for reads by `gem install`. */
  let authedSource: string;

  /** Environment of one run (state apart per `name`), bundler signed in as admin. */
  const rubyEnv = (name: string, apiKey?: string) =>
    isolatedRubyEnv({ home: path.join(root, 'home'), dir: root, label: name, apiKey, bundleCredentials: `admin:${server.tokens.rubygems}` });

  const run = (command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) =>
    runClient(command, args, { cwd: options.cwd ?? root, env: options.env, timeoutMs: 120_000 });

  const ok = (result: IClientRun, what: string) => assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);

  /** Build a gem with `gem build`; returns the .gem path. */
  const buildGem = async (name: string, version: string, body: string[] = [], platform?: string) => {
    const dir = path.join(root, 'src', `${name}-${version}${platform ? `-${platform}` : ''}`);
    await fsp.mkdir(path.join(dir, 'lib'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'lib', `${name}.rb`), `module SrTest; VERSION_${name.replace(/-/g, '_').toUpperCase()} = ${JSON.stringify(version)}; end\n`);
    const spec = [
      'Gem::Specification.new do |s|',
      `  s.name = ${JSON.stringify(name)}`,
      `  s.version = ${JSON.stringify(version)}`,
      "  s.summary = 'smartregistry gem CLI test'",
      "  s.authors = ['smartregistry']",
      "  s.license = 'MIT'",
      `  s.files = ['lib/${name}.rb']`,
      ...(platform ? [`  s.platform = ${JSON.stringify(platform)}`] : []),
      ...body.map((line) => `  ${line}`),
      'end',
    ];
    await fsp.writeFile(path.join(dir, `${name}.gemspec`), `${spec.join('\n')}\n`);
    ok(await run('gem', ['build', `${name}.gemspec`], { cwd: dir, env: rubyEnv('build') }), `gem build ${name}`);
    return path.join(dir, `${name}-${version}${platform ? `-${platform}` : ''}.gem`);
  };

  const push = (file: string, key: string) => run('gem', ['push', file, '--host', source], { env: rubyEnv('push', key) });

  const api = async (pathName: string) => {
    const response = await fetch(`${source}${pathName}`, { headers: { Authorization: server.tokens.rubygems } });
    return { status: response.status, text: await response.text() };
  };

  const storedGemFiles = async () => {
    const dir = path.join(server.dataDir, 'storage', 'rubygems', 'gem-files');
    return (await fsp.readdir(dir).catch(() => [] as string[])).sort();
  };

  const bundleInstall = async (name: string, gems: string[]) => {
    const dir = path.join(root, `app-${name}`);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, 'Gemfile'), [`source ${JSON.stringify(source)}`, ...gems.map((gem) => `gem ${JSON.stringify(gem)}`)].join('\n') + '\n');
    const result = await run('bundle', ['install'], { cwd: dir, env: rubyEnv(name) });
    return { result, lock: await fsp.readFile(path.join(dir, 'Gemfile.lock'), 'utf8').catch(() => '') };
  };

  before(async () => {
    server = await startServe();
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-gem-cli-'));
    source = `${server.url}/rubygems`;
    authedSource = `http://admin:${server.tokens.rubygems}@${server.host}:${server.port}/rubygems/`;
    await fsp.mkdir(path.join(root, 'home'), { recursive: true });
    // The only source any command may use; install and bundle are also told it on the command line / Gemfile.
    await fsp.writeFile(path.join(root, 'home', '.gemrc'), `---\n:sources:\n- ${authedSource}\n:update_sources: false\n`);
  });

  after(async () => {
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('gem push of two gems (one depending on the other) and a platform gem', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const pushed = await push(await buildGem('sr-base', version), server.tokens.rubygems);
      ok(pushed, `gem push sr-base ${version}`);
      assert.match(pushed.stdout, new RegExp(`Successfully registered gem: sr-base \\(${version.replace(/\./g, '\\.')}\\)`));
    }
    ok(await push(await buildGem('sr-app', '1.0.0', ["s.add_dependency 'sr-base', '>= 1.0'"]), server.tokens.rubygems), 'gem push sr-app');
    ok(await push(await buildGem('sr-native', '2.0.0', [], 'x86_64-linux'), server.tokens.rubygems), 'gem push sr-native');

    const versions = await api('/versions');
    assert.equal(versions.status, 200);
    assert.match(versions.text, /^created_at: \S+\n---\n/);
    assert.match(versions.text, /^sr-base 1\.0\.0 [0-9a-f]{32}$/m);
    assert.match(versions.text, /^sr-base 1\.1\.0 [0-9a-f]{32}$/m);
    assert.match(versions.text, /^sr-native 2\.0\.0-x86_64-linux [0-9a-f]{32}$/m);
    const info = await api('/info/sr-app');
    assert.match(info.text, /^---\n1\.0\.0 sr-base:>= 1\.0\|checksum:[0-9a-f]{64}\n$/);
  });

  it('a push with a wrong key fails and stores nothing', async () => {
    const before = await storedGemFiles();
    const refused = await push(await buildGem('sr-other', '1.0.0'), 'not-a-key');
    assert.notEqual(refused.code, 0, `a push with a wrong key succeeded:\n${refused.stdout}`);
    assert.deepEqual(await storedGemFiles(), before);
    assert.equal((await api('/api/v1/versions/sr-other.json')).status, 404);
  });

  it('gem install --source into a clean GEM_HOME resolves the dependency', async () => {
    const env = rubyEnv('install');
    ok(await run('gem', ['install', 'sr-app', '--clear-sources', '--source', authedSource, '--no-document'], { env }), 'gem install sr-app');
    const list = await run('gem', ['list', '--local'], { env });
    ok(list, 'gem list');
    assert.match(list.stdout, /^sr-app \(1\.0\.0\)$/m);
    assert.match(list.stdout, /^sr-base \(1\.1\.0\)$/m);
    ok(await run('gem', ['install', 'sr-native', '--clear-sources', '--source', authedSource, '--no-document'], { env }), 'gem install sr-native');
    assert.match((await run('gem', ['list', '--local'], { env })).stdout, /^sr-native \(2\.0\.0 x86_64-linux\)$/m);
  });

  it('bundle install through the compact index, then gem yank, then a bundle install without the yanked version', async () => {
    const first = await bundleInstall('bundle-1', ['sr-app']);
    ok(first.result, 'bundle install');
    assert.match(first.lock, /^ {4}sr-base \(1\.1\.0\)$/m);
    assert.match(first.lock, /^ {4}sr-app \(1\.0\.0\)$/m);
    // Bundler kept the compact index files it fetched: it took that path, not the legacy API.
    const cached = await run('find', [path.join(root, 'bundle-home-bundle-1'), '-name', 'versions'], { env: rubyEnv('find') });
    assert.match(cached.stdout, /compact_index\/.*versions$/m);

    const yanked = await run('gem', ['yank', 'sr-base', '-v', '1.1.0', '--host', source], { env: rubyEnv('push', server.tokens.rubygems) });
    ok(yanked, 'gem yank');
    // `gem yank` exits 0 even when refused: the registry's state is what counts.
    const versions = JSON.parse((await api('/api/v1/versions/sr-base.json')).text) as Array<{ number: string }>;
    assert.deepEqual(versions.map((version) => version.number), ['1.0.0']);
    assert.doesNotMatch((await api('/info/sr-base')).text, /^1\.1\.0 /m);
    assert.match((await api('/versions')).text, /^sr-base -1\.1\.0 [0-9a-f]{32}\n$/m);

    const second = await bundleInstall('bundle-2', ['sr-app']);
    ok(second.result, 'bundle install after the yank');
    assert.match(second.lock, /^ {4}sr-base \(1\.0\.0\)$/m);

    // The first app's bundler brings its cached /versions up to date (asking for the bytes after
    // the ones it has) and holds exactly what the registry serves, the yank line included.
    const dir = path.join(root, 'app-bundle-1');
    ok(await run('bundle', ['lock', '--update', 'sr-base'], { cwd: dir, env: rubyEnv('bundle-1') }), 'bundle lock --update');
    const cachedVersions = (await run('find', [path.join(root, 'bundle-home-bundle-1'), '-name', 'versions'], { env: rubyEnv('find') })).stdout.trim();
    assert.equal(await fsp.readFile(cachedVersions, 'utf8'), (await api('/versions')).text);
  });

  it('bundle install right after gem push picks the new version (/info is written after the answer)', async () => {
    ok(await push(await buildGem('sr-fresh', '1.0.0'), server.tokens.rubygems), 'gem push sr-fresh 1.0.0');
    ok((await bundleInstall('bundle-fresh', ['sr-fresh'])).result, 'bundle install sr-fresh');
    ok(await push(await buildGem('sr-fresh', '1.1.0'), server.tokens.rubygems), 'gem push sr-fresh 1.1.0');
    // The same bundler home: its cached /info of sr-fresh is stale, /versions tells it to fetch it again.
    const dir = path.join(root, 'app-bundle-fresh');
    ok(await run('bundle', ['lock', '--update', 'sr-fresh'], { cwd: dir, env: rubyEnv('bundle-fresh') }), 'bundle lock --update');
    assert.match(await fsp.readFile(path.join(dir, 'Gemfile.lock'), 'utf8'), /^ {4}sr-fresh \(1\.1\.0\)$/m);
  });

  it('gem owner lists, adds and removes owners', async () => {
    const env = rubyEnv('push', server.tokens.rubygems);
    const shown = await run('gem', ['owner', 'sr-app', '--host', source], { env });
    ok(shown, 'gem owner');
    assert.match(shown.stdout, /Owners for gem: sr-app\n- admin/);
    ok(await run('gem', ['owner', 'sr-app', '--add', 'carol', '--host', source], { env }), 'gem owner --add');
    assert.deepEqual(JSON.parse((await api('/api/v1/gems/sr-app/owners.json')).text).map((owner: { handle: string }) => owner.handle), ['admin', 'carol']);
    ok(await run('gem', ['owner', 'sr-app', '--remove', 'carol', '--host', source], { env }), 'gem owner --remove');
    assert.deepEqual(JSON.parse((await api('/api/v1/gems/sr-app/owners.json')).text).map((owner: { handle: string }) => owner.handle), ['admin']);
  });
});
