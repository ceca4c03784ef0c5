/** /v2/_catalog: one page read from storage, names in the spec's byte order, filtered while it fills; the old key layout migrated. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { compareAscii } from '../../ts/oci/helpers.oci.js';
import { createOciFixture, header, type ICallOptions, type IOciFixture } from './oci.fixtures.js';

/** Every name the catalog lists, following `Link` from `first`; also the number of pages. */
async function walkCatalog(f: IOciFixture, first: string, as?: ICallOptions['as']) {
  const names: string[] = [];
  let pages = 0;
  let next: string | undefined = first;
  while (next) {
    const res = await f.call('GET', next, { as });
    assert.equal(res.status, 200);
    names.push(...res.json.repositories);
    pages++;
    const link = header(res.headers, 'link');
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
  }
  return { names, pages };
}

describe('oci catalog', () => {
  let f: IOciFixture;
  // `,` ends every key: `a` < `a-b` < `a.b` < `a/b` < `a/b/c` < `ab`, as the names sort, not as `%2F` would.
  const names = ['order/ab', 'order/a/b', 'order/a', 'order/a.b', 'order/a/b/c', 'order/a-b', 'alice/one', 'aaa/1', 'aaa/2', 'alice/two', 'zzz/1'];

  before(async () => {
    f = await createOciFixture();
    for (const name of names) await f.pushBlob(name, `blob of ${name}`);
  });
  after(() => f.cleanup());

  it('lists names in byte order across pages of n, each Link continuing after the last name', async () => {
    const sorted = [...names].sort(compareAscii);
    assert.deepEqual(sorted.filter((name) => name.startsWith('order/')), ['order/a', 'order/a-b', 'order/a.b', 'order/a/b', 'order/a/b/c', 'order/ab']);
    const whole = await f.call('GET', '/v2/_catalog');
    assert.deepEqual(whole.json.repositories, sorted);
    assert.equal(header(whole.headers, 'link'), undefined);
    const walked = await walkCatalog(f, '/v2/_catalog?n=2');
    assert.deepEqual(walked.names, sorted);
    assert.equal(walked.pages, Math.ceil(sorted.length / 2));
    const res = await f.call('GET', '/v2/_catalog?n=2&last=order/a');
    assert.deepEqual(res.json.repositories, ['order/a-b', 'order/a.b']);
    assert.equal(header(res.headers, 'link'), '</v2/_catalog?n=2&last=order%2Fa.b>; rel="next"');
    // `last` need not be a repository that exists.
    assert.deepEqual((await f.call('GET', '/v2/_catalog?n=3&last=order/a/a')).json.repositories, ['order/a/b', 'order/a/b/c', 'order/ab']);
  });

  it('a page is filled with what the caller may pull; the last one has no Link', async () => {
    const first = await f.call('GET', '/v2/_catalog?n=1', { as: 'alice' });
    assert.deepEqual(first.json.repositories, ['alice/one']);
    assert.equal(header(first.headers, 'link'), '</v2/_catalog?n=1&last=alice%2Fone>; rel="next"');
    const second = await f.call('GET', '/v2/_catalog?n=1&last=alice/one', { as: 'alice' });
    assert.deepEqual(second.json.repositories, ['alice/two']);
    assert.equal(header(second.headers, 'link'), undefined, 'nothing alice may pull follows');
    assert.deepEqual((await walkCatalog(f, '/v2/_catalog?n=1', 'alice')).names, ['alice/one', 'alice/two']);
  });

  it('n=0 is an empty page; a bad n or last is 400 UNSUPPORTED', async () => {
    const empty = await f.call('GET', '/v2/_catalog?n=0');
    assert.deepEqual(empty.json.repositories, []);
    assert.equal(header(empty.headers, 'link'), undefined);
    for (const query of ['n=-1', 'n=x', 'last=..%2Fx', 'last=A']) {
      const res = await f.call('GET', `/v2/_catalog?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.code, 'UNSUPPORTED');
    }
  });
});

describe('oci catalog: entries of the old layout (oci/catalog/{encoded name}) move at start-up', () => {
  it('two instances starting at once move them once; the catalog lists them in order', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-oci-catalog-'));
    try {
      const legacyDir = path.join(dir, 'oci', 'catalog');
      await fsp.mkdir(legacyDir, { recursive: true });
      for (const name of ['legacy/app', 'legacy-app', 'legacy/app/sub']) {
        await fsp.writeFile(path.join(legacyDir, encodeURIComponent(name)), JSON.stringify({ name, createdAt: '2026-01-01T00:00:00.000Z' }));
      }
      const [one, two] = await Promise.all([createOciFixture({ dataDir: dir }), createOciFixture({ dataDir: dir })]);
      try {
        for (const instance of [one, two]) {
          assert.deepEqual((await instance.call('GET', '/v2/_catalog')).json.repositories, ['legacy-app', 'legacy/app', 'legacy/app/sub']);
        }
        assert.deepEqual(await fsp.readdir(legacyDir).catch(() => []), [], 'the old entries are gone');
        assert.ok((await fsp.stat(path.join(dir, 'oci', 'names', 'legacy', 'app,'))).isFile());
        // A pushed repository joins them in order.
        await one.pushBlob('legacy/app-b', 'x');
        assert.deepEqual((await two.call('GET', '/v2/_catalog')).json.repositories, ['legacy-app', 'legacy/app', 'legacy/app-b', 'legacy/app/sub']);
      } finally {
        await one.cleanup();
        await two.cleanup();
      }
      // A later start finds nothing to move and changes nothing.
      const three = await createOciFixture({ dataDir: dir });
      try {
        assert.deepEqual((await three.call('GET', '/v2/_catalog')).json.repositories, ['legacy-app', 'legacy/app', 'legacy/app-b', 'legacy/app/sub']);
      } finally {
        await three.cleanup();
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
