/**
 * The simple project page as kept in memory (rendered once per version of the project document, with its served
 * object and gzip form): validators, negotiation, gzip, HEAD and ranges as for any document, and never stale after
 * an upload through this instance, nor beyond the validation window after one through another instance.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { settle } from '../helpers/validationwindow.js';
import { assertHeadAndNotModifiedLikeGet } from '../helpers/headlikeget.js';
import { createPypiRegistry, makeWheel, type IPypiTestRegistry } from './fixtures.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
const PAGE = '/pypi/simple/kept-pkg/';

async function upload(r: IPypiTestRegistry, version: string) {
  const res = await r.upload('kept-pkg', version, await makeWheel('kept-pkg', version));
  assert.equal(res.status, 200, res.text);
}

/** The page as a gzip-asking client gets it once its compressed copy is made (off the event loop, on a later GET). */
async function gzipPage(r: IPypiTestRegistry, accept: string) {
  for (let turn = 0; turn < 500; turn++) {
    const res = await r.request('GET', PAGE, { headers: { accept, 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200, res.text);
    if (res.headers['content-encoding'] === 'gzip') return res;
    await sleep(10);
  }
  throw new Error('the page was never sent compressed');
}

const versionsOf = (body: Buffer) => JSON.parse(zlib.gunzipSync(body).toString('utf8')).versions as string[];

describe('pypi: the kept simple project page', () => {
  let r: IPypiTestRegistry;
  before(async () => {
    r = await createPypiRegistry();
    // Over the 1 KiB below which nothing is compressed.
    for (const version of ['1.0', '1.1', '1.2']) await upload(r, version);
  });
  after(() => r.close());

  it('sends the gzip form with a weak ETag and Vary on both headers; 304 to either tag', async () => {
    const plain = await r.request('GET', PAGE, { headers: { accept: PIP_ACCEPT } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'Accept');
    const zipped = await gzipPage(r, PIP_ACCEPT);
    assert.equal(zipped.headers['content-type'], JSON_TYPE);
    assert.equal(zipped.headers['cache-control'], 'no-cache');
    assert.equal(zipped.headers.vary, 'Accept, Accept-Encoding');
    assert.equal(zipped.headers.etag, `W/${plain.headers.etag}`);
    assert.equal(zipped.headers['content-length'], String(zipped.bytes.length));
    assert.deepEqual(zlib.gunzipSync(zipped.bytes), plain.bytes);
    const weak = await r.request('GET', PAGE, { headers: { accept: PIP_ACCEPT, 'accept-encoding': 'gzip', 'if-none-match': zipped.headers.etag } });
    assert.equal(weak.status, 304);
    assert.equal(weak.headers.etag, zipped.headers.etag);
    const strong = await r.request('GET', PAGE, { headers: { accept: PIP_ACCEPT, 'if-none-match': plain.headers.etag } });
    assert.equal(strong.status, 304);
    assert.equal(strong.headers.etag, plain.headers.etag);
    assert.equal(strong.headers['cache-control'], 'no-cache');
  });

  it('is a new page after an upload through this instance: new body, new tags, its own gzip form', async () => {
    const before = await gzipPage(r, JSON_TYPE);
    const html = await r.request('GET', PAGE, { headers: { accept: 'text/html' } });
    await upload(r, '1.3');
    const plain = await r.request('GET', PAGE, { headers: { accept: JSON_TYPE } });
    assert.deepEqual(plain.json.versions, ['1.0', '1.1', '1.2', '1.3']);
    assert.notEqual(`W/${plain.headers.etag}`, before.headers.etag);
    const stale = await r.request('GET', PAGE, { headers: { accept: JSON_TYPE, 'accept-encoding': 'gzip', 'if-none-match': before.headers.etag } });
    assert.equal(stale.status, 200, 'the tag of the page before the upload no longer matches');
    assert.deepEqual(versionsOf((await gzipPage(r, JSON_TYPE)).bytes), ['1.0', '1.1', '1.2', '1.3']);
    const newHtml = await r.request('GET', PAGE, { headers: { accept: 'text/html', 'if-none-match': html.headers.etag } });
    assert.equal(newHtml.status, 200);
    assert.match(newHtml.text, /kept_pkg-1\.3-py3-none-any\.whl/);
  });

  it('answers HEAD with the GET\'s validators and no body, and 304 to a HEAD with its tag', async () => {
    const get = await r.request('GET', PAGE, { headers: { accept: 'text/html' } });
    const head = await r.request('HEAD', PAGE, { headers: { accept: 'text/html' } });
    assert.equal(head.status, 200);
    assert.equal(head.bytes.length, 0);
    assert.equal(head.headers.etag, get.headers.etag);
    assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(head.headers['content-length'], String(get.bytes.length));
    assert.equal(head.headers.vary, 'Accept');
    const unchanged = await r.request('HEAD', PAGE, { headers: { accept: 'text/html', 'if-none-match': get.headers.etag } });
    assert.equal(unchanged.status, 304);
  });

  it('answers HEAD and 304 with the headers of the GET they stand for, gzip asked or not, in both forms', async () => {
    for (const accept of [JSON_TYPE, 'text/html']) {
      await assertHeadAndNotModifiedLikeGet((method, headers) => r.request(method, PAGE, { headers: { accept, ...headers } }));
    }
  });

  it('answers a Range of the page as any document: 206 with those bytes, 416 outside it', async () => {
    const whole = await r.request('GET', PAGE, { headers: { accept: JSON_TYPE } });
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    const part = await r.request('GET', PAGE, { headers: { accept: JSON_TYPE, range: 'bytes=0-9', 'accept-encoding': 'gzip' } });
    assert.equal(part.status, 206);
    assert.deepEqual(part.bytes, whole.bytes.subarray(0, 10));
    assert.equal(part.headers['content-range'], `bytes 0-9/${whole.bytes.length}`);
    const outside = await r.request('GET', PAGE, { headers: { accept: JSON_TYPE, range: `bytes=${whole.bytes.length}-` } });
    assert.equal(outside.status, 416);
  });

  it('keeps the JSON API per release too: a new latest release after an upload, each spelling of a version one page, gzip, 304', async () => {
    const api = '/pypi/pypi/kept-pkg/json';
    const before = await r.request('GET', api);
    assert.equal(before.json.info.version, '1.3');
    const older = await r.request('GET', '/pypi/pypi/kept-pkg/1.1/json');
    assert.equal(older.json.info.version, '1.1');
    assert.equal((await r.request('GET', '/pypi/pypi/kept-pkg/1.1.0/json')).headers.etag, older.headers.etag, '1.1.0 is release 1.1');
    assert.equal((await r.request('GET', '/pypi/pypi/kept-pkg/1.1/json', { headers: { 'if-none-match': older.headers.etag } })).status, 304);
    await upload(r, '1.4');
    const after = await r.request('GET', api, { headers: { 'if-none-match': before.headers.etag } });
    assert.equal(after.status, 200);
    assert.equal(after.json.info.version, '1.4');
    assert.ok(after.json.releases['1.4']);
    let zipped = await r.request('GET', api, { headers: { 'accept-encoding': 'gzip' } });
    for (let turn = 0; turn < 500 && zipped.headers['content-encoding'] !== 'gzip'; turn++) {
      await sleep(10);
      zipped = await r.request('GET', api, { headers: { 'accept-encoding': 'gzip' } });
    }
    assert.equal(zipped.headers.etag, `W/${after.headers.etag}`);
    assert.deepEqual(zlib.gunzipSync(zipped.bytes), after.bytes);
    assert.equal((await r.request('GET', '/pypi/pypi/kept-pkg/9.9/json')).status, 404);
  });

  it('answers 406 and 404 as before: nothing acceptable, no such project', async () => {
    assert.equal((await r.request('GET', PAGE, { headers: { accept: 'image/png' } })).status, 406);
    assert.equal((await r.request('GET', '/pypi/simple/no-such-pkg/', { headers: { accept: JSON_TYPE } })).status, 404);
  });

  it('answers a 304 of the project list (made per request) with the Vary and Cache-Control of its 200', async () => {
    // Over the 1 KiB below which nothing is compressed.
    for (let n = 0; n < 15; n++) {
      const res = await r.upload(`listed-${n}`, '1.0', await makeWheel(`listed-${n}`, '1.0'));
      assert.equal(res.status, 200, res.text);
    }
    const gzip = { accept: 'text/html', 'accept-encoding': 'gzip' };
    const list = await r.request('GET', '/pypi/simple/', { headers: gzip });
    assert.ok(list.bytes.length >= 1024, `${list.bytes.length} bytes`);
    assert.equal(list.headers.vary, 'Accept, Accept-Encoding');
    const notModified = await r.request('GET', '/pypi/simple/', { headers: { ...gzip, 'if-none-match': list.headers.etag } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.etag, list.headers.etag);
    assert.equal(notModified.headers.vary, list.headers.vary);
    assert.equal(notModified.headers['cache-control'], list.headers['cache-control']);
    const plain = await r.request('GET', '/pypi/simple/', { headers: { accept: 'text/html', 'if-none-match': list.headers.etag } });
    assert.equal(plain.status, 304);
    assert.equal(plain.headers.vary, 'Accept', 'not asking gzip: the Vary of the plain 200');
  });
});

describe('pypi: the kept simple project page, two instances on one directory', () => {
  let dir: string;
  let first: IPypiTestRegistry;
  let second: IPypiTestRegistry;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-pypi-page-'));
    first = await createPypiRegistry({ storage: { type: 'filesystem', path: dir } });
    second = await createPypiRegistry({ storage: { type: 'filesystem', path: dir } });
    for (const version of ['1.0', '1.1', '1.2']) await upload(first, version);
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('shows an upload through the other instance once the validation window has passed, in every form', async () => {
    const kept = await gzipPage(second, JSON_TYPE);
    const html = await second.request('GET', PAGE, { headers: { accept: 'text/html' } });
    assert.equal((await second.request('GET', '/pypi/pypi/kept-pkg/json')).json.info.version, '1.2');
    await upload(first, '1.3');
    await settle();
    const fresh = await second.request('GET', PAGE, { headers: { accept: JSON_TYPE, 'if-none-match': kept.headers.etag } });
    assert.equal(fresh.status, 200);
    assert.deepEqual(fresh.json.versions, ['1.0', '1.1', '1.2', '1.3']);
    assert.deepEqual(versionsOf((await gzipPage(second, JSON_TYPE)).bytes), ['1.0', '1.1', '1.2', '1.3']);
    const freshHtml = await second.request('GET', PAGE, { headers: { accept: 'text/html', 'if-none-match': html.headers.etag } });
    assert.equal(freshHtml.status, 200);
    assert.match(freshHtml.text, /kept_pkg-1\.3-py3-none-any\.whl/);
    assert.equal((await second.request('GET', '/pypi/pypi/kept-pkg/json')).json.info.version, '1.3');
  });
});
