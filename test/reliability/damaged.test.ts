/**
 * Damaged stored documents, all seven protocols (issue 16). A truth document left truncated (as an engine that
 * lost or half-finished a write leaves it) is never read as "no versions": the reads that need it and a publish
 * answer a 500 in the protocol's own error shape saying the stored metadata is damaged, storage stays as it was
 * (no publish can write over the history it holds), and once the document is restored every version is there. A
 * damaged derived document (index file, abbreviated document, metadata file, the RubyGems compact index) is
 * derived again from the truth and serves every version.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { cargoPaths, composerPaths, mavenPaths, npmPaths, ociPaths, pypiPaths, rubygemsPaths } from '../../ts/core/storage.paths.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import type { IReadResponse } from '../helpers/requests.js';
import { startCluster, type ICluster, type TCall } from './cluster.js';
import { protocolDrivers, type IProtocolDriver } from './drivers.js';

const NAME = 'damaged';
const DAMAGED_TEXT = /stored metadata this request needs is damaged/;

/** Each protocol's truth of the package (OCI: what the tag `v0` points at) and the documents derived from it. */
const DOCUMENTS: Record<TRegistryProtocol, { truth: string; derived: string[] }> = {
  npm: { truth: npmPaths.packument(NAME), derived: [npmPaths.abbreviated(NAME)] },
  oci: { truth: ociPaths.tag(`${NAME}/app`, 'v0'), derived: [] },
  maven: { truth: mavenPaths.artifact(`org/${NAME}`, 'lib'), derived: [mavenPaths.artifactMetadata(`org/${NAME}`, 'lib')] },
  cargo: { truth: cargoPaths.crate(NAME), derived: [cargoPaths.index(NAME)] },
  composer: { truth: composerPaths.package(`acme/${NAME}`), derived: [composerPaths.metadata(`acme/${NAME}`, false)] },
  pypi: { truth: pypiPaths.project(NAME), derived: [] },
  rubygems: { truth: rubygemsPaths.gem(NAME), derived: [rubygemsPaths.info(NAME), rubygemsPaths.compactIndex()] },
};

const ok = (answers: IReadResponse[]) => answers.every((answer) => answer.status < 300);

