import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { coreMetadata, createPypiRegistry, digestsOf, makeSdist, makeWheel, type IPypiTestRegistry } from './fixtures.js';

const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

describe('pypi: upload and the simple index', () => {
  let r: IPypiTestRegistry;
  let wheel: { filename: string; bytes: Buffer };
  let sdist: { filename: string; bytes: Buffer };
  before(async () => {
    r = await createPypiRegistry();
    wheel = await makeWheel('Demo_Pkg', '1.0.0', { requiresPython: '>=3.8,<4' });
    sdist = await makeSdist('Demo_Pkg', '1.0.0', { requiresPython: '>=3.8,<4' });
  });
  after(() => r.close());

  it('accepts a wheel and an sdist of one release', async () => {
    const first = await r.upload('Demo_Pkg', '1.0.0', wheel, { extra: [['requires_python', '>=3.8,<4']] });
    assert.equal(first.status, 200, first.text);
    const second = await r.upload('Demo_Pkg', '1.0.0', sdist, { extra: [['requires_python', '>=3.8,<4']] });
    assert.equal(second.status, 200, second.text);
    const keys = await r.keys();
    assert.equal(keys.filter((key) => key.startsWith('pypi/projects/demo-pkg/files/')).length, 2);
    assert.equal(keys.filter((key) => key.startsWith('pypi/projects/demo-pkg/metadata/')).length, 0, 'a metadata file is read from its wheel, not stored');
    assert.ok(keys.includes('pypi/names/demo-pkg'));
  });

  it('serves PEP 503 HTML with hashes, escaped requires-python and PEP 658/714 metadata attributes', async () => {
    const res = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers.vary, 'Accept');
    const wheelDigest = (await digestsOf(wheel.bytes)).sha256;
    const metadataDigest = crypto.createHash('sha256').update(coreMetadata('Demo_Pkg', '1.0.0', { requiresPython: '>=3.8,<4' })).digest('hex');
    assert.match(res.text, /<meta name="pypi:repository-version" content="1.1">/);
    assert.ok(
      res.text.includes(
        `<a href="http://registry.example.com/pypi/packages/demo-pkg/${wheel.filename}#sha256=${wheelDigest}" data-requires-python="&gt;=3.8,&lt;4" ` +
          `data-core-metadata="sha256=${metadataDigest}" data-dist-info-metadata="sha256=${metadataDigest}">${wheel.filename}</a>`,
      ),
      res.text,
    );
    assert.ok(res.text.includes(`>${sdist.filename}</a>`));
    assert.ok(!res.text.includes(`data-core-metadata="sha256=${metadataDigest}" data-dist-info-metadata="sha256=${metadataDigest}">${sdist.filename}`));
  });

  it('serves PEP 691 JSON with PEP 700 fields when asked the way pip asks', async () => {
    const res = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept: PIP_ACCEPT } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], JSON_TYPE);
    const doc = res.json;
    assert.deepEqual(doc.meta, { 'api-version': '1.1' });
    assert.equal(doc.name, 'demo-pkg');
    assert.deepEqual(doc.versions, ['1.0.0']);
    assert.equal(doc.files.length, 2);
    const [whl, tgz] = doc.files;
    assert.equal(whl.filename, wheel.filename);
    assert.equal(whl.size, wheel.bytes.length);
    assert.equal(whl.hashes.sha256, (await digestsOf(wheel.bytes)).sha256);
    assert.equal(whl['requires-python'], '>=3.8,<4');
    assert.match(whl['upload-time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    assert.equal(whl.yanked, false);
    assert.equal('dist-info-metadata' in whl, false, 'PEP 714: the old key breaks pip 22.3-23.1');
    assert.match(whl['core-metadata'].sha256, /^[0-9a-f]{64}$/);
    assert.equal(tgz['core-metadata'], false);
  });

  it('chooses the form by q-values, 406 when nothing is acceptable', async () => {
    const cases: [string | undefined, number, string?][] = [
      [undefined, 200, 'text/html; charset=utf-8'],
      ['*/*', 200, 'text/html; charset=utf-8'],
      ['application/vnd.pypi.simple.v1+html', 200, 'application/vnd.pypi.simple.v1+html'],
      ['application/vnd.pypi.simple.v1+json;q=0.2, text/html;q=0.9', 200, 'text/html; charset=utf-8'],
      ['application/vnd.pypi.simple.v1+json;q=0.9, text/html;q=0.2', 200, JSON_TYPE],
      ['application/vnd.pypi.simple.latest+json', 200, JSON_TYPE],
      ['application/vnd.pypi.simple.v1+json;q=0, text/html', 200, 'text/html; charset=utf-8'],
      ['application/json', 406],
      ['text/html;q=0', 406],
    ];
    for (const [accept, status, type] of cases) {
      const res = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: accept ? { accept } : {} });
      assert.equal(res.status, status, `Accept: ${accept}`);
      if (type) assert.equal(res.headers['content-type'], type, `Accept: ${accept}`);
    }
  });

  it('redirects non-normalised names and a missing slash to the normalised URL', async () => {
    for (const path of ['/pypi/simple/Demo_Pkg/', '/pypi/simple/DEMO.pkg/', '/pypi/simple/demo-pkg', '/pypi/simple/Demo__Pkg']) {
      const res = await r.request('GET', path);
      assert.equal(res.status, 301, path);
      assert.equal(res.headers.location, 'http://registry.example.com/pypi/simple/demo-pkg/');
    }
    const root = await r.request('GET', '/pypi/simple');
    assert.equal(root.headers.location, 'http://registry.example.com/pypi/simple/');
  });

  it('answers 304 to the ETag of either form', async () => {
    for (const accept of ['text/html', JSON_TYPE]) {
      const first = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept } });
      const again = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept, 'if-none-match': first.headers.etag } });
      assert.equal(again.status, 304);
      assert.equal(again.bytes.length, 0);
    }
    const html = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept: 'text/html' } });
    const json = await r.request('GET', '/pypi/simple/demo-pkg/', { headers: { accept: JSON_TYPE } });
    assert.notEqual(html.headers.etag, json.headers.etag);
  });

  it('lists projects in the root index, both forms', async () => {
    const html = await r.request('GET', '/pypi/simple/');
    assert.match(html.text, /<a href="http:\/\/registry.example.com\/pypi\/simple\/demo-pkg\/">demo-pkg<\/a>/);
    const json = await r.request('GET', '/pypi/simple/', { headers: { accept: JSON_TYPE } });
    assert.deepEqual(json.json.projects, [{ name: 'demo-pkg' }]);
  });

  it('serves the files and the wheel METADATA file, with Range and 304', async () => {
    const res = await r.request('GET', `/pypi/packages/demo-pkg/${wheel.filename}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.bytes, wheel.bytes);
    const range = await r.request('GET', `/pypi/packages/demo-pkg/${wheel.filename}`, { headers: { range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.deepEqual(range.bytes, wheel.bytes.subarray(10, 20));
    assert.equal(range.headers['content-range'], `bytes 10-19/${wheel.bytes.length}`);
    const again = await r.request('GET', `/pypi/packages/demo-pkg/${wheel.filename}`, { headers: { 'if-none-match': res.headers.etag } });
    assert.equal(again.status, 304);
    const metadata = await r.request('GET', `/pypi/packages/demo-pkg/${wheel.filename}.metadata`);
    assert.equal(metadata.status, 200);
    assert.equal(metadata.text, coreMetadata('Demo_Pkg', '1.0.0', { requiresPython: '>=3.8,<4' }));
    const none = await r.request('GET', `/pypi/packages/demo-pkg/${sdist.filename}.metadata`);
    assert.equal(none.status, 404);
    const sdistBytes = await r.request('GET', `/pypi/packages/demo-pkg/${sdist.filename}`);
    assert.deepEqual(sdistBytes.bytes, sdist.bytes);
  });

  it('accepts a wheel larger than the tail kept in memory: its METADATA read from storage once the wheel is stored', async () => {
    const large = await makeWheel('Large_Pkg', '2.0', { extraEntries: [{ name: 'large_pkg/data.bin', data: crypto.randomBytes(300 * 1024), method: 'stored' }] });
    const res = await r.upload('Large_Pkg', '2.0', large);
    assert.equal(res.status, 200, res.text);
    const metadata = await r.request('GET', `/pypi/packages/large-pkg/${large.filename}.metadata`);
    assert.equal(metadata.status, 200);
    assert.equal(metadata.text, coreMetadata('Large_Pkg', '2.0'));
    const stored = await r.request('GET', `/pypi/packages/large-pkg/${large.filename}`);
    assert.deepEqual(stored.bytes, large.bytes);
    const wrongVersion = await makeWheel('Large_Pkg', '2.1', { metadataVersion: '9.9', extraEntries: [{ name: 'large_pkg/data.bin', data: crypto.randomBytes(300 * 1024), method: 'stored' }] });
    const before = await r.keys();
    const refused = await r.upload('Large_Pkg', '2.1', wrongVersion);
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.json.message, /METADATA says version "9.9", not 2.1/);
    assert.deepEqual(await r.keys(), before, 'the refused wheel is removed once stored');
  });

  it('serves a PEP 658 file as the other documents: read from its wheel once, then validators, 304 and ranges from memory', async () => {
    const backend = r.registry.getStorage().getBackend();
    const realGet = backend.get.bind(backend);
    let metadataReads = 0;
    backend.get = async (key, range) => {
      if (key.startsWith('pypi/projects/demo-pkg/files/')) metadataReads++;
      return realGet(key, range);
    };
    try {
      const target = `/pypi/packages/demo-pkg/${wheel.filename}.metadata`;
      const text = coreMetadata('Demo_Pkg', '1.0.0', { requiresPython: '>=3.8,<4' });
      const first = await r.request('GET', target);
      const readsOfFirst = metadataReads;
      const second = await r.request('GET', target);
      assert.equal(second.text, text);
      assert.equal(second.headers.etag, first.headers.etag);
      assert.ok(second.headers['last-modified']);
      const unchanged = await r.request('GET', target, { headers: { 'if-none-match': first.headers.etag } });
      assert.equal(unchanged.status, 304);
      const part = await r.request('GET', target, { headers: { range: 'bytes=0-7' } });
      assert.equal(part.status, 206);
      assert.equal(part.text, text.slice(0, 8));
      assert.equal(metadataReads, readsOfFirst, 'later GETs are served from memory');
    } finally {
      backend.get = realGet;
    }
  });

  it('answers a PEP 658 file whose stored wheel no longer holds that METADATA with 500 "damaged", storage unchanged', async () => {
    const other = await makeWheel('Damaged_Pkg', '1.0');
    assert.equal((await r.upload('Damaged_Pkg', '1.0', other)).status, 200);
    const stored = (await r.keys()).find((key) => key.startsWith('pypi/projects/damaged-pkg/files/'))!;
    const replacement = await makeWheel('Damaged_Pkg', '1.0', { requiresPython: '>=3.12' });
    await r.registry.getStorage().getBackend().put(stored, replacement.bytes);
    const keys = await r.keys();
    const res = await r.request('GET', `/pypi/packages/damaged-pkg/${other.filename}.metadata`);
    assert.equal(res.status, 500);
    assert.match(res.text, /damaged/);
    assert.deepEqual(await r.keys(), keys);
  });

  it('refuses a second upload of a file name with 400 "File already exists", storage unchanged', async () => {
    const before = await r.keys();
    const res = await r.upload('Demo_Pkg', '1.0.0', wheel);
    assert.equal(res.status, 400);
    assert.match(res.json.message, /^File already exists/);
    assert.match(res.headers['content-type'], /json/);
    const after = await r.keys();
    assert.deepEqual(after, before);
  });

  it('refuses the same file under another spelling of its name or version (case, separators, 1.0 for 1.0.0)', async () => {
    const before = await r.keys();
    for (const filename of ['DEMO_PKG-1.0.0-py3-none-any.whl', 'demo.pkg-1.0-py3-none-any.whl', 'Demo_Pkg-1.0.0.0-py3-none-any.whl']) {
      const res = await r.upload('Demo_Pkg', '1.0.0', { filename, bytes: wheel.bytes });
      assert.equal(res.status, 400, `${filename}: ${res.text}`);
      assert.match(res.json.message, /^File already exists/);
    }
    assert.deepEqual(await r.keys(), before);
  });

  it('serves the JSON API for the project and for one release', async () => {
    const second = await makeWheel('Demo_Pkg', '1.1.0');
    assert.equal((await r.upload('Demo_Pkg', '1.1.0', second)).status, 200);
    const res = await r.request('GET', '/pypi/pypi/demo-pkg/json');
    assert.equal(res.status, 200);
    const doc = res.json;
    assert.equal(doc.info.name, 'Demo_Pkg');
    assert.equal(doc.info.version, '1.1.0');
    assert.deepEqual(doc.info.classifiers, ['Programming Language :: Python :: 3', 'License :: OSI Approved :: MIT License']);
    assert.deepEqual(doc.info.requires_dist, ['requests>=2']);
    assert.deepEqual(doc.info.project_urls, { Source: 'https://registry.example.com/source' });
    assert.deepEqual(Object.keys(doc.releases), ['1.0.0', '1.1.0']);
    assert.equal(doc.releases['1.0.0'].length, 2);
    assert.equal(doc.urls.length, 1);
    assert.equal(doc.urls[0].filename, second.filename);
    const digests = await digestsOf(second.bytes);
    assert.deepEqual(doc.urls[0].digests, { sha256: digests.sha256, md5: digests.md5, blake2b_256: digests.blake2_256 });
    const release = await r.request('GET', '/pypi/pypi/demo-pkg/1.0.0/json');
    assert.equal(release.json.info.version, '1.0.0');
    assert.equal(release.json.urls.length, 2);
    assert.equal(release.json.releases, undefined);
    assert.equal((await r.request('GET', '/pypi/pypi/demo-pkg/9.9/json')).status, 404);
    assert.equal((await r.request('GET', '/pypi/pypi/nothing-here/json')).status, 404);
    const moved = await r.request('GET', '/pypi/pypi/Demo_Pkg/json');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, 'http://registry.example.com/pypi/pypi/demo-pkg/json');
  });
});
