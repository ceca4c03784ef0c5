/** A page of tags in the middle of a large repository reads only that page from storage. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOciFixture, header, type IOciFixture } from './oci.fixtures.js';
import { ociPaths } from '../../ts/core/storage.paths.js';

const TAG_COUNT = 2000;
const tagName = (i: number) => `t${String(i).padStart(4, '0')}`;

describe('oci: paginated tag lists', () => {
  let f: IOciFixture;
  const reads = { calls: 0, objects: 0 };
  before(async () => {
    f = await createOciFixture();
    const pushed = await f.pushImage('pages/app', 'seed');
    const backend = f.registry.getStorage().getBackend();
    const record = Buffer.from(JSON.stringify({ digest: pushed.digest }));
    for (let i = 0; i < TAG_COUNT; i++) await backend.put(ociPaths.tag('pages/app', tagName(i)), record);
    // Wrap the real backend's list to count what a request reads.
    const realList = backend.list.bind(backend);
    backend.list = async (prefix, options) => {
      const result = await realList(prefix, options);
      reads.calls++;
      reads.objects += result.objects.length;
      return result;
    };
  });
  after(() => f.cleanup());

  it('n=10 after a tag in the middle reads one list call of n+1 keys', async () => {
    reads.calls = 0;
    reads.objects = 0;
    const res = await f.call('GET', `/v2/pages/app/tags/list?n=10&last=${tagName(1000)}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.tags, Array.from({ length: 10 }, (_, i) => tagName(1001 + i)));
    assert.equal(header(res.headers, 'link'), `</v2/pages/app/tags/list?n=10&last=${tagName(1010)}>; rel="next"`);
    assert.equal(reads.calls, 1);
    assert.equal(reads.objects, 11);
  });

  it('the last page has no Link and reads only what is left', async () => {
    reads.objects = 0;
    const res = await f.call('GET', `/v2/pages/app/tags/list?n=10&last=${tagName(TAG_COUNT - 3)}`);
    assert.deepEqual(res.json.tags, [tagName(TAG_COUNT - 2), tagName(TAG_COUNT - 1)]);
    assert.equal(header(res.headers, 'link'), undefined);
    assert.equal(reads.objects, 2);
  });

  it('a last that is no tag is a 400 in OCI error JSON, before any listing', async () => {
    reads.calls = 0;
    const res = await f.call('GET', `/v2/pages/app/tags/list?last=${'x'.repeat(129)}`);
    assert.equal(res.status, 400);
    assert.equal(res.code, 'UNSUPPORTED');
    const bad = await f.call('GET', '/v2/pages/app/tags/list?last=..%2Fetc');
    assert.equal(bad.status, 400);
    assert.equal(reads.calls, 0);
  });
});
