/**
 * An artifact whose metadata is stored but whose bytes are gone (deleted from storage under the registry, as a
 * collection or a lost write leaves it), all seven protocols (issue 9): GET and HEAD of it answer 404 in the
 * protocol's own error shape, never a 500, and the other version still downloads.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCluster, type ICluster, type TCall } from './cluster.js';
import { protocolDrivers, type IProtocolDriver } from './drivers.js';

const NAME = 'bytesgone';

describe('reliability: artifacts whose bytes are gone', () => {
  let dir: string;
  let cluster: ICluster | undefined;
  const drivers = protocolDrivers(NAME);

  const clientOf = (driver: IProtocolDriver): TCall => (method, requestPath, options = {}) =>
    cluster!.instances[0]!.call(method, requestPath, { ...options, headers: { authorization: cluster!.credentials[driver.protocol], ...options.headers } });

  /** The stored object that holds exactly `bytes` (the artifact itself, not a document naming it). */
  async function keyHolding(bytes: Buffer): Promise<string | undefined> {
    for (const key of await cluster!.keys()) {
      const stored = await fsp.readFile(path.join(dir, key)).catch(() => undefined);
      if (stored?.equals(bytes)) return key;
    }
    return undefined;
  }

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-bytesgone-'));
    cluster = await startCluster({ type: 'filesystem', path: dir }, 1);
    for (const driver of drivers) {
      for (const i of [0, 1]) {
        const answers = await driver.publish(clientOf(driver), i);
        assert.ok(answers.every((answer) => answer.status < 300), `${driver.protocol} publishes ${driver.version(i)}`);
      }
    }
  });
  after(async () => {
    await cluster?.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  for (const driver of drivers) {
    it(`${driver.protocol}: GET and HEAD of an artifact whose bytes are gone are 404 in the protocol's shape`, async () => {
      // Each download is one request, in order: their paths.
      const paths: string[] = [];
      const downloads = await driver.download((method, requestPath, options) => {
        paths.push(requestPath);
        return clientOf(driver)(method, requestPath, options);
      }, 0);
      assert.equal(paths.length, downloads.length);
      const gone: { what: string; requestPath: string }[] = [];
      for (const [index, { what, answer, expected }] of downloads.entries()) {
        assert.equal(answer.status, 200, `${driver.protocol} ${what}`);
        const key = await keyHolding(expected);
        if (!key) continue; // served from a document (a checksum line): not an artifact of its own
        await fsp.rm(path.join(dir, key));
        gone.push({ what, requestPath: paths[index]! });
      }
      assert.ok(gone.length > 0, `${driver.protocol}: an artifact was found in storage`);
      // A fresh instance: nothing this process remembers about the object hides what storage holds.
      await cluster!.close();
      cluster = await startCluster({ type: 'filesystem', path: dir }, 1);
      const call = clientOf(driver);
      for (const { what, requestPath } of gone) {
        const got = await call('GET', requestPath);
        assert.equal(got.status, 404, `${driver.protocol} GET ${what}: ${got.status} ${got.text.slice(0, 200)}`);
        assert.ok(driver.errorText(got), `${driver.protocol} GET ${what} answers in the protocol's error shape: ${got.text.slice(0, 200)}`);
        const head = await call('HEAD', requestPath);
        assert.equal(head.status, 404, `${driver.protocol} HEAD ${what}`);
      }
      for (const { what, answer, expected } of await driver.download(call, 1)) {
        assert.equal(answer.status, 200, `${driver.protocol} ${what} of the other version`);
        assert.ok(answer.bytes.equals(expected));
      }
    });
  }
});
