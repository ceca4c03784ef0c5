/**
 * npm publish bodies stream: the tarball goes from the request body to storage while the body is
 * read (base64 decoded and hashed on the way), only the rest of the document is kept. Memory is not
 * asserted here (tests never do); `bench/npm-publish-rss.ts` measures it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { NpmRegistry } from '../../ts/npm/classes.npmregistry.js';
import { createNpmRegistry, publishBody, readResponse, type INpmTestRegistry } from './fixtures.js';

const MIB = 1024 * 1024;
/** A multiple of 3: the base64 of each chunk joins the next without padding. */
const CHUNK_BYTES = 3 * 256 * 1024;

/** The same pseudo-random bytes every time (AES-CTR keystream), `total` of them, chunk by chunk. */
function* deterministicBytes(total: number): Generator<Buffer> {
  const cipher = crypto.createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16, 1));
  for (let sent = 0; sent < total; sent += CHUNK_BYTES) yield cipher.update(Buffer.alloc(Math.min(CHUNK_BYTES, total - sent)));
}

function digestsOf(total: number) {
  const sha1 = crypto.createHash('sha1');
  const sha512 = crypto.createHash('sha512');
  for (const chunk of deterministicBytes(total)) {
    sha1.update(chunk);
    sha512.update(chunk);
  }
  return { shasum: sha1.digest('hex'), integrity: `sha512-${sha512.digest('base64')}` };
}

/** A publish body as npm sends it (manifest first, attachment last), generated while it is read. */
function streamedPublishBody(name: string, version: string, total: number, dist: { shasum: string; integrity: string }): Readable {
  const head = JSON.stringify({
    _id: name,
    name,
    'dist-tags': { latest: version },
    versions: { [version]: { name, version, dist: { ...dist, tarball: `https://registry.example.com/npm/${name}/-/${name}-${version}.tgz` } } },
  }).slice(0, -1);
  async function* body() {
    yield Buffer.from(`${head},"_attachments":{"${name}-${version}.tgz":{"content_type":"application/octet-stream","data":"`);
    for (const chunk of deterministicBytes(total)) yield Buffer.from(chunk.toString('base64'));
    yield Buffer.from(`","length":${total}}}}`);
  }
  return Readable.from(body(), { objectMode: false });
}

