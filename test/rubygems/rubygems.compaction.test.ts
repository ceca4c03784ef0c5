/**
 * `/versions` is appended to, so yanks and pushes of a fixed set of gems grow it without end. Past
 * `versionsCompactionBytes` (and twice the one line per gem that says the same) it starts anew: checked in process
 * (bounded, the same meaning, a new created_at, one rendering per file kept) and with the real bundler, whose cached
 * copy of the old file must come up to date.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { startHttp, type ITestServer } from '../adapters/helpers.http.js';
import { clientMissing, runClient, type IClientRun } from '../helpers/clients.js';
import { rubyEnv } from './client.js';
import { createGemRegistry, gemspecYaml, makeGem, readVersionsFile, type IGemTestRegistry } from './fixtures.js';

const COMPACTION_BYTES = 1024;
const md5 = (text: string) => crypto.createHash('md5').update(text).digest('hex');
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** A compacting registry with alpha 1.0.0 and 1.1.0, beta 1.0.0 (needs alpha) and gone 1.0.0 (yanked). */
async function gemsRegistry(): Promise<IGemTestRegistry> {
  let clock = Date.parse('2026-12-01T00:00:00.000Z');
  // A second per call: every compaction gets a created_at of its own.
  const r = await createGemRegistry({ rubygemsOptions: { versionsCompactionBytes: COMPACTION_BYTES, now: () => new Date((clock += 1000)) } });
  for (const yaml of [gemspecYaml('alpha', '1.0.0'), gemspecYaml('alpha', '1.1.0'), gemspecYaml('beta', '1.0.0', { dependencies: { alpha: ['>= 1.0'] } }), gemspecYaml('gone', '1.0.0')]) {
    const pushed = await r.push(await makeGem(yaml));
    assert.equal(pushed.status, 200, pushed.text);
  }
  assert.equal((await r.request('DELETE', '/rubygems/api/v1/gems/yank', { body: 'gem_name=gone&version=1.0.0', headers: form })).status, 200);
  return r;
}

/** Yank (or unyank) alpha 1.1.0. */
async function setAlphaYanked(r: IGemTestRegistry, yanked: boolean) {
  const answer = await r.request(yanked ? 'DELETE' : 'PUT', `/rubygems/api/v1/gems/${yanked ? 'yank' : 'unyank'}`, { body: 'gem_name=alpha&version=1.1.0', headers: form });
  assert.equal(answer.status, 200, answer.text);
}

const createdAtOf = (versions: string) => versions.slice(0, versions.indexOf('\n---\n'));
const linesOf = (versions: string) => versions.slice(versions.indexOf('\n---\n') + 5);

describe('rubygems: /versions started anew once its appended lines are long', () => {
  let r: IGemTestRegistry;
  before(async () => {
    r = await gemsRegistry();
  });
  after(() => r.close());

  it('stays within the bound and says what is served; a compaction leaves one line per served gem under a new created_at', async () => {
    const createdAts: string[] = [];
    for (let change = 0; change < 80; change++) {
      const yanked = change % 2 === 0;
      await setAlphaYanked(r, yanked);
      const versions = (await r.request('GET', '/rubygems/versions')).text;
      assert.equal((await r.request('GET', '/rubygems/names')).text, '---\nalpha\nbeta\n');
      const alpha = md5((await r.request('GET', '/rubygems/info/alpha')).text);
      const beta = md5((await r.request('GET', '/rubygems/info/beta')).text);
      assert.ok(linesOf(versions).length <= COMPACTION_BYTES, `change ${change}: ${linesOf(versions).length} bytes of lines`);
      // Read as bundler reads it, appended to or started anew: what is served, with each gem's current info MD5.
      const served = [...readVersionsFile(versions)].filter(([, gem]) => gem.versions.size > 0).map(([name, gem]) => [name, [...gem.versions].sort(), gem.infoMd5]);
      assert.deepEqual(served.sort(), [['alpha', yanked ? ['1.0.0'] : ['1.0.0', '1.1.0'], alpha], ['beta', ['1.0.0'], beta]]);
      if (createdAts.length > 0 && createdAtOf(versions) !== createdAts.at(-1)) {
        // Just compacted: the served gems once each, by name; gone (every version yanked) is not named.
        assert.equal(linesOf(versions), `alpha ${yanked ? '1.0.0' : '1.0.0,1.1.0'} ${alpha}\nbeta 1.0.0 ${beta}\n`);
      }
      if (createdAts.at(-1) !== createdAtOf(versions)) createdAts.push(createdAtOf(versions));
    }
    // 80 lines of some 46 bytes appended: more than two compactions' worth.
    assert.ok(createdAts.length >= 3, `created_at values seen: ${createdAts.join(', ')}`);
  });

  it('keeps one rendering per file, whatever the number of document changes it was rendered for', () => {
    // Renderings were kept by document etag: superseded ones stayed until evicted (16 of them, each the whole file).
    const store = (r.registry.getRegistry('rubygems') as unknown as { store: { rendered: { size: number } } }).store;
    assert.equal(store.rendered.size, 2, 'the /versions and /names renderings of the current document');
  });
});

const bundleMissing = clientMissing('bundle', ['--version']);

describe('bundler after a compaction of /versions', { skip: bundleMissing }, () => {
  let r: IGemTestRegistry;
  let server: ITestServer;
  let root: string;
  const env = () => rubyEnv({ home: path.join(root, 'home'), dir: root, label: 'app', bundleCredentials: `alice:${r.tokens.alice}` });
  const ok = (result: IClientRun, what: string) => assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);

  before(async () => {
    r = await gemsRegistry();
    server = await startHttp(createNodeHandler(r.registry));
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-gem-compaction-'));
    await fsp.mkdir(path.join(root, 'home'));
    await fsp.mkdir(path.join(root, 'app'));
    await fsp.writeFile(path.join(root, 'app', 'Gemfile'), `source "${server.url}/rubygems"\ngem "beta"\n`);
  });

  after(async () => {
    await server?.close();
    await r?.close();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('brings its cached /versions up to date and resolves without the version yanked since', async () => {
    const lock = () => runClient('bundle', ['lock', '--update', 'alpha', 'beta'], { cwd: path.join(root, 'app'), env: env(), timeoutMs: 120_000 });
    ok(await lock(), 'bundle lock');
    assert.match(await fsp.readFile(path.join(root, 'app', 'Gemfile.lock'), 'utf8'), /^ {4}alpha \(1\.1\.0\)$/m);
    const cached = (await runClient('find', [root, '-path', '*compact_index*', '-name', 'versions'])).stdout.trim();
    const before = await fsp.readFile(cached, 'utf8');
    assert.equal(before, (await r.request('GET', '/rubygems/versions')).text);

    // Yanks and unyanks until the file starts anew, ending with alpha 1.1.0 yanked.
    let changes = 0;
    for (let yanked = true; ; yanked = !yanked, changes++) {
      assert.ok(changes < 200, 'no compaction after 200 changes');
      await setAlphaYanked(r, yanked);
      if (yanked && createdAtOf((await r.request('GET', '/rubygems/versions')).text) !== createdAtOf(before)) break;
    }
    const served = (await r.request('GET', '/rubygems/versions')).text;
    assert.ok(!served.startsWith(before), 'the served file is not the cached one with lines appended');

    ok(await lock(), 'bundle lock --update after the compaction');
    assert.match(await fsp.readFile(path.join(root, 'app', 'Gemfile.lock'), 'utf8'), /^ {4}alpha \(1\.0\.0\)$/m);
    assert.equal(await fsp.readFile(cached, 'utf8'), served);
  });
});
