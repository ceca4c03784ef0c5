/**
 * The Cargo proxy: index files from the upstream merged with local versions, the upstream's config.json
 * (`dl`) for downloads, crates cached and checked against the index's `cksum`, and a real `cargo build`
 * through the proxy. The resilience cases every protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing, envWithout, runClient } from '../helpers/clients.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import { publishCargo } from './protocols.fixtures.js';
import { oneUpstream, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const cargoMissing = clientMissing('cargo', ['--version']);
const sha256 = (bytes: Buffer) => crypto.createHash('sha256').update(bytes).digest('hex');

describe('cargo upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  const crates: Record<string, Buffer> = {};

  before(async () => {
    upstream = await startUpstreamRegistry();
    crates['tiny-json@1.0.0'] = (await publishCargo(upstream.registry, 'tiny-json', '1.0.0')).bytes;
    crates['tiny-json@1.1.0'] = (await publishCargo(upstream.registry, 'tiny-json', '1.1.0')).bytes;
  });
  after(() => upstream.stop());

  it('serves the upstream index file and crates downloaded by its dl, then from the cache', async () => {
    const proxy = await startProxyRegistry(oneUpstream('cargo', `sparse+${upstream.url}/cargo/`));
    try {
      const index = await sendRequest(proxy.registry, 'GET', '/cargo/ti/ny/tiny-json');
      assert.equal(index.status, 200, index.text);
      assert.equal(index.headers['x-cache'], 'MISS');
      const lines = index.text.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(lines.map((line) => [line.vers, line.cksum]), [
        ['1.0.0', sha256(crates['tiny-json@1.0.0'])],
        ['1.1.0', sha256(crates['tiny-json@1.1.0'])],
      ]);
      const config = await sendRequest(proxy.registry, 'GET', '/cargo/config.json');
      assert.equal(config.json.dl, 'http://registry.example.com/cargo/api/v1/crates', 'cargo downloads from us');

      const crate = await sendRequest(proxy.registry, 'GET', '/cargo/api/v1/crates/tiny-json/1.0.0/download');
      assert.equal(crate.status, 200, crate.text);
      assert.ok(crate.bytes.equals(crates['tiny-json@1.0.0']));
      assert.equal(crate.headers['x-cache'], 'MISS');
      assert.equal(upstream.count('/cargo/config.json'), 1, "the upstream's dl was read");
      const again = await sendRequest(proxy.registry, 'GET', '/cargo/api/v1/crates/tiny-json/1.0.0/download');
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.equal(upstream.count('/cargo/api/v1/crates/tiny-json/1.0.0/download'), 1);
      assert.equal((await proxy.keys('upstream/cargo/up/artifacts/')).length, 2, 'the crate and its record');
      assert.equal((await sendRequest(proxy.registry, 'GET', '/cargo/api/v1/crates/tiny-json/9.9.9/download')).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('merges local versions over the upstream ones', async () => {
    const proxy = await startProxyRegistry(oneUpstream('cargo', `${upstream.url}/cargo`));
    try {
      const local = (await publishCargo(proxy.registry, 'tiny-json', '1.1.0')).bytes;
      const index = await sendRequest(proxy.registry, 'GET', '/cargo/ti/ny/tiny-json');
      const lines = index.text.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(lines.map((line) => [line.vers, line.cksum]), [
        ['1.0.0', sha256(crates['tiny-json@1.0.0'])],
        ['1.1.0', sha256(local)],
      ]);
      const got = await sendRequest(proxy.registry, 'GET', '/cargo/api/v1/crates/tiny-json/1.1.0/download');
      assert.ok(got.bytes.equals(local), 'the local crate wins');
    } finally {
      await proxy.stop();
    }
  });

  it('answers a 304 of a merged index file (made per request) with the Vary of its 200', async () => {
    // Over the 1 KiB below which nothing is compressed.
    for (const vers of ['2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0', '2.5.0', '2.6.0', '2.7.0']) await publishCargo(upstream.registry, 'wide-json', vers);
    const proxy = await startProxyRegistry(oneUpstream('cargo', `${upstream.url}/cargo`));
    try {
      const gzip = { 'accept-encoding': 'gzip' };
      const index = await sendRequest(proxy.registry, 'GET', '/cargo/wi/de/wide-json', { headers: gzip });
      assert.ok(index.bytes.length >= 1024, `${index.bytes.length} bytes`);
      assert.equal(index.headers.vary, 'Accept-Encoding');
      const notModified = await sendRequest(proxy.registry, 'GET', '/cargo/wi/de/wide-json', { headers: { ...gzip, 'if-none-match': index.headers.etag } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.etag, index.headers.etag);
      assert.equal(notModified.headers.vary, 'Accept-Encoding');
      const plain = await sendRequest(proxy.registry, 'GET', '/cargo/wi/de/wide-json', { headers: { 'if-none-match': index.headers.etag } });
      assert.equal(plain.status, 304);
      assert.equal(plain.headers.vary, undefined, 'not asking gzip: the plain 200 has no Vary');
    } finally {
      await proxy.stop();
    }
  });

  it('cargo build through the proxy resolves and downloads a crate that only the upstream has', { skip: cargoMissing }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('cargo', `${upstream.url}/cargo`));
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-cargo-'));
    try {
      const home = path.join(root, 'home');
      await fsp.mkdir(home, { recursive: true });
      await fsp.writeFile(
        path.join(home, 'config.toml'),
        ['[registries.proxy]', `index = "sparse+${server.url}/cargo/"`, '', '[source.crates-io]', 'replace-with = "proxy"', '', '[net]', 'retry = 0', ''].join('\n'),
      );
      const app = path.join(root, 'app');
      await fsp.mkdir(path.join(app, 'src'), { recursive: true });
      await fsp.writeFile(
        path.join(app, 'Cargo.toml'),
        ['[package]', 'name = "proxy-consumer"', 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', 'tiny-json = { version = "=1.1.0", registry = "proxy" }', ''].join('\n'),
      );
      await fsp.writeFile(path.join(app, 'src', 'main.rs'), 'fn main() { println!("{}", tiny_json::name()); }\n');
      const env = envWithout(/^CARGO_/, { CARGO_HOME: home, CARGO_TERM_COLOR: 'never', CARGO_TARGET_DIR: path.join(root, 'target') });
      const result = await runClient('cargo', ['run', '--quiet'], { cwd: app, env });
      assert.equal(result.code, 0, `cargo run failed:\n${result.stderr}`);
      assert.equal(result.stdout.trim(), 'tiny-json@1.1.0');
      assert.equal(upstream.count('/cargo/api/v1/crates/tiny-json/1.1.0/download'), 1);
      assert.equal((await proxy.keys('upstream/cargo/up/artifacts/')).length, 2);
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
