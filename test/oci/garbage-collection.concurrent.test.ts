// Online garbage collection while 20 images sharing layers are pushed through three instances on one
// storage (filesystem, then Ceph RGW): every pushed image pulls afterwards, the garbage is gone.
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { IStorageConfig } from '../../ts/core/interfaces.core.js';
import type { IOciGarbageCollectionReport } from '../../ts/oci/interfaces.oci.js';
import { skipWithoutCeph, startCephS3 } from '../helpers/ceph.js';
import { createOciFixture, sha256, type IOciFixture } from './oci.fixtures.js';

const INSTANCES = 3;
const PUSHES = 20;
const OLD_IMAGES = 5;
/** Long enough that a push's upload-to-manifest time stays well inside it on a busy machine. */
const GRACE_MS = 8000;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const COLLECTOR_DELETE_DELAY_MS = 200;

interface IImage {
  repository: string;
  tag: string;
  blobs: Buffer[];
  manifest: Buffer;
}

function image(repository: string, tag: string, layers: string[]): IImage {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const blobs = [config, ...layers.map((text) => Buffer.from(text))];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: blobs.slice(1).map((bytes) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes), size: bytes.length })),
    }),
  );
  return { repository, tag, blobs, manifest };
}

/** As docker and skopeo push: HEAD each blob (layers, then the config), upload only the missing ones, then the manifest. */
async function push(instance: IOciFixture, pushed: IImage): Promise<string[]> {
  const failures: string[] = [];
  for (const bytes of [...pushed.blobs.slice(1), pushed.blobs[0]!]) {
    const digest = sha256(bytes);
    const head = await instance.call('HEAD', `/v2/${pushed.repository}/blobs/${digest}`);
    if (head.status === 200) continue;
    const upload = await instance.call('POST', `/v2/${pushed.repository}/blobs/uploads/?digest=${digest}`, { body: bytes });
    if (upload.status !== 201) failures.push(`blob ${digest}: ${upload.status} ${upload.body}`);
  }
  const manifest = await instance.pushManifest(pushed.repository, pushed.tag, pushed.manifest, OCI_MANIFEST);
  if (manifest.status !== 201) failures.push(`manifest ${pushed.repository}:${pushed.tag}: ${manifest.status} ${manifest.body}`);
  return failures;
}

/** Every digest of the image as one instance serves it. */
async function pullFailures(instance: IOciFixture, pulled: IImage): Promise<string[]> {
  const failures: string[] = [];
  const manifest = await instance.call('GET', `/v2/${pulled.repository}/manifests/${pulled.tag}`);
  if (manifest.status !== 200 || !manifest.body.equals(pulled.manifest)) failures.push(`manifest ${pulled.repository}:${pulled.tag}: ${manifest.status}`);
  for (const bytes of pulled.blobs) {
    const blob = await instance.call('GET', `/v2/${pulled.repository}/blobs/${sha256(bytes)}`);
    if (blob.status !== 200 || sha256(blob.body) !== sha256(bytes)) failures.push(`blob ${sha256(bytes)} of ${pulled.repository}:${pulled.tag}: ${blob.status}`);
  }
  return failures;
}

async function collectWhilePushing(storage: IStorageConfig | undefined): Promise<void> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-oci-gc-'));
  const instances: IOciFixture[] = [];
  try {
    for (let index = 0; index < INSTANCES; index++) {
      // The collector's deletes (the only ones without an actor) are slowed down, so its sweep lands between the
      // pushes' HEADs of the old shared layers and their manifests instead of finishing before them.
      const hooks = {
        beforeDelete: (context: { actor?: unknown }) =>
          context.actor ? undefined : new Promise<void>((resolve) => setTimeout(resolve, COLLECTOR_DELETE_DELAY_MS)),
      };
      instances.push(await createOciFixture({ dataDir, storage, hooks, oci: { garbageCollection: { gracePeriod: GRACE_MS } } }));
    }
    // Garbage first: old images share base layers with what is pushed next; some of their own layers come back.
    const old = Array.from({ length: OLD_IMAGES }, (_, index) => image('load/app', `old-${index}`, ['base layer 1', 'base layer 2', `old layer ${index}`, `never again ${index}`]));
    for (const pushed of old) assert.deepEqual(await push(instances[0]!, pushed), []);
    for (const pushed of old) assert.equal((await instances[0]!.call('DELETE', `/v2/load/app/manifests/${sha256(pushed.manifest)}`)).status, 202);
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));

    const fresh = Array.from({ length: PUSHES }, (_, index) =>
      image(index % 2 === 0 ? 'load/app' : 'load/other', `new-${index}`, ['base layer 1', 'base layer 2', `old layer ${index % OLD_IMAGES}`, `new layer ${index}`]),
    );
    let pushing = true;
    const reports: IOciGarbageCollectionReport[] = [];
    const collector = async (instance: IOciFixture) => {
      do reports.push(await instance.oci.collectGarbage());
      while (pushing);
    };
    const collectors = [collector(instances[0]!), collector(instances[1]!)];
    const failures = (await Promise.all(fresh.map((pushed, index) => push(instances[index % INSTANCES]!, pushed)))).flat();
    pushing = false;
    await Promise.all(collectors);
    assert.deepEqual(failures, [], 'every push succeeded');
    assert.ok(reports.length >= 2);

    const collected = new Set(reports.flatMap((report) => report.blobs.map((blob) => blob.digest)));
    for (let index = 0; index < OLD_IMAGES; index++) {
      assert.ok(collected.has(sha256(`never again ${index}`)), `the old image's own layer ${index} was collected`);
    }
    reports.push(await instances[2]!.oci.collectGarbage());
    for (const instance of instances) {
      for (const pulled of fresh) assert.deepEqual(await pullFailures(instance, pulled), []);
    }
    for (let index = 0; index < OLD_IMAGES; index++) {
      assert.equal((await instances[1]!.call('GET', `/v2/load/app/blobs/${sha256(`never again ${index}`)}`)).code, 'BLOB_UNKNOWN');
    }
  } finally {
    for (const instance of instances) await instance.cleanup();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
}

describe('oci: garbage collection while pushes go on', () => {
  it(`filesystem: ${INSTANCES} instances, collections on two of them, ${PUSHES} concurrent pushes of images sharing layers with the garbage`, async () => {
    await collectWhilePushing(undefined);
  });
});

describe('oci: garbage collection while pushes go on, on Ceph RGW', { skip: skipWithoutCeph('the OCI garbage collection tests') }, () => {
  it(`Ceph RGW: ${INSTANCES} instances, collections on two of them, ${PUSHES} concurrent pushes of images sharing layers with the garbage`, async () => {
    const ceph = await startCephS3();
    try {
      await collectWhilePushing({ type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName });
    } finally {
      await ceph.stop();
    }
  });
});
