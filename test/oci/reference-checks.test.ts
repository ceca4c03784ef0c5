/** Manifest pushes check what they reference with a bounded number of storage calls, and refuse huge lists up front. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createOciFixture, listFiles, sha256, type IOciFixture } from './oci.fixtures.js';
import { MAX_MANIFEST_DESCRIPTORS, REFERENCE_CHECK_CONCURRENCY } from '../../ts/oci/classes.ociregistry.js';

const imageManifest = (layerCount: number) => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('config'), size: 6 },
  layers: Array.from({ length: layerCount }, (_, i) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    digest: sha256(`layer ${i}`),
    size: 10,
  })),
});

describe('oci: manifest reference checks', () => {
  let f: IOciFixture;
  const stats = { calls: 0, inFlight: 0, peak: 0 };
  before(async () => {
    f = await createOciFixture();
    // Wrap the real backend's stat to see how many run at the same time.
    const backend = f.registry.getStorage().getBackend();
    const realStat = backend.stat.bind(backend);
    backend.stat = async (key) => {
      stats.calls++;
      stats.inFlight++;
      stats.peak = Math.max(stats.peak, stats.inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return await realStat(key);
      } finally {
        stats.inFlight--;
      }
    };
  });
  after(() => f.cleanup());

  it('a manifest listing more layers than the cap is MANIFEST_INVALID before any storage call', async () => {
    const files = await listFiles(f.dataDir);
    stats.calls = 0;
    const res = await f.pushManifest('bounds/app', 'v1', imageManifest(MAX_MANIFEST_DESCRIPTORS + 1));
    assert.equal(res.status, 400);
    assert.equal(res.code, 'MANIFEST_INVALID');
    assert.match(res.json.errors[0].message, new RegExp(`${MAX_MANIFEST_DESCRIPTORS + 1} layers; at most ${MAX_MANIFEST_DESCRIPTORS}`));
    assert.equal(stats.calls, 0);
    assert.deepEqual(await listFiles(f.dataDir), files);
  });

  it('an index listing more manifests than the cap is MANIFEST_INVALID', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: Array.from({ length: MAX_MANIFEST_DESCRIPTORS + 1 }, (_, i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: sha256(`manifest ${i}`),
        size: 10,
      })),
    };
    stats.calls = 0;
    const res = await f.pushManifest('bounds/app', 'v1', index);
    assert.equal(res.status, 400);
    assert.equal(res.code, 'MANIFEST_INVALID');
    assert.equal(stats.calls, 0);
  });

  it('checks of many layers run at most REFERENCE_CHECK_CONCURRENCY at a time', async () => {
    const layerCount = 200;
    stats.calls = 0;
    stats.peak = 0;
    const res = await f.pushManifest('bounds/app', 'v1', imageManifest(layerCount));
    assert.equal(res.status, 400);
    assert.equal(res.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(res.json.errors[0].detail.digests.length, layerCount + 1);
    assert.ok(stats.calls >= layerCount + 1, `${stats.calls} stat calls`);
    assert.ok(stats.peak <= REFERENCE_CHECK_CONCURRENCY, `peak ${stats.peak} concurrent stats`);
    assert.ok(stats.peak > 1, 'checks still run in parallel');
  });
});