describe('reliability: damaged stored documents', () => {
  let dir: string;
  let cluster: ICluster | undefined;
  const drivers = protocolDrivers(NAME);

  /** A registry started afresh on the folder (nothing cached), as after a restart on what a broken engine left. */
  async function restart(): Promise<ICluster> {
    await cluster?.close();
    cluster = await startCluster({ type: 'filesystem', path: dir }, 1);
    return cluster;
  }
  const clientOf = (driver: IProtocolDriver): TCall => (method, requestPath, options = {}) =>
    cluster!.instances[0]!.call(method, requestPath, { ...options, headers: { authorization: cluster!.credentials[driver.protocol], ...options.headers } });
  /** Cuts a stored document to its first half: truncated JSON. Returns the whole bytes. */
  async function truncate(key: string): Promise<Buffer> {
    const whole = await fsp.readFile(path.join(dir, key));
    await fsp.writeFile(path.join(dir, key), whole.subarray(0, Math.floor(whole.length / 2)));
    return whole;
  }
  /** Every index form lists exactly these versions, and each downloads with its published bytes. */
  async function assertServes(driver: IProtocolDriver, indexes: number[], when: string) {
    const call = clientOf(driver);
    for (const [form, versions] of Object.entries(await driver.listings(call))) {
      assert.deepEqual([...versions].sort(), indexes.map((i) => driver.version(i)).sort(), `${driver.protocol} ${form} ${when}`);
    }
    for (const i of indexes) {
      for (const { what, answer, expected } of await driver.download(call, i)) {
        assert.equal(answer.status, 200, `${driver.protocol} ${what} ${driver.version(i)} ${when}: ${answer.text.slice(0, 200)}`);
        assert.ok(answer.bytes.equals(expected), `${driver.protocol} ${what} ${driver.version(i)} ${when}: the published bytes`);
      }
    }
  }
  function assertDamagedAnswer(driver: IProtocolDriver, answer: IReadResponse, what: string) {
    assert.equal(answer.status, 500, `${driver.protocol} ${what}: ${answer.text.slice(0, 200)}`);
    assert.match(driver.errorText(answer) ?? '', DAMAGED_TEXT, `${driver.protocol} ${what} says so in the protocol's error shape: ${answer.text.slice(0, 200)}`);
  }

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-damaged-'));
    await restart();
    for (const driver of drivers) {
      for (const i of [0, 1]) assert.ok(ok(await driver.publish(clientOf(driver), i)), `${driver.protocol} publishes ${driver.version(i)}`);
    }
  });
  after(async () => {
    await cluster?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  for (const driver of drivers) {
    it(`${driver.protocol}: a truncated truth is an error in the protocol's shape, never "no versions", and a publish changes nothing`, async () => {
      const { truth } = DOCUMENTS[driver.protocol];
      const whole = await truncate(truth);
      await restart();
      const call = clientOf(driver);
      const keysBefore = await cluster!.keys();
      if (driver.protocol === 'oci') {
        // A tag is its own document: the tag list still names it, pulling by it says what is wrong.
        assert.deepEqual((await driver.listings(call))['tags/list']!.sort(), ['v0', 'v1']);
        const [byTag] = await driver.download(call, 0);
        assertDamagedAnswer(driver, byTag!.answer, 'manifest by damaged tag');
      } else {
        const reads: IReadResponse[] = [];
        const listings = await driver.listings(async (method, requestPath, options) => {
          const answer = await call(method, requestPath, options);
          reads.push(answer);
          return answer;
        });
        // A form may still be served as last derived from the whole truth (npm's abbreviated document, RubyGems'
        // /versions); the others say the truth is damaged. None lists fewer versions than there are.
        for (const answer of reads) if (answer.status !== 200) assertDamagedAnswer(driver, answer, 'listing');
        assert.ok(reads.some((answer) => answer.status === 500), `${driver.protocol}: some listing reads the damaged truth`);
        const forms = Object.entries(listings);
        for (const [form, versions] of forms) {
          if (versions.length > 0) assert.deepEqual([...versions].sort(), [driver.version(0), driver.version(1)].sort(), `${driver.protocol} ${form}`);
        }
        const emptyForms = forms.filter(([, versions]) => versions.length === 0).length;
        assert.ok(emptyForms <= reads.filter((answer) => answer.status === 500).length, `${driver.protocol}: a form that lists nothing answered an error`);
        const published = await driver.publish(call, 2);
        assertDamagedAnswer(driver, published.at(-1)!, 'publish');
        assert.deepEqual(await cluster!.keys(), keysBefore, `${driver.protocol}: the refused publish left storage as it was`);
        assert.equal((await fsp.readFile(path.join(dir, truth))).length, Math.floor(whole.length / 2), `${driver.protocol}: the damaged truth is not written over`);
      }

      // Restored (from a backup): everything is there, and publishing goes on.
      await fsp.writeFile(path.join(dir, truth), whole);
      await restart();
      await assertServes(driver, [0, 1], 'after the truth is restored');
      assert.ok(ok(await driver.publish(clientOf(driver), 2)), `${driver.protocol} publishes again`);
      await assertServes(driver, [0, 1, 2], 'after the next publish');
    });
  }

  for (const driver of drivers.filter((each) => DOCUMENTS[each.protocol].derived.length > 0)) {
    it(`${driver.protocol}: a truncated derived document is derived again from the truth`, async () => {
      const published = [0, 1, 2];
      for (const key of DOCUMENTS[driver.protocol].derived) {
        await truncate(key);
        await restart();
        await assertServes(driver, published, `with ${key} truncated`);
        const stored = await fsp.readFile(path.join(dir, key), 'utf8');
        assert.doesNotThrow(() => JSON.parse(stored), `${key} is whole again`);
      }
      const next = published.length;
      assert.ok(ok(await driver.publish(clientOf(driver), next)), `${driver.protocol} publishes on`);
      await assertServes(driver, [...published, next], 'after the next publish');
    });
  }
});
