import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { cargoKeys, createCargoRegistry, frame, makeCrate, publishMetadata, readResponse, type ICargoTestRegistry } from './fixtures.js';

const PUBLISH = '/cargo/api/v1/crates/new';

describe('cargo: bad publish input stores nothing', () => {
  let r: ICargoTestRegistry;
  let keysBefore: string[];
  // A small unpacked limit, so a gzip bomb is cheap to make.
  const maxUnpackedBytes = 1024 * 1024;

  before(async () => {
    r = await createCargoRegistry({ cargoOptions: { maxUnpackedBytes } });
    assert.equal((await r.publish('existing', '1.0.0')).status, 200);
    keysBefore = await cargoKeys(r);
  });
  after(() => r.close());

  /** Publish `body` and expect `status` with a detail matching `detail`, and storage as it was. */
  const refused = async (body: Buffer, status: number, detail: RegExp, headers: Record<string, string> = {}) => {
    const res = await r.request('PUT', PUBLISH, { body, headers });
    assert.equal(res.status, status, res.text);
    assert.equal(res.json.errors.length, 1);
    assert.match(res.json.errors[0].detail, detail);
    assert.deepEqual(await cargoKeys(r), keysBefore);
  };

  const good = async (name = 'fresh', vers = '1.0.0') => ({ json: JSON.stringify(publishMetadata(name, vers)), crate: await makeCrate(name, vers) });

  it('refuses an empty body and framing cut inside each part', async () => {
    const { json, crate } = await good();
    const whole = frame(json, crate);
    await refused(Buffer.alloc(0), 400, /ends inside the metadata length/);
    await refused(whole.subarray(0, 2), 400, /ends inside the metadata length/);
    // With a Content-Length, a length running past the body is refused before reading on ...
    await refused(whole.subarray(0, 10), 400, /metadata length \(\d+\) runs past the body's 10 bytes/);
    await refused(whole.subarray(0, 4 + json.length + 2), 400, /runs past the body's/);
    // ... without one, the stream is found short.
    for (const [cut, detail] of [
      [10, /ends inside the metadata JSON/],
      [4 + json.length + 2, /ends inside the \.crate length/],
    ] as const) {
      const res = await readResponse(
        await r.registry.handleRequest({ method: 'PUT', path: PUBLISH, query: {}, headers: { authorization: r.tokens.alice }, body: Readable.from([whole.subarray(0, cut)]) }),
      );
      assert.equal(res.status, 400, res.text);
      assert.match(res.json.errors[0].detail, detail);
    }
    assert.deepEqual(await cargoKeys(r), keysBefore);
  });

  it('refuses lengths that disagree with the body', async () => {
    const { json, crate } = await good();
    // The crate length claims more than the body holds: the Content-Length says so before any byte is stored.
    await refused(frame(json, crate, { crate: crate.length + 100 }), 400, /disagree with the body/);
    // Without a Content-Length the stream itself is found short or long.
    const streamed = async (body: Buffer) =>
      readResponse(
        await r.registry.handleRequest({
          method: 'PUT',
          path: PUBLISH,
          query: {},
          headers: { authorization: r.tokens.alice },
          body: Readable.from([body]),
        }),
      );
    const short = await streamed(frame(json, crate, { crate: crate.length + 100 }));
    assert.equal(short.status, 400, short.text);
    assert.match(short.json.errors[0].detail, /ends inside the \.crate/);
    const long = await streamed(frame(json, crate, { crate: crate.length - 10 }));
    assert.equal(long.status, 400, long.text);
    assert.match(long.json.errors[0].detail, /bytes after the \.crate|truncated|not gzip/);
    await refused(frame(json, crate, { json: 0xffffffff }), 413, /metadata of 4294967295 bytes exceeds the limit/);
    assert.deepEqual(await cargoKeys(r), keysBefore);
  });

  it('refuses metadata that is not JSON or not an object', async () => {
    const crate = await makeCrate('fresh', '1.0.0');
    await refused(frame('{not json', crate), 400, /not JSON/);
    await refused(frame('[1,2]', crate), 400, /expected a JSON object/);
    await refused(frame('"text"', crate), 400, /expected a JSON object/);
    await refused(frame(JSON.stringify({ ...publishMetadata('fresh', '1.0.0'), deps: {} }), crate), 400, /deps must be a list/);
    await refused(frame(JSON.stringify({ ...publishMetadata('fresh', '1.0.0'), deps: [{ name: 'x' }] }), crate), 400, /version_req/);
    await refused(frame(JSON.stringify({ ...publishMetadata('fresh', '1.0.0'), readme: { text: 'x' } }), crate), 400, /readme must be/);
  });

  it('refuses a second publish of a version with its readme, keeping nothing of it', async () => {
    const again = frame(JSON.stringify(publishMetadata('existing', '1.0.0', { readme: '# Replaced?' })), await makeCrate('existing', '1.0.0'));
    await refused(again, 409, /already exists/);
  });

  it('refuses invalid and reserved names and versions', async () => {
    for (const [name, detail] of [
      ['', /empty/],
      ['1abc', /invalid crate name/],
      ['has space', /invalid crate name/],
      ['ünï', /invalid crate name/],
      ['a'.repeat(65), /longer than 64/],
      ['std', /reserved/],
      ['Proc_Macro', /reserved/],
      ['nul', /reserved/],
      ['com1', /reserved/],
    ] as const) {
      await refused(frame(JSON.stringify(publishMetadata(name, '1.0.0')), await makeCrate('x', '1.0.0')), 400, detail);
    }
    for (const vers of ['1.0', 'v1.0.0', '=1.0.0', '1.0.0 ', 'latest']) {
      await refused(frame(JSON.stringify(publishMetadata('fresh', vers)), await makeCrate('fresh', '1.0.0')), 400, /invalid version/);
    }
  });

  it('refuses a .crate that is not gzip, not a tar, or has no Cargo.toml', async () => {
    const json = JSON.stringify(publishMetadata('fresh', '1.0.0'));
    await refused(frame(json, Buffer.from('this is not gzip at all')), 400, /not gzip/);
    await refused(frame(json, zlib.gzipSync(Buffer.from('not a tar archive, only text'))), 400, /tar/);
    await refused(frame(json, await makeCrate('fresh', '1.0.0', { toml: null })), 400, /has no fresh-1\.0\.0\/Cargo\.toml/);
    const cut = await makeCrate('fresh', '1.0.0');
    await refused(frame(json, cut.subarray(0, cut.length - 20)), 400, /truncated/);
  });

  it('refuses a .crate whose Cargo.toml disagrees with the metadata', async () => {
    const json = JSON.stringify(publishMetadata('fresh', '1.0.0'));
    await refused(frame(json, await makeCrate('fresh', '1.0.0', { tomlName: 'other' })), 400, /names the crate "other"/);
    await refused(frame(json, await makeCrate('fresh', '1.0.0', { tomlVersion: '2.0.0' })), 400, /has version "2\.0\.0"/);
    await refused(frame(json, await makeCrate('fresh', '1.0.0', { toml: '[package\nname = ' })), 400, /not valid TOML/);
    await refused(frame(json, await makeCrate('fresh', '1.0.0', { toml: 'name = "fresh"\n' })), 400, /no \[package\] table/);
  });

  it('refuses a gzip bomb', async () => {
    const bomb = await makeCrate('fresh', '1.0.0', { zeroBytes: maxUnpackedBytes * 4 });
    assert.ok(bomb.length < maxUnpackedBytes / 50, 'the bomb is small');
    await refused(frame(JSON.stringify(publishMetadata('fresh', '1.0.0')), bomb), 413, /inflates past the limit/);
  });

  it('refuses a publish without a token', async () => {
    const { json, crate } = await good();
    const res = await r.request('PUT', PUBLISH, { body: frame(json, crate), token: null });
    assert.equal(res.status, 401);
    assert.deepEqual(await cargoKeys(r), keysBefore);
  });

  it('refuses bad names and versions in API paths, and owner bodies that are not lists of logins', async () => {
    assert.equal((await r.request('GET', '/cargo/api/v1/crates/bad%20name/1.0.0/download')).status, 400);
    assert.equal((await r.request('GET', '/cargo/api/v1/crates/existing/not-a-version/download')).status, 400);
    assert.equal((await r.request('GET', '/cargo/api/v1/crates/..%2f..%2fauth/1.0.0/download')).status, 400);
    for (const body of [{}, { users: [] }, { users: 'alice' }, { users: [1] }, '{oops']) {
      const res = await r.request('PUT', '/cargo/api/v1/crates/existing/owners', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(res.json.errors[0].detail);
    }
    assert.deepEqual(await cargoKeys(r), keysBefore);
  });
});
