/**
 * The compact index is derived from each gem's gem.json: an interrupted push lists nothing, and a
 * derived write that was lost (`/info`, the compact index entry behind `/versions` and `/names`, the
 * search entry) is repaired by the next read.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { holdingHooks, settledYet } from '../helpers/heldwrites.js';
import { settle } from '../helpers/validationwindow.js';
import { createGemRegistry, gemKeys, gemspecYaml, makeGem, type IGemTestRegistry } from './fixtures.js';

const md5 = (text: string | Buffer) => crypto.createHash('md5').update(text).digest('hex');

describe('rubygems: derived documents', () => {
  let r: IGemTestRegistry;
  let refuse: RegExp | null = null;

  before(async () => {
    r = await createGemRegistry({
      // Every read may sweep: a lost compact index write is found by the very next read.
      rubygemsOptions: { revalidateMs: 0 },
      storageHooks: {
        beforePut: (ctx) => (refuse && refuse.test(ctx.key) ? { allowed: false, reason: 'refused by the test' } : undefined),
      },
    });
  });
  after(() => r.close());

  it('a failed write of gem.json leaves no .gem, no index line and no /info', async () => {
    assert.equal((await r.push(await makeGem(gemspecYaml('halfway', '1.0.0')))).status, 200);
    const before = await gemKeys(r);
    const versionsBefore = (await r.request('GET', '/rubygems/versions')).text;
    refuse = /halfway\/gem\.json$/;
    const pushed = await r.push(await makeGem(gemspecYaml('halfway', '1.1.0')));
    refuse = null;
    assert.equal(pushed.status, 403, pushed.text);
    assert.match(pushed.text, /refused by the test/);
    assert.deepEqual(await gemKeys(r), before);
    assert.equal((await r.request('GET', '/rubygems/versions')).text, versionsBefore);
    assert.doesNotMatch((await r.request('GET', '/rubygems/info/halfway')).text, /1\.1\.0/);
    assert.equal((await r.request('GET', '/rubygems/gems/halfway-1.1.0.gem')).status, 404);
  });

  it('lost /info, compact index and search writes after gem.json: the push stands and the next reads repair them', async () => {
    refuse = /^rubygems\/(gems\/lost\/info\.json|compact-index\.json|search\/)/;
    const pushed = await r.push(await makeGem(gemspecYaml('lost', '2.0.0')));
    // /info and the search entry are written after the answer: refused until they are done.
    await r.registry.getStorage().settled();
    refuse = null;
    assert.equal(pushed.status, 200, pushed.text);
    assert.ok((await gemKeys(r)).includes('rubygems/gems/lost/gem.json'));
    assert.ok(!(await gemKeys(r)).includes('rubygems/gems/lost/info.json'));

    const info = await r.request('GET', '/rubygems/info/lost');
    assert.equal(info.status, 200);
    assert.match(info.text, /^---\n2\.0\.0 \|checksum:[0-9a-f]{64}\n$/);
    const versions = await r.request('GET', '/rubygems/versions');
    assert.match(versions.text, new RegExp(`\\nlost 2\\.0\\.0 ${md5(info.text)}\\n$`));
    assert.match((await r.request('GET', '/rubygems/names')).text, /\nlost\n/);
    // The sweep found the gem and derived all of it again, search included.
    const search = (await r.request('GET', '/rubygems/api/v1/search.json?query=lost')).json as Array<{ name: string }>;
    assert.deepEqual(search.map((hit) => hit.name), ['lost']);
  });

  it('a stale compact index entry (a lost yank) is repaired and its /versions line appended once', async () => {
    assert.equal((await r.push(await makeGem(gemspecYaml('stale', '1.0.0')))).status, 200);
    assert.equal((await r.push(await makeGem(gemspecYaml('stale', '1.1.0')))).status, 200);
    // The pushes' entries are written after their answers: landed before the yank's is lost.
    await r.registry.getStorage().settled();
    refuse = /^rubygems\/compact-index\.json$/;
    const yank = await r.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=stale&version=1.1.0');
    refuse = null;
    assert.equal(yank.status, 200, yank.text);
    const info = (await r.request('GET', '/rubygems/info/stale')).text;
    const versions = (await r.request('GET', '/rubygems/versions')).text;
    assert.match(versions, new RegExp(`\\nstale -1\\.1\\.0 ${md5(info)}\\n$`));
    assert.equal((await r.request('GET', '/rubygems/versions')).text, versions, 'repaired once, not appended again');
    assert.equal(versions.split('\n').filter((line) => line.startsWith('stale -1.1.0 ')).length, 1);
  });
});

describe('rubygems: a push is answered once gem.json is written', () => {
  it('reads on the instance wait for its derived writes under way; another instance lists the push once they land', async () => {
    const writes = holdingHooks();
    const a = await createGemRegistry({ storageHooks: writes.hooks });
    // No sweep of its own during the test: what it lists comes from the writes of the instance that pushed.
    const b = await createGemRegistry({ storage: { type: 'filesystem', path: a.dir }, rubygemsOptions: { revalidateMs: 60_000 } });
    try {
      assert.equal((await a.push(await makeGem(gemspecYaml('prompt', '1.0.0')))).status, 200);
      await a.registry.getStorage().settled();
      assert.match((await b.request('GET', '/rubygems/versions')).text, /\nprompt 1\.0\.0 [0-9a-f]{32}\n$/);
      const release = writes.hold(/^rubygems\/(gems\/prompt\/info\.json|compact-index\.json|search\/)/);
      // A new description: the search entry changes too (a push that leaves it alone does not write it).
      const described = gemspecYaml('prompt', '1.1.0').replace('summary: prompt for tests', 'summary: prompt described anew');
      assert.equal((await a.push(await makeGem(described))).status, 200, 'answered while every derived write is held');
      const fromB = await b.request('GET', '/rubygems/info/prompt');
      assert.match(fromB.text, /^1\.1\.0 \|checksum:/m, 'another instance derives /info from gem.json');
      const reads = {
        info: a.request('GET', '/rubygems/info/prompt'),
        versions: a.request('GET', '/rubygems/versions'),
        names: a.request('GET', '/rubygems/names'),
        specs: a.request('GET', '/rubygems/specs.4.8.gz'),
        search: a.request('GET', '/rubygems/api/v1/search.json?query=prompt'),
      };
      for (const [what, read] of Object.entries(reads)) assert.equal(await settledYet(read), false, `${what} waits for the write under way`);
      release();
      assert.equal((await reads.info).text, fromB.text);
      assert.ok((await reads.versions).text.endsWith(`\nprompt 1.1.0 ${md5(fromB.text)}\n`), (await reads.versions).text);
      assert.match((await reads.names).text, /\nprompt\n/);
      assert.equal((await reads.specs).status, 200);
      assert.equal(((await reads.search).json as Array<{ version: string }>)[0].version, '1.1.0');
      await a.registry.getStorage().settled();
      await settle();
      assert.equal((await b.request('GET', '/rubygems/versions')).text, (await reads.versions).text, 'the other instance lists the push once the entry landed');
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('rubygems: the search entry', () => {
  it('is written when what a gem is found by changes, not for every version; search answers from gem.json', async () => {
    const puts: string[] = [];
    const r = await createGemRegistry({ storageHooks: { afterPut: (ctx) => void puts.push(ctx.key) } });
    try {
      const search = async (query: string) =>
        (await r.request('GET', `/rubygems/api/v1/search.json?query=${encodeURIComponent(query)}`)).json as Array<{ name: string; version: string; sha: string }>;
      const searchWrites = () => puts.filter((key) => key.startsWith('rubygems/search/'));
      assert.equal((await r.push(await makeGem(gemspecYaml('steady', '1.0.0')))).status, 200);
      await r.registry.getStorage().settled();
      assert.equal(searchWrites().length, 1);

      puts.length = 0;
      const second = await makeGem(gemspecYaml('steady', '1.1.0'));
      assert.equal((await r.push(second)).status, 200);
      await r.registry.getStorage().settled();
      assert.deepEqual(searchWrites(), [], 'the same name and description: the entry stands');
      assert.ok(puts.includes('rubygems/gems/steady/info.json') && puts.includes('rubygems/compact-index.json'), puts.join(' '));
      const found = await search('steady');
      assert.deepEqual(found.map((hit) => [hit.name, hit.version]), [['steady', '1.1.0']]);
      assert.equal(found[0].sha, crypto.createHash('sha256').update(second).digest('hex'));

      puts.length = 0;
      const renamed = gemspecYaml('steady', '1.2.0').replace('summary: steady for tests', 'summary: steady with a wholly new purpose');
      assert.equal((await r.push(await makeGem(renamed))).status, 200);
      await r.registry.getStorage().settled();
      assert.equal(searchWrites().length, 1, 'a new description is written');
      assert.deepEqual((await search('purpose')).map((hit) => [hit.name, hit.version]), [['steady', '1.2.0']]);

      puts.length = 0;
      for (const version of ['1.2.0', '1.1.0', '1.0.0']) {
        assert.equal((await r.request('DELETE', `/rubygems/api/v1/gems/yank?gem_name=steady&version=${version}`)).status, 200);
      }
      await r.registry.getStorage().settled();
      assert.deepEqual(await search('steady'), [], 'every version yanked: not found');
      assert.equal((await r.request('PUT', '/rubygems/api/v1/gems/unyank?gem_name=steady&version=1.0.0')).status, 200);
      assert.deepEqual((await search('steady')).map((hit) => [hit.name, hit.version]), [['steady', '1.0.0']], 'found again once a version is served');
    } finally {
      await r.close();
    }
  });
});
