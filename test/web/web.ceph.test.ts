/**
 * The home page's recent publishes with several instances on one bucket (Ceph RGW, which honours
 * conditional writes): three instances publish at once, and every instance lists every publish.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { sendRequest } from '../helpers/requests.js';
import { startTestRegistry, type ITestRegistry } from '../helpers/testregistry.js';
import { publishBody } from '../npm/fixtures.js';

const ADMIN = `Basic ${Buffer.from('admin:admin-ceph-password').toString('base64')}`;

const startInstance = (storage: IRegistryConfig['storage']) =>
  startTestRegistry({
    label: 'web-ceph',
    users: { admin: { password: 'admin-ceph-password', scopes: ['*'] } },
    config: { storage, npm: { enabled: true, basePath: '/npm' }, web: { enabled: true, basePath: '/' } },
  });

describe('web page recent publishes on Ceph RGW', { skip: skipWithoutCeph('the web page recent-publishes test with three instances') }, () => {
  let ceph: ICephS3;
  let storage: IRegistryConfig['storage'];
  let reader: ITestRegistry | undefined;

  before(async () => {
    ceph = await startCephS3();
    storage = { type: 's3' as const, ...ceph.descriptor, bucketName: ceph.bucketName };
  });
  after(async () => {
    await reader?.close();
    await ceph?.stop();
  });

  it('loses no publish when three instances publish at once', async () => {
    const instances = await Promise.all([0, 1, 2].map(() => startInstance(storage)));
    const names = [0, 1, 2].flatMap((instance) => [0, 1, 2, 3].map((i) => `race-${instance}-${i}`));
    await Promise.all(
      names.map(async (name) => {
        const { body } = await publishBody(name, '1.0.0');
        const instance = instances[Number(name.split('-')[1])];
        const answer = await sendRequest(instance.registry, 'PUT', `/npm/${name}`, { headers: { authorization: ADMIN }, body });
        assert.equal(answer.status, 201, answer.text);
      }),
    );
    // Closing an instance waits for its queued recent-publish writes.
    await Promise.all(instances.map((instance) => instance.close()));
    reader = await startInstance(storage);
    const home = await sendRequest(reader.registry, 'GET', '/', { headers: { authorization: ADMIN } });
    const section = home.text.slice(home.text.indexOf('<section aria-labelledby="recent">'));
    const listed = [...section.slice(0, section.indexOf('</section>')).matchAll(/href="\/packages\/npm\/(race-[\d-]+)\?version=1\.0\.0"/g)].map((match) => match[1]);
    assert.deepEqual(listed.sort(), [...names].sort());
  });
});
