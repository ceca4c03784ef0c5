/**
 * The test S3 engine (s3rver in a child, test/helpers/s3server.ts) stopped while documents are being overwritten,
 * as the outage tests stop it: after it starts again on its data, every object reads whole, with the ETag of its
 * own bytes, and no acknowledged write is lost. s3rver alone wrote its files in place, and a stop left an object
 * whose every read was a 500 or whose ETag was "" (the outage test then found a package's listing gone).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamToBuffer } from '../../../ts/core/helpers.stream.js';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { startS3Server, type IS3TestServer } from '../../helpers/s3server.js';

const ROUNDS = 15;
const KEYS = 8;
/** A document a few KiB long, a little longer with every write, naming its key and write. */
const documentOf = (key: number, write: number) => Buffer.from(JSON.stringify({ key, write, padding: 'x'.repeat(2000 + write) }));

describe('test S3 engine (s3rver): stopped during overwrites', () => {
  let server: IS3TestServer;
  let backend: S3Backend;
  const connect = async () => {
    backend = new S3Backend({ ...server.descriptor, bucketName: 'stopped-during-writes' });
    await backend.init();
  };
  before(async () => {
    server = await startS3Server();
    await connect();
  });
  after(async () => {
    await backend?.destroy();
    await server?.stop();
  });

  it(`${ROUNDS} stops at random moments: each object is an acknowledged or an in-flight write, whole, with its own ETag`, async (t) => {
    // The last write acknowledged per key: what the next start must serve at least.
    const acknowledged = Array.from({ length: KEYS }, () => 0);
    for (let key = 0; key < KEYS; key++) await backend.put(`doc/${key}`, documentOf(key, 0));
    let writesSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let stopping = false;
      const writers = acknowledged.map(async (_, key) => {
        while (!stopping) {
          const write = acknowledged[key]! + 1;
          try {
            await backend.put(`doc/${key}`, documentOf(key, write));
          } catch {
            return;
          }
          acknowledged[key] = write;
          writesSeen++;
        }
      });
      await sleep(20 + Math.random() * 200);
      await server.stop({ keepData: true });
      stopping = true;
      await Promise.all(writers);
      await backend.destroy();
      server = await startS3Server({ port: Number(server.descriptor.port), directory: server.directory });
      await connect();

      for (let key = 0; key < KEYS; key++) {
        const where = `round ${round}, doc/${key}`;
        const got = await backend.get(`doc/${key}`);
        assert.ok(got, `${where} is there`);
        const bytes = await streamToBuffer(got.stream);
        assert.equal(got.info.etag, `"${createHash('md5').update(bytes).digest('hex')}"`, `${where}: the ETag is the MD5 of the bytes`);
        const stored = JSON.parse(bytes.toString('utf8')) as { key: number; write: number };
        assert.equal(stored.key, key, where);
        // The write in flight when the engine stopped may have landed, as on any S3 engine.
        assert.ok(stored.write === acknowledged[key] || stored.write === acknowledged[key]! + 1, `${where}: write ${stored.write}, acknowledged ${acknowledged[key]}`);
        assert.ok(bytes.equals(documentOf(key, stored.write)), `${where}: the bytes of write ${stored.write}, whole`);
        acknowledged[key] = stored.write;
      }
    }
    t.diagnostic(`${writesSeen} overwrites acknowledged across ${ROUNDS} stops`);
    assert.ok(writesSeen > ROUNDS, 'documents were being overwritten when the engine stopped');
  });
});
