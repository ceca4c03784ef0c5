/**
 * Where a redirect cannot be made, the registry streams (issue 19): filesystem storage has no URLs of its
 * own (said once at start), and a backend that fails to sign is logged with its reason and streamed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartlogDestinationBuffer } from '@push.rocks/smartlog/destination-buffer';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { Logger } from '../../ts/core/classes.logger.js';
import { RegistryError } from '../../ts/core/classes.registryerror.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { resolveDownloads } from '../../ts/core/helpers.downloads.js';
import { serveObject } from '../../ts/core/helpers.serve.js';
import { storedArtifactSource } from '../../ts/core/helpers.storedsource.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { FilesystemBackend } from '../../ts/core/storage/index.js';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';

const capture = () => {
  const buffer = new SmartlogDestinationBuffer();
  return { buffer, logging: { level: 'warn' as const, console: false, destinations: [buffer] } };
};
const warnings = (buffer: SmartlogDestinationBuffer) => buffer.getEntries({ level: 'warn' }).map((entry) => entry.message);

/** A real filesystem backend whose signing fails the way a backend without usable credentials does. */
class UnsignableBackend extends FilesystemBackend {
  async presignGet(): Promise<string> {
    throw new Error('no credentials to sign with');
  }
}

describe('downloads: streaming where no redirect can be made', () => {
  it('filesystem storage with downloads.redirect: the artifact streams, and the start-up log says why', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-downloads-'));
    const { buffer, logging } = capture();
    const registry = new SmartRegistry({
      storage: { type: 'filesystem', path: dir },
      auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging,
      downloads: { redirect: true },
      npm: { enabled: true, basePath: '/npm' },
    });
    try {
      await registry.init();
      assert.deepEqual(warnings(buffer).filter((text) => /downloads\.redirect/.test(text)).length, 1);
      const token = await registry.getAuthManager().createNpmToken('alice');
      const authorization = `Bearer ${token}`;
      const { body, tarball } = await publishBody('streamed', '1.0.0');
      assert.equal((await sendRequest(registry, 'PUT', '/npm/streamed', { body, headers: { authorization } })).status, 201);
      const answer = await sendRequest(registry, 'GET', '/npm/streamed/-/streamed-1.0.0.tgz', { headers: { authorization } });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.location, undefined);
      assert.ok(answer.bytes.equals(tarball));
    } finally {
      await registry.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('signing fails: the object is streamed, afterGet runs for that read only, and the log gives the reason', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-downloads-'));
    const { buffer, logging } = capture();
    const gets: IStorageHookContext[] = [];
    const storage = new RegistryStorage(new UnsignableBackend(dir), { afterGet: (ctx) => void gets.push(ctx) }, new Logger(logging));
    try {
      await storage.init();
      const ctx = { protocol: 'npm' as const };
      await storage.putObject('npm/x/x-1.0.0.tgz', Buffer.from('tarball bytes'), ctx);
      const answer = await serveObject(
        { method: 'GET', headers: {}, downloads: resolveDownloads({ redirect: true }) },
        storedArtifactSource(storage, 'npm/x/x-1.0.0.tgz', ctx, 'application/octet-stream'),
        { notFound: () => RegistryError.notFound('missing') },
      );
      assert.equal(answer.status, 200);
      assert.equal((await streamToBuffer(answer.body as never)).toString(), 'tarball bytes');
      assert.deepEqual(gets.map((get) => get.metadata?.redirect), [undefined], 'one afterGet, for the streamed read');
      const [warning] = warnings(buffer);
      assert.match(warning ?? '', /could not presign a download URL for npm\/x\/x-1\.0\.0\.tgz; streaming it instead/);
      assert.match(warning ?? '', /no credentials to sign with/);
    } finally {
      await storage.destroy();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
