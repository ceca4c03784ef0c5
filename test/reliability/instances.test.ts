/**
 * Three SmartRegistry instances on one storage, all seven protocols at once (issue 16): concurrent publishes of
 * one package per protocol spread across the instances lose no version; every version is listed in every index
 * form and downloadable from every instance; deletes, yanks, tag moves and publishes of one package racing each
 * other end in one state every instance agrees on; tokens made or revoked on one instance count on the others.
 * On one filesystem folder and on one Ceph RGW bucket (an S3 engine that honours conditional writes).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimited } from '../../ts/core/helpers.async.js';
import type { IStorageConfig } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import type { IReadResponse } from '../helpers/requests.js';
import { ADMIN, authorizationFor, settle, startCluster, type ICluster, type TCall } from './cluster.js';
import { protocolDrivers, type IProtocolDriver } from './drivers.js';

const VERSIONS = 200;
/** Publishes in flight per protocol (all seven protocols run at once). */
const IN_FLIGHT = 12;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);
const sorted = (values: Iterable<string>) => [...values].sort();

/** Every answer a test saw, to find any 5xx among them. */
class Answers {
  private readonly all: { what: string; answer: IReadResponse }[] = [];
  add(what: string, answers: IReadResponse[]) {
    for (const answer of answers) this.all.push({ what, answer });
    return answers;
  }
  serverErrors() {
    return this.all.filter(({ answer }) => answer.status >= 500).map(({ what, answer }) => `${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
  }
}

/** The protocol's call on one instance, with the administrator's credentials as its client sends them. */
const clientOf = (cluster: ICluster, driver: IProtocolDriver, instance: number): TCall => (method, requestPath, options = {}) =>
  cluster.instances[instance]!.call(method, requestPath, { ...options, headers: { authorization: cluster.credentials[driver.protocol], ...options.headers } });

async function assertListedEverywhere(cluster: ICluster, driver: IProtocolDriver, expected: string[]) {
  for (const index of cluster.instances.keys()) {
    const listings = await driver.listings(clientOf(cluster, driver, index));
    for (const [form, versions] of Object.entries(listings)) {
      assert.deepEqual(sorted(versions), sorted(expected), `${driver.protocol} ${form} on instance ${index} lists exactly the versions published`);
    }
  }
}

async function assertDownloadable(cluster: ICluster, driver: IProtocolDriver, indexes: number[], answers: Answers) {
  for (const instance of cluster.instances.keys()) {
    const call = clientOf(cluster, driver, instance);
    await mapLimited(indexes, 8, async (i) => {
      for (const { what, answer, expected } of await driver.download(call, i)) {
        answers.add(`${driver.protocol} download`, [answer]);
        assert.equal(answer.status, 200, `${driver.protocol} ${driver.version(i)} ${what} from instance ${instance}: ${answer.text.slice(0, 200)}`);
        assert.ok(answer.bytes.equals(expected), `${driver.protocol} ${driver.version(i)} ${what} from instance ${instance} has the published bytes`);
      }
    });
  }
}

async function publishAcross(cluster: ICluster, driver: IProtocolDriver, indexes: number[], answers: Answers) {
  const results = await mapLimited(indexes, IN_FLIGHT, async (i) => {
    const published = answers.add(`${driver.protocol} publish ${driver.version(i)}`, await driver.publish(clientOf(cluster, driver, i % cluster.instances.length), i));
    return { i, refused: published.find((answer) => answer.status >= 300) };
  });
  const refused = results.filter((result) => result.refused).map((result) => `${driver.version(result.i)}: ${result.refused!.status} ${result.refused!.text.slice(0, 200)}`);
  assert.deepEqual(refused, [], `${driver.protocol}: every publish acknowledged`);
}

function instanceSuite(startStorage: () => Promise<{ storage: IStorageConfig; stop(): Promise<void> }>) {
  let cluster: ICluster;
  let stopStorage: () => Promise<void>;
  before(async () => {
    const started = await startStorage();
    stopStorage = started.stop;
    cluster = await startCluster(started.storage, 3);
  });
  after(async () => {
    await cluster?.close();
    await stopStorage?.();
  });

  it(`publishes ${VERSIONS} versions of one package per protocol across 3 instances at once: every version listed in every index form and downloadable from every instance, no 5xx`, async () => {
    const answers = new Answers();
    const drivers = protocolDrivers('crowd');
    const all = range(0, VERSIONS);
    await Promise.all(drivers.map((driver) => publishAcross(cluster, driver, all, answers)));
    await settle();
    for (const driver of drivers) {
      await assertListedEverywhere(cluster, driver, all.map(driver.version));
      await assertDownloadable(cluster, driver, all, answers);
    }
    assert.deepEqual(answers.serverErrors(), [], 'no answer was a 5xx');
  });

  it('publishes, deletes, yanks and tag moves of one package racing across the instances end in one state every instance agrees on', async () => {
    const answers = new Answers();
    const drivers = protocolDrivers('mixed');
    const first = range(0, 30);
    const later = range(30, 60);
    const removed = range(0, 10);
    const yanked = range(10, 20);
    const tagTargets = range(20, 23);
    await Promise.all(drivers.map((driver) => publishAcross(cluster, driver, first, answers)));

    await Promise.all(
      drivers.map(async (driver) => {
        const racing: Promise<unknown>[] = [publishAcross(cluster, driver, later, answers)];
        const on = (i: number) => clientOf(cluster, driver, (i + 1) % cluster.instances.length);
        const acknowledged = async (what: string, run: Promise<IReadResponse[]>) => {
          const got = answers.add(`${driver.protocol} ${what}`, await run);
          assert.ok(got.every((answer) => answer.status < 300 || answer.status === 409), `${driver.protocol} ${what}: ${got.map((answer) => `${answer.status} ${answer.text.slice(0, 200)}`).join(', ')}`);
        };
        if (driver.remove) for (const i of removed) racing.push(acknowledged(`delete ${driver.version(i)}`, driver.remove(on(i), i)));
        if (driver.yank) for (const i of yanked) racing.push(acknowledged(`yank ${driver.version(i)}`, driver.yank(on(i), i)));
        // Every instance moves each tag at once, each to a version of its own.
        if (driver.tag) {
          for (const tag of ['stable', 'next']) {
            for (const [instance, i] of tagTargets.entries()) {
              racing.push(acknowledged(`tag ${tag} → ${driver.version(i)}`, driver.tag(clientOf(cluster, driver, instance), tag, i)));
            }
          }
        }
        await Promise.all(racing);
        await settle();

        const gone = new Set(driver.remove ? removed : []);
        const hidden = new Set(driver.yank && (await driver.yanked!(clientOf(cluster, driver, 0)) === undefined) ? yanked : []);
        const listed = [...first, ...later].filter((i) => !gone.has(i) && !hidden.has(i));
        await assertListedEverywhere(cluster, driver, listed.map(driver.version));
        // A gem taken away by a yank is no longer served either (as the public RubyGems host does).
        await assertDownloadable(cluster, driver, listed, answers);
        for (const i of gone) {
          for (const instance of cluster.instances.keys()) {
            for (const { what, answer } of await driver.download(clientOf(cluster, driver, instance), i)) {
              if (driver.protocol === 'oci' && what === 'layer') continue; // blobs outlive their manifests until garbage collection
              assert.equal(answer.status, 404, `${driver.protocol} deleted ${driver.version(i)} ${what} answers 404 on instance ${instance}`);
            }
          }
        }
        if (driver.yank && driver.yanked) {
          for (const instance of cluster.instances.keys()) {
            const marked = await driver.yanked(clientOf(cluster, driver, instance));
            if (marked !== undefined) assert.deepEqual(sorted(marked), sorted(yanked.map(driver.version)), `${driver.protocol} yanked versions on instance ${instance}`);
          }
        }
        if (driver.tag && driver.tagged) {
          for (const tag of ['stable', 'next']) {
            const seen = new Set<string | undefined>();
            for (const instance of cluster.instances.keys()) seen.add(await driver.tagged(clientOf(cluster, driver, instance), tag));
            assert.equal(seen.size, 1, `${driver.protocol} ${tag} points at one version for every instance: ${[...seen].join(', ')}`);
            assert.ok(tagTargets.map(driver.version).includes([...seen][0]!), `${driver.protocol} ${tag} points at one of the versions it was moved to`);
          }
        }
      }),
    );
    assert.deepEqual(answers.serverErrors(), [], 'no answer was a 5xx');
  });

  it('tokens made at once on every instance work on all; a token revoked on one is refused by the others', async () => {
    const [a, b, c] = cluster.instances.map((instance) => instance.registry.getAuthManager());
    const whoami = (instance: number, token: string) =>
      cluster.instances[instance]!.call('GET', '/npm/-/whoami', { headers: { authorization: authorizationFor('npm', token) } });

    const made = await Promise.all(range(0, 30).map((i) => [a, b, c][i % 3]!.createNpmToken(ADMIN.user, false)));
    for (const token of made) {
      for (const instance of cluster.instances.keys()) assert.equal((await whoami(instance, token)).status, 200, 'a token works on every instance');
    }
    const listed = (await cluster.instances[1]!.call('GET', '/npm/-/npm/v1/tokens', { headers: { authorization: authorizationFor('npm', made[0]!) } })).json;
    assert.ok(listed.total >= made.length, `every token is listed (${listed.total})`);

    // Never seen by B or C before it was revoked: refused at once.
    const unseen = await a!.createNpmToken(ADMIN.user, false);
    await a!.revokeToken(unseen);
    assert.equal((await whoami(1, unseen)).status, 401);
    assert.equal((await whoami(2, unseen)).status, 401);

    // B and C have seen it: they keep a looked-up token for at most 5 s (the token store's documented cache).
    const seen = made[1]!;
    await a!.revokeToken(seen);
    assert.equal((await whoami(0, seen)).status, 401, 'refused at once where it was revoked');
    await sleep(5_100);
    assert.equal((await whoami(1, seen)).status, 401, 'refused by B after the cache time');
    assert.equal((await whoami(2, seen)).status, 401, 'refused by C after the cache time');
    for (const token of made.filter((token) => token !== seen)) assert.equal((await whoami(2, token)).status, 200, 'the other tokens still work');
  });
}

describe('reliability: three instances on one filesystem folder', () => {
  instanceSuite(async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-instances-'));
    return { storage: { type: 'filesystem', path: dir }, stop: () => fsp.rm(dir, { recursive: true, force: true }) };
  });
});

describe('reliability: three instances on one Ceph RGW bucket', { skip: skipWithoutCeph('the seven-protocol instance tests') }, () => {
  instanceSuite(async () => {
    const ceph: ICephS3 = await startCephS3();
    return { storage: { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName }, stop: () => ceph.stop() };
  });
});
