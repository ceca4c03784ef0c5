/** The pure OCI format code, with fixed vectors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MEDIA_TYPE,
  bearerChallenge,
  expandActions,
  isValidName,
  isValidTag,
  nextPageLink,
  paginate,
  parseContentRange,
  parseDigest,
  parseManifest,
  parsePageRequest,
  parseRequestedScopes,
  referencedBlobs,
  referrerDescriptor,
  stripMediaTypeParameters,
  uploadRangeHeader,
} from '../../ts/oci/helpers.oci.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const D3 = `sha256:${'c'.repeat(64)}`;

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${error}`);
    return { code: error.code, status: error.status, message: error.message };
  }
  assert.fail('expected an error');
};

const manifestBytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('oci helpers: names, tags and digests', () => {
  it('accepts the spec name grammar, with several components', () => {
    for (const name of ['a', 'library/nginx', 'a/b/c', 'my-app', 'my--app', 'my_app', 'my__app', 'my.app', 'x0/y1.z2']) {
      assert.ok(isValidName(name), name);
    }
  });
  it('refuses names outside the grammar', () => {
    for (const name of ['', 'A', 'Library/nginx', '-a', 'a-', 'a/', '/a', 'a//b', 'a..b', 'a___b', 'a/../b', '_a', 'a b', 'a:b', `${'a'.repeat(256)}`]) {
      assert.ok(!isValidName(name), name);
    }
    assert.ok(isValidName('a'.repeat(255)));
    // Each `/` counts as three: the name's catalog entry stores it as %2F in one key segment.
    assert.ok(isValidName(`${'a'.repeat(251)}/b`));
    assert.ok(!isValidName(`${'a'.repeat(252)}/b`));
  });
  it('accepts tags [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}', () => {
    for (const tag of ['latest', 'v1.2.3', '_x', 'A-b_c.d', 'x'.repeat(128)]) assert.ok(isValidTag(tag), tag);
    for (const tag of ['', '.x', '-x', 'a/b', 'a:b', 'x'.repeat(129)]) assert.ok(!isValidTag(tag), tag);
  });
  it('parses sha256 and sha512 digests and refuses everything else', () => {
    assert.deepEqual(parseDigest(D1), { algorithm: 'sha256', hex: 'a'.repeat(64), digest: D1 });
    assert.equal(parseDigest(`sha512:${'0'.repeat(128)}`)?.algorithm, 'sha512');
    for (const bad of [`sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `sha256:${'g'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'sha256', ':abc', `sha512:${'a'.repeat(64)}`, undefined]) {
      assert.equal(parseDigest(bad as string), null, String(bad));
    }
  });
});

describe('oci helpers: ranges', () => {
  it('parses a PATCH Content-Range in the spec form and the bytes form', () => {
    assert.deepEqual(parseContentRange('0-1023'), { start: 0, end: 1023 });
    assert.deepEqual(parseContentRange('bytes 10-19/*'), { start: 10, end: 19 });
    assert.deepEqual(parseContentRange('bytes=10-19'), { start: 10, end: 19 });
    for (const bad of ['', '10', '10-', '-10', '20-10', 'a-b', '0-1-2']) assert.equal(parseContentRange(bad), null, bad);
  });
  it('formats the upload Range header', () => {
    assert.equal(uploadRangeHeader(0), '0-0');
    assert.equal(uploadRangeHeader(1), '0-0');
    assert.equal(uploadRangeHeader(1024), '0-1023');
  });
});

describe('oci helpers: pagination', () => {
  const tags = ['a', 'b', 'c', 'd', 'e'];
  it('returns n items after last, with the next marker while more remain', () => {
    assert.deepEqual(paginate(tags, {}, 100), { items: tags });
    assert.deepEqual(paginate(tags, { n: 2 }, 100), { items: ['a', 'b'], next: 'b' });
    assert.deepEqual(paginate(tags, { n: 2, last: 'b' }, 100), { items: ['c', 'd'], next: 'd' });
    assert.deepEqual(paginate(tags, { n: 2, last: 'd' }, 100), { items: ['e'] });
    assert.deepEqual(paginate(tags, { last: 'bb' }, 100), { items: ['c', 'd', 'e'] });
    assert.deepEqual(paginate(tags, { n: 0 }, 100), { items: [] });
    assert.deepEqual(paginate(tags, {}, 3), { items: ['a', 'b', 'c'], next: 'c' });
  });
  it('reads n and last from the query and refuses a bad n', () => {
    assert.deepEqual(parsePageRequest({ n: '5', last: 'x' }), { n: 5, last: 'x' });
    assert.equal(code(() => parsePageRequest({ n: '-1' })).status, 400);
    assert.equal(code(() => parsePageRequest({ n: 'abc' })).status, 400);
  });
  it('builds an RFC 8288 Link', () => {
    assert.equal(nextPageLink('/v2/a/tags/list', 2, 'b'), '</v2/a/tags/list?n=2&last=b>; rel="next"');
  });
});

describe('oci helpers: manifests', () => {
  const image = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 10 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 20 },
      { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: D3, size: 30, urls: ['https://registry.example.com/x'] },
    ],
    annotations: { 'org.example': 'yes' },
  };

  it('parses an OCI image manifest and lists the blobs it needs (not foreign layers)', () => {
    const parsed = parseManifest(manifestBytes(image), MEDIA_TYPE.ociManifest);
    assert.equal(parsed.kind, 'image');
    assert.equal(parsed.mediaType, MEDIA_TYPE.ociManifest);
    assert.deepEqual(referencedBlobs(parsed).map((d) => d.digest), [D1, D2]);
  });
  it('parses an OCI index, a Docker schema 2 manifest and a Docker manifest list', () => {
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [{ mediaType: MEDIA_TYPE.ociManifest, digest: D1, size: 5, platform: { os: 'linux', architecture: 'amd64' } }] };
    assert.equal(parseManifest(manifestBytes(index)).kind, 'index');
    const docker = { ...image, mediaType: MEDIA_TYPE.dockerManifest, annotations: undefined };
    assert.equal(parseManifest(manifestBytes(docker), MEDIA_TYPE.dockerManifest).mediaType, MEDIA_TYPE.dockerManifest);
    const list = { ...index, mediaType: MEDIA_TYPE.dockerManifestList };
    assert.equal(parseManifest(manifestBytes(list), `${MEDIA_TYPE.dockerManifestList}; charset=utf-8`).kind, 'index');
  });
  it('takes the media type from Content-Type or the structure when the body has none', () => {
    const { mediaType: _omit, ...bare } = image;
    assert.equal(parseManifest(manifestBytes(bare), MEDIA_TYPE.dockerManifest).mediaType, MEDIA_TYPE.dockerManifest);
    assert.equal(parseManifest(manifestBytes(bare), 'application/json').mediaType, MEDIA_TYPE.ociManifest);
    assert.equal(parseManifest(manifestBytes({ schemaVersion: 2, manifests: [] })).mediaType, MEDIA_TYPE.ociIndex);
  });
  it('refuses what is not a valid manifest with MANIFEST_INVALID', () => {
    const cases: [unknown, string?][] = [
      ['not json'],
      [[1, 2]],
      [{ ...image, schemaVersion: 3 }],
      [{ ...image, config: { mediaType: 'x', digest: D1, size: 1 } }],
      [{ ...image, config: { ...image.config, digest: 'sha256:abc' } }],
      [{ ...image, config: { ...image.config, size: -1 } }],
      [{ ...image, layers: undefined }],
      [{ ...image, layers: [{}] }],
      [{ ...image, annotations: { a: 1 } }],
      [{ ...image, mediaType: 'application/vnd.example.unknown+json' }],
      [image, MEDIA_TYPE.dockerManifest],
      [{ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [], layers: [] }],
    ];
    for (const [value, contentType] of cases) {
      const bytes = typeof value === 'string' ? Buffer.from(value) : manifestBytes(value);
      assert.equal(code(() => parseManifest(bytes, contentType)).code, 'MANIFEST_INVALID', JSON.stringify(value)?.slice(0, 80));
    }
    assert.equal(code(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d]))).code, 'MANIFEST_INVALID');
  });
  it('refuses Docker schema 1 as UNSUPPORTED', () => {
    assert.equal(code(() => parseManifest(manifestBytes({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }))).code, 'UNSUPPORTED');
  });
  it('describes a referrer: artifactType, else the config media type; annotations copied', () => {
    const withSubject = { ...image, subject: { mediaType: MEDIA_TYPE.ociManifest, digest: D3, size: 1 } };
    const parsed = parseManifest(manifestBytes(withSubject));
    assert.equal(parsed.subject?.digest, D3);
    assert.deepEqual(referrerDescriptor(parsed, D2, 99), {
      mediaType: MEDIA_TYPE.ociManifest,
      digest: D2,
      size: 99,
      artifactType: 'application/vnd.oci.image.config.v1+json',
      annotations: { 'org.example': 'yes' },
    });
    const artifact = parseManifest(manifestBytes({ ...withSubject, artifactType: 'application/vnd.example.sbom' }));
    assert.equal(referrerDescriptor(artifact, D2, 1).artifactType, 'application/vnd.example.sbom');
    const index = parseManifest(manifestBytes({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [], subject: withSubject.subject }));
    assert.equal(referrerDescriptor(index, D2, 1).artifactType, undefined);
  });
  it('strips media type parameters', () => {
    assert.equal(stripMediaTypeParameters('Application/JSON; charset=utf-8'), 'application/json');
    assert.equal(stripMediaTypeParameters(undefined), '');
  });
});

describe('oci helpers: token scopes and challenges', () => {
  it('parses repeated and space-separated scopes', () => {
    assert.deepEqual(parseRequestedScopes(['repository:a/b:pull,push', 'repository:c:pull registry:catalog:*', 'garbage', 'repository(plugin):d:pull']), [
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'd', actions: ['pull'] },
    ]);
    assert.deepEqual(expandActions(['*']), ['pull', 'push', 'delete']);
    assert.deepEqual(expandActions(['pull', 'bogus']), ['pull']);
  });
  it('formats the Bearer challenge with escaped quotes', () => {
    assert.equal(
      bearerChallenge('https://registry.example.com/v2/token', 'registry.example.com', 'repository:a:pull'),
      'Bearer realm="https://registry.example.com/v2/token",service="registry.example.com",scope="repository:a:pull"',
    );
    assert.equal(bearerChallenge('r"', 's'), 'Bearer realm="r\\"",service="s"');
  });
});
