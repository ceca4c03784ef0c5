import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { once } from 'node:events';
import { listen } from '../../ts/cli/server.js';
import { createEchoRegistry, patternSha256 } from '../helpers/echoregistry.js';

const get = (port: number, path: string) =>
  new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, resolve).on('error', reject);
  });

test('serve shutdown: stops accepting at once, lets an in-flight download finish', async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0);
  try {
    const size = 16 * 1024 * 1024;
    const response = await get(server.port, `/npm/big?size=${size}`);
    response.pause();
    const closed = server.close(30_000);
    let closeDone = false;
    void closed.then(() => (closeDone = true));

    await assert.rejects(get(server.port, '/npm/info/x'), { code: 'ECONNREFUSED' });
    assert.equal(closeDone, false, 'close waits for the download');

    const hash = crypto.createHash('sha256');
    let length = 0;
    response.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    response.resume();
    await once(response, 'end');
    assert.equal(length, size);
    assert.equal(hash.digest('hex'), patternSha256(size));
    await closed;
  } finally {
    await server.close();
    await setup.cleanup();
  }
});

test('serve shutdown: a client that stops reading is cut off after the timeout', async () => {
  const setup = await createEchoRegistry({ npm: '/npm' });
  const server = await listen(setup.registry, '127.0.0.1', 0);
  try {
    const response = await get(server.port, `/npm/big?size=${512 * 1024 * 1024}`);
    response.pause();
    // Resolves only because the stuck connection is cut after 200 ms.
    await server.close(200);
    assert.equal(response.complete, false);
    response.destroy();
    // The cut-off download released its source stream.
    const download = setup.echo('npm').downloads[0];
    download.on('error', () => undefined);
    if (!download.destroyed) await new Promise((resolve) => download.once('close', resolve));
    assert.ok(download.destroyed);
  } finally {
    await setup.cleanup();
  }
});
