/** Conformance area "content discovery" through handleRequest: tags list, catalog, referrers. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOciFixture, header, sha256, type IOciFixture } from './oci.fixtures.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

describe('oci conformance: content discovery', () => {
  let f: IOciFixture;
  let subject: Awaited<ReturnType<IOciFixture['pushImage']>>;
  const tags = ['1.0', '1.1', '2.0', 'Latest', '_private', 'latest', 'v10', 'v9'];

  before(async () => {
    f = await createOciFixture();
    subject = await f.pushImage('disco/app', tags[0]);
    for (const tag of tags.slice(1)) {
      const res = await f.pushManifest('disco/app', tag, subject.bytes, OCI_MANIFEST);
      assert.equal(res.status, 201);
    }
    await f.pushImage('disco/other', 'x');
    await f.pushImage('alice/private', 'x');
  });
  after(() => f.cleanup());

  it('tags list: all tags in byte order', async () => {
    const res = await f.call('GET', '/v2/disco/app/tags/list');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { name: 'disco/app', tags: [...tags].sort() });
    assert.equal(header(res.headers, 'link'), undefined);
  });

  it('tags list with n and last, following Link headers to the end', async () => {
    const sorted = [...tags].sort();
    const seen: string[] = [];
    let next: string | undefined = '/v2/disco/app/tags/list?n=3';
    let pages = 0;
    while (next) {
      const res = await f.call('GET', next);
      assert.equal(res.status, 200);
      assert.ok(res.json.tags.length <= 3);
      seen.push(...res.json.tags);
      const link = header(res.headers, 'link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      pages++;
    }
    assert.deepEqual(seen, sorted);
    assert.equal(pages, 3);
    const after = await f.call('GET', `/v2/disco/app/tags/list?n=2&last=${sorted[5]}`);
    assert.deepEqual(after.json.tags, sorted.slice(6, 8));
    assert.equal(header(after.headers, 'link'), undefined);
    const none = await f.call('GET', '/v2/disco/app/tags/list?n=0');
    assert.deepEqual(none.json.tags, []);
    assert.equal(header(none.headers, 'link'), undefined);
    const lastOnly = await f.call('GET', `/v2/disco/app/tags/list?last=${sorted[6]}`);
    assert.deepEqual(lastOnly.json.tags, [sorted[7]]);
  });

  it('tags list of an unknown repository is NAME_UNKNOWN; a bad n is a 400', async () => {
    let res = await f.call('GET', '/v2/disco/nothing/tags/list');
    assert.equal(res.status, 404);
    assert.equal(res.code, 'NAME_UNKNOWN');
    res = await f.call('GET', '/v2/disco/app/tags/list?n=-3');
    assert.equal(res.status, 400);
  });

  it('catalog lists the repositories the caller may pull, with n/last pagination', async () => {
    let res = await f.call('GET', '/v2/_catalog');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.repositories, ['alice/private', 'disco/app', 'disco/other']);
    res = await f.call('GET', '/v2/_catalog?n=1');
    assert.deepEqual(res.json.repositories, ['alice/private']);
    assert.equal(header(res.headers, 'link'), '</v2/_catalog?n=1&last=alice%2Fprivate>; rel="next"');
    res = await f.call('GET', '/v2/_catalog?n=5&last=alice/private');
    assert.deepEqual(res.json.repositories, ['disco/app', 'disco/other']);
    res = await f.call('GET', '/v2/_catalog', { as: 'alice' });
    assert.deepEqual(res.json.repositories, ['alice/private']);
    res = await f.call('GET', '/v2/_catalog', { as: null });
    assert.equal(res.status, 401);
    assert.match(header(res.headers, 'www-authenticate')!, /scope="registry:catalog:\*"/);
  });

  describe('referrers', () => {
    const signatureType = 'application/vnd.example.signature.v1';
    const sbomType = 'application/vnd.example.sbom.v1';
    let empty: string;
    const referrers: Record<string, { digest: string; size: number }> = {};

    before(async () => {
      empty = await f.pushBlob('disco/app', '{}');
      const artifact = (artifactType: string | undefined, annotations: Record<string, string>, configType = 'application/vnd.oci.empty.v1+json') => ({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        ...(artifactType ? { artifactType } : {}),
        config: { mediaType: configType, digest: empty, size: 2 },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
        annotations,
      });
      const docs = {
        signature: artifact(signatureType, { 'org.example.signed-by': 'test' }),
        sbom: artifact(sbomType, { 'org.example.format': 'spdx' }),
        byConfig: artifact(undefined, { 'org.example.kind': 'config-typed' }, 'application/vnd.example.config.v1+json'),
        index: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length }, annotations: { 'org.example.kind': 'index' } },
      };
      for (const [key, doc] of Object.entries(docs)) {
        const bytes = Buffer.from(JSON.stringify(doc));
        const res = await f.pushManifest('disco/app', sha256(bytes), bytes, doc.mediaType);
        assert.equal(res.status, 201, res.body.toString());
        assert.equal(header(res.headers, 'oci-subject'), subject.digest);
        referrers[key] = { digest: sha256(bytes), size: bytes.length };
      }
    });

    it('lists every manifest whose subject is the digest, as an image index', async () => {
      const res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}`);
      assert.equal(res.status, 200);
      assert.equal(header(res.headers, 'content-type'), OCI_INDEX);
      assert.equal(header(res.headers, 'oci-filters-applied'), undefined);
      assert.equal(res.json.schemaVersion, 2);
      assert.equal(res.json.mediaType, OCI_INDEX);
      const byDigest = Object.fromEntries(res.json.manifests.map((d: { digest: string }) => [d.digest, d]));
      assert.equal(res.json.manifests.length, 4);
      assert.deepEqual(byDigest[referrers.signature.digest], {
        mediaType: OCI_MANIFEST,
        digest: referrers.signature.digest,
        size: referrers.signature.size,
        artifactType: signatureType,
        annotations: { 'org.example.signed-by': 'test' },
      });
      assert.equal(byDigest[referrers.byConfig.digest].artifactType, 'application/vnd.example.config.v1+json', 'falls back to the config media type');
      assert.equal(byDigest[referrers.index.digest].artifactType, undefined, 'an index without artifactType has none');
      assert.equal(byDigest[referrers.index.digest].mediaType, OCI_INDEX);
    });

    it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
      const res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?artifactType=${encodeURIComponent(sbomType)}`);
      assert.equal(res.status, 200);
      assert.equal(header(res.headers, 'oci-filters-applied'), 'artifactType');
      assert.deepEqual(res.json.manifests.map((d: { digest: string }) => d.digest), [referrers.sbom.digest]);
      const none = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?artifactType=application/vnd.example.none`);
      assert.deepEqual(none.json.manifests, []);
    });

    it('pages with n and last (a referrer digest) through Link, in digest order, the artifactType filter carried over', async () => {
      const all = Object.values(referrers).map((r) => r.digest).sort();
      const seen: string[] = [];
      let next: string | undefined = `/v2/disco/app/referrers/${subject.digest}?n=3`;
      const links: string[] = [];
      while (next) {
        const res = await f.call('GET', next);
        assert.equal(res.status, 200);
        seen.push(...res.json.manifests.map((d: { digest: string }) => d.digest));
        const link = header(res.headers, 'link');
        if (link) links.push(link);
        next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      }
      assert.deepEqual(seen, all, 'every referrer once, in digest order');
      assert.deepEqual(links, [`</v2/disco/app/referrers/${subject.digest}?n=3&last=${encodeURIComponent(all[2])}>; rel="next"`]);
      // A filtered page reads past the entries the filter drops: the one signature, and no Link (nothing after it matches).
      const filter = `artifactType=${encodeURIComponent(signatureType)}`;
      let res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?n=1&${filter}`);
      assert.deepEqual(res.json.manifests.map((d: { digest: string }) => d.digest), [referrers.signature.digest]);
      assert.equal(header(res.headers, 'link'), undefined);
      res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?n=1&last=${all[0]}`);
      assert.deepEqual(res.json.manifests.map((d: { digest: string }) => d.digest), [all[1]]);
      const zero = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?n=0`);
      assert.deepEqual(zero.json.manifests, [], 'n=0 is an empty page');
      assert.equal(header(zero.headers, 'link'), undefined);
      res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?last=not-a-digest`);
      assert.equal(res.status, 400);
      // A second signature: a filtered page of one now has a Link, and it keeps the filter.
      const second = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: signatureType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
        annotations: { 'org.example.signed-by': 'second' },
      }));
      assert.equal((await f.pushManifest('disco/app', sha256(second), second, OCI_MANIFEST)).status, 201);
      const signatures = [referrers.signature.digest, sha256(second)].sort();
      res = await f.call('GET', `/v2/disco/app/referrers/${subject.digest}?n=1&${filter}`);
      assert.deepEqual(res.json.manifests.map((d: { digest: string }) => d.digest), [signatures[0]]);
      const link = header(res.headers, 'link')!;
      assert.equal(link, `</v2/disco/app/referrers/${subject.digest}?n=1&last=${encodeURIComponent(signatures[0])}&${filter}>; rel="next"`);
      res = await f.call('GET', /^<([^>]+)>/.exec(link)![1]);
      assert.deepEqual(res.json.manifests.map((d: { digest: string }) => d.digest), [signatures[1]]);
      assert.equal(header(res.headers, 'link'), undefined);
    });

    it('an unknown subject has an empty list (never 404); a malformed digest is 400', async () => {
      let res = await f.call('GET', `/v2/disco/app/referrers/${sha256('unknown')}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.manifests, []);
      res = await f.call('GET', `/v2/disco/never-pushed/referrers/${sha256('unknown')}`);
      assert.equal(res.status, 200);
      res = await f.call('GET', '/v2/disco/app/referrers/sha256:nope');
      assert.equal(res.status, 400);
      assert.equal(res.code, 'DIGEST_INVALID');
    });

    it('referrers are per repository', async () => {
      const res = await f.call('GET', `/v2/disco/other/referrers/${subject.digest}`);
      assert.deepEqual(res.json.manifests, []);
    });
  });
});