describe('npm: publish bodies stream', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry({ npm: { limits: { maxArtifactBytes: 512 * MIB } } });
  });
  after(() => r.close());

  const put = (path: string, body: Readable) =>
    r.registry.handleRequest({ method: 'PUT', path, query: {}, headers: { host: 'registry.example.com', authorization: `Bearer ${r.tokens.alice}`, 'content-type': 'application/json' }, body });

  it('a 200 MiB tarball publishes from a stream and reads back byte-identical', async () => {
    const total = 200 * MIB;
    const dist = digestsOf(total);
    const published = await readResponse(await put('/npm/big-stream', streamedPublishBody('big-stream', '1.0.0', total, dist)));
    assert.equal(published.status, 201, published.text);

    const doc = (await r.request('GET', '/npm/big-stream')).json;
    assert.equal(doc.versions['1.0.0'].dist.shasum, dist.shasum);
    assert.equal(doc.versions['1.0.0'].dist.integrity, dist.integrity);

    const response = await r.registry.handleRequest({ method: 'GET', path: '/npm/big-stream/-/big-stream-1.0.0.tgz', query: {}, headers: { authorization: `Bearer ${r.tokens.alice}` } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['Content-Length'], String(total));
    const expected = deterministicBytes(total);
    const sha512 = crypto.createHash('sha512');
    let pending = Buffer.alloc(0);
    let received = 0;
    // Compared chunk by chunk against the generator, so neither side is held whole.
    for await (const chunk of Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>)) {
      sha512.update(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= CHUNK_BYTES || (received + pending.length === total && pending.length > 0)) {
        const next = expected.next().value as Buffer;
        assert.ok(pending.subarray(0, next.length).equals(next), `bytes differ after ${received}`);
        pending = pending.subarray(next.length);
        received += next.length;
      }
    }
    assert.equal(received, total);
    assert.equal(`sha512-${sha512.digest('base64')}`, dist.integrity);
  });

  it('a digest mismatch found while streaming stores nothing, also when the manifest comes after the attachment', async () => {
    const before = await r.keys();
    const total = 3 * MIB;
    const wrong = { shasum: '0'.repeat(40), integrity: digestsOf(total).integrity };
    const refused = await readResponse(await put('/npm/mismatch', streamedPublishBody('mismatch', '1.0.0', total, wrong)));
    assert.equal(refused.status, 400);
    assert.match(refused.json.error, /shasum mismatch/);
    assert.deepEqual(await r.keys(), before);

    // Attachments first: the digests are checked once the manifest arrives, and the stored tarball goes again.
    const { body } = await publishBody('late', '1.0.0');
    body.versions['1.0.0'].dist.integrity = `sha512-${crypto.createHash('sha512').update('other').digest('base64')}`;
    const reordered = JSON.stringify({ _attachments: body._attachments, name: 'late', versions: body.versions, 'dist-tags': body['dist-tags'] });
    const late = await readResponse(await put('/npm/late', Readable.from([Buffer.from(reordered)])));
    assert.equal(late.status, 400);
    assert.match(late.json.error, /integrity mismatch/);
    assert.deepEqual(await r.keys(), before);
  });

  it('attachments first with matching digests publish normally', async () => {
    const { body, tarball } = await publishBody('early', '1.0.0');
    const reordered = JSON.stringify({ _attachments: body._attachments, name: 'early', versions: body.versions, 'dist-tags': body['dist-tags'] });
    const published = await readResponse(await put('/npm/early', Readable.from([Buffer.from(reordered)])));
    assert.equal(published.status, 201, published.text);
    assert.deepEqual((await r.request('GET', '/npm/early/-/early-1.0.0.tgz')).bytes, tarball);
  });

  it('a body cut off inside the attachment is malformed JSON and stores nothing', async () => {
    const before = await r.keys();
    const total = 2 * MIB;
    const whole = streamedPublishBody('cut', '1.0.0', total, digestsOf(total));
    async function* firstMiB() {
      let sent = 0;
      for await (const chunk of whole) {
        if (sent > MIB) break;
        sent += chunk.length;
        yield chunk;
      }
    }
    const refused = await readResponse(await put('/npm/cut', Readable.from(firstMiB(), { objectMode: false })));
    assert.equal(refused.status, 400);
    assert.match(refused.json.error, /malformed JSON/);
    assert.deepEqual(await r.keys(), before);
  });
});

describe('npm: publishes in flight are capped', () => {
  let r: INpmTestRegistry;
  before(async () => {
    r = await createNpmRegistry({
      registryOptions: { protocolFactories: { npm: (deps) => new NpmRegistry(deps, { maxConcurrentPublishes: 1, maxWaitingPublishes: 1 }) } },
    });
  });
  after(() => r.close());

  it('one publish runs, one waits with its body unread, the next is refused with 429 in npm shape', async () => {
    const put = (name: string, body: Readable) =>
      r.registry.handleRequest({ method: 'PUT', path: `/npm/${name}`, query: {}, headers: { authorization: `Bearer ${r.tokens.alice}` }, body });
    const bodies = await Promise.all(['first', 'second', 'third'].map(async (name) => Buffer.from(JSON.stringify((await publishBody(name, '1.0.0')).body))));
    const held = [new PassThrough(), new PassThrough()];
    held[0].write(bodies[0].subarray(0, 10)); // the first publish is reading its body
    const first = put('first', held[0]);
    const second = put('second', held[1]);
    const before = await r.keys();
    const third = await readResponse(await put('third', Readable.from([bodies[2]])));
    assert.equal(third.status, 429);
    assert.deepEqual(third.json, { error: 'the server is busy with other publishes; try again in a moment' });
    assert.equal(third.headers['retry-after'], '1');
    assert.deepEqual(await r.keys(), before, 'nothing stored for the refused publish');
    assert.equal(held[1].readableDidRead, false, 'the waiting publish has not read its body');
    held[0].end(bodies[0].subarray(10));
    held[1].end(bodies[1]);
    assert.equal((await readResponse(await first)).status, 201);
    assert.equal((await readResponse(await second)).status, 201);
    assert.equal((await readResponse(await put('third', Readable.from([bodies[2]])))).status, 201, 'a retry gets through');
  });
});
