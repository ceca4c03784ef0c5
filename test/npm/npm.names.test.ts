/**
 * Names and versions that would not fit in a storage key segment (255 bytes) are refused by npm's own
 * rules, with the same 400 `{error}` on every backend, and no storage key in the answer.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createNpmRegistry, type INpmTestRegistry } from './fixtures.js';

const LONG_NAME = 'a'.repeat(260);

for (const backend of ['filesystem', 's3'] as const) {
  describe(`npm names too long for storage (${backend})`, () => {
    let s3: IS3TestServer | undefined;
    let r: INpmTestRegistry;

    before(async () => {
      if (backend === 's3') {
        s3 = await startS3Server();
        r = await createNpmRegistry({ storage: { type: 's3', ...s3.descriptor, bucketName: 'npm-names' } });
      } else {
        r = await createNpmRegistry();
      }
    });
    after(async () => {
      await r?.close();
      await s3?.stop();
    });

    const assertRefused = (response: { status: number; json: any; text: string }) => {
      assert.equal(response.status, 400, response.text);
      assert.match(response.json.error, /more than 214 characters/);
      assert.doesNotMatch(response.text, /npm\/packages|storage key/);
    };

    it('answers 400 to every route for a 260-character name and stores nothing', async () => {
      assertRefused(await r.request('GET', `/npm/${LONG_NAME}`));
      assertRefused(await r.request('GET', `/npm/${LONG_NAME}/1.0.0`));
      assertRefused(await r.request('GET', `/npm/${LONG_NAME}/-/${LONG_NAME}-1.0.0.tgz`));
      assertRefused(await r.request('GET', `/npm/-/package/${LONG_NAME}/dist-tags`));
      assertRefused(await r.request('GET', `/npm/@scope%2f${LONG_NAME}`));
      assertRefused(await r.publish(LONG_NAME, '1.0.0'));
      assert.deepEqual(await r.keys(), []);
    });

    it('refuses a version whose tarball file name would not fit in a key segment', async () => {
      const name = 'b'.repeat(200);
      const version = `1.0.0-${'x'.repeat(60)}`;
      const response = await r.publish(name, version);
      assert.equal(response.status, 400, response.text);
      assert.match(response.json.error, /version is longer than 50 characters/, 'says what is wrong, not that the attachment does not match');
      assert.doesNotMatch(response.text, /npm\/packages|storage key/);
      assert.deepEqual((await r.keys()).filter((key) => key.startsWith('npm/packages/')), []);
      // Exactly at the bound: 255 bytes. (s3rver keeps objects as files with a long suffix, so its own limit is lower.)
      if (backend === 'filesystem') assert.equal((await r.publish(name, `1.0.0-${'x'.repeat(44)}`)).status, 201);
    });
  });
}

describe('npm: a storage error names no key in the answer', () => {
  it('a filesystem collision answers 409 without the key', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-npm-collide-'));
    const r = await createNpmRegistry({ dir });
    try {
      // A stray file where the package's directory belongs: every write below it collides.
      await fsp.mkdir(path.join(dir, 'npm', 'packages'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'npm', 'packages', 'collide'), 'stray');
      const response = await r.publish('collide', '1.0.0');
      assert.equal(response.status, 409, response.text);
      assert.match(response.json.error, /collides/);
      assert.doesNotMatch(response.text, /npm\/packages|storage key/);
    } finally {
      await r.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
