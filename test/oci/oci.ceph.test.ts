// OCI with three SmartRegistry instances on one Ceph RGW bucket: concurrent pushes into one repository.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { settle } from '../helpers/validationwindow.js';
import { createOciFixture, header, sha256, type ICallResult, type IOciFixture } from './oci.fixtures.js';

const INSTANCES = 3;
const TAGS = 30;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('oci: several instances on one Ceph RGW bucket', { skip: skipWithoutCeph('the OCI concurrency tests') }, () => {
  let ceph: ICephS3;
  let instances: IOciFixture[] = [];

  before(async () => {
    ceph = await startCephS3();
    const storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
    instances = [];
    for (let index = 0; index < INSTANCES; index++) instances.push(await createOciFixture({ storage }));
  });
  after(async () => {
    for (const instance of instances) await instance.cleanup();
    await ceph?.stop();
  });

  it(`${INSTANCES} instances push ${TAGS} tagged manifests into one repository at once: every tag everywhere, no 5xx`, async () => {
    const answers: ICallResult[] = [];
    const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
    // The same blobs from every instance at once: each push succeeds, the blob is stored once.
    const blobPushes = await Promise.all(
      instances.flatMap((instance) => [
        instance.call('POST', `/v2/crowd/app/blobs/uploads/?digest=${sha256(configBytes)}`, { body: configBytes }),
        instance.call('POST', `/v2/crowd/app/blobs/uploads/?digest=${sha256('layer')}`, { body: Buffer.from('layer') }),
      ]),
    );
    answers.push(...blobPushes);
    assert.deepEqual(blobPushes.map((res) => res.status), blobPushes.map(() => 201));

    const manifests = Array.from({ length: TAGS }, (_, index) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256('layer'), size: 5 }],
          annotations: { build: String(index) },
        }),
      ),
    );
    const tags = manifests.map((_, index) => `build-${index}`);
    // Every push also moves `latest`: the tag ends on one of them, the same for every instance.
    const pushes = await Promise.all(
      manifests.flatMap((bytes, index) => {
        const instance = instances[index % INSTANCES]!;
        return [tags[index]!, 'latest'].map((tag) => instance.pushManifest('crowd/app', tag, bytes, OCI_MANIFEST));
      }),
    );
    answers.push(...pushes);
    assert.deepEqual(pushes.filter((res) => res.status !== 201).map((res) => `${res.status} ${res.body}`), []);

    await settle();
    const latestDigests = new Set<string>();
    for (const instance of instances) {
      const list = await instance.call('GET', '/v2/crowd/app/tags/list?n=1000');
      answers.push(list);
      assert.deepEqual([...list.json.tags].sort(), [...tags, 'latest'].sort(), 'every tag is listed');
      for (const [index, tag] of tags.entries()) {
        const got = await instance.call('GET', `/v2/crowd/app/manifests/${tag}`);
        answers.push(got);
        assert.equal(got.status, 200, tag);
        assert.ok(got.body.equals(manifests[index]!), `${tag} has its own bytes`);
      }
      const latest = await instance.call('GET', '/v2/crowd/app/manifests/latest');
      answers.push(latest);
      latestDigests.add(header(latest.headers, 'docker-content-digest')!);
    }
    assert.equal(latestDigests.size, 1, 'latest is the same manifest for every instance');
    assert.ok(manifests.some((bytes) => latestDigests.has(sha256(bytes))), 'latest is one of the pushed manifests');
    assert.deepEqual(answers.filter((res) => res.status >= 500).map((res) => `${res.status} ${res.body}`), [], 'no answer was a 5xx');
  });
});
