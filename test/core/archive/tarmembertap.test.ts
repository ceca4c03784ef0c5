import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Readable, pipeline } from 'node:stream';
import tar from 'tar-stream';
import { TarMemberTap, readTarMembers, type ITarMemberOptions } from '../../../ts/core/archive/classes.tarmembertap.js';
import { gunzipBounded } from '../../../ts/core/archive/helpers.compression.js';
import { CORE_CONTEXT, type RegistryStorage } from '../../../ts/core/classes.registrystorage.js';
import { RegistryError, type TRegistryErrorKind } from '../../../ts/core/classes.registryerror.js';
import { startTempStorage } from '../../helpers/tempstorage.js';
import { generatedStream } from '../storage/backend.suite.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const isKind = (kind: TRegistryErrorKind, message?: RegExp) => (error: unknown) =>
  error instanceof RegistryError && error.kind === kind && (!message || message.test(error.message));

interface ITarEntry {
  name: string;
  data?: Buffer;
  /** Streamed member of this many bytes: zeros, or pseudo-random with `seed`. */
  size?: number;
  seed?: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

async function* zeros(size: number) {
  const block = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) yield block.subarray(0, Math.min(MiB, left));
}

/** A tar (gzipped with `gzip`) built by tar-stream, as a stream: large members are never held whole. */
function tarStream(entries: ITarEntry[], gzip: boolean): Readable {
  const pack = tar.pack();
  (async () => {
    for (const entry of entries) {
      if (entry.data || entry.type === 'directory' || entry.type === 'symlink') {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ name: entry.name, type: entry.type ?? 'file', linkname: entry.linkname }, entry.data ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
        );
        continue;
      }
      const size = entry.size ?? 0;
      const sink = pack.entry({ name: entry.name, size });
      for await (const chunk of entry.seed ? generatedStream(entry.seed, size) : zeros(size)) {
        if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
      }
      await new Promise((resolve) => sink.end(resolve));
    }
    pack.finalize();
  })().catch((error) => pack.destroy(error));
  const bytes = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  return gzip ? bytes.pipe(zlib.createGzip({ level: 1 })) : bytes;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const cargoToml = Buffer.from('[package]\nname = "demo"\nversion = "1.0.0"\nedition = "2021"\n');
const crateEntries = (bigBytes = 1 * MiB): ITarEntry[] => [
  { name: 'demo-1.0.0/Cargo.toml.orig', data: Buffer.from('[package]\nname="demo"\n') },
  { name: 'demo-1.0.0/Cargo.toml', data: cargoToml },
  { name: 'demo-1.0.0/src/lib.rs', data: Buffer.from('pub fn demo() {}\n') },
  { name: `demo-1.0.0/assets/${'very-long-directory-name/'.repeat(8)}blob.bin`, size: bigBytes, seed: 'crate' },
];
const crateOptions: ITarMemberOptions = { format: 'tar.gz', wanted: (name) => name === 'demo-1.0.0/Cargo.toml' };

describe('tar members while an upload streams into storage', () => {
  let env: Awaited<ReturnType<typeof startTempStorage>>;
  let storage: RegistryStorage;
  let counter = 0;

  before(async () => {
    env = await startTempStorage('sr-tar-');
    storage = env.storage;
  });
  after(() => env.stop());

  const storedKeys = () => env.keys();

  /** What a protocol's upload does: the body through the tap into storage, both awaited. */
  async function upload(source: Readable, options: ITarMemberOptions) {
    const key = `uploads/${++counter}`;
    const tap = new TarMemberTap(options);
    pipeline(source, tap, () => undefined);
    const [stored, members] = await Promise.allSettled([storage.putObject(key, tap, CORE_CONTEXT), tap.members]);
    return { key, stored, members };
  }

  it('finds a .crate Cargo.toml and stores exactly the bytes received', async () => {
    const crate = await bytesOf(tarStream(crateEntries(20 * MiB), true));
    const { key, stored, members } = await upload(Readable.from([crate.subarray(0, 1000), crate.subarray(1000)]), crateOptions);
    assert.equal(stored.status, 'fulfilled');
    assert.equal(members.status, 'fulfilled');
    assert.deepEqual([...members.value.keys()], ['demo-1.0.0/Cargo.toml']);
    assert.deepEqual(members.value.get('demo-1.0.0/Cargo.toml'), cargoToml);
    assert.equal(stored.value.digests.sha256, crypto.createHash('sha256').update(crate).digest('hex'));
    const back = await storage.getObject(key, CORE_CONTEXT);
    assert.deepEqual(await bytesOf(back!.stream), crate);
  });

  it('inflates a small tar.gz of a declared length in one call: the same members, limits and refusals', async () => {
    const crate = await bytesOf(tarStream(crateEntries(2 * KiB), true));
    const inline = { ...crateOptions, knownLength: crate.length };
    const { stored, members } = await upload(Readable.from([crate.subarray(0, 100), crate.subarray(100)]), inline);
    assert.equal(stored.status, 'fulfilled');
    assert.equal(members.status, 'fulfilled');
    assert.deepEqual(members.value.get('demo-1.0.0/Cargo.toml'), cargoToml);
    const bomb = await bytesOf(tarStream([{ name: 'demo-1.0.0/Cargo.toml', data: cargoToml }, { name: 'demo-1.0.0/zeros', size: 8 * MiB }], true));
    assert.ok(bomb.length < 64 * KiB, `the bomb has ${bomb.length} bytes`);
    const refused = await upload(Readable.from([bomb]), { ...crateOptions, knownLength: bomb.length, limits: { maxTarBytes: 1 * MiB } });
    assert.equal(refused.stored.status, 'rejected');
    assert.ok(isKind('too-large', /inflates past the limit of 1048576 bytes/)((refused.members as PromiseRejectedResult).reason));
    const garbage = crypto.randomBytes(500);
    const notGzip = await upload(Readable.from([garbage]), { ...crateOptions, knownLength: garbage.length });
    assert.ok(isKind('invalid', /not gzip-compressed/)((notGzip.members as PromiseRejectedResult).reason));
    const longer = await upload(Readable.from([crate]), { ...crateOptions, knownLength: crate.length - 1 });
    assert.ok(isKind('invalid', /more than the \d+ bytes declared/)((longer.members as PromiseRejectedResult).reason));
    assert.equal(longer.stored.status, 'rejected');
    for (const { key } of [refused, notGzip, longer]) assert.equal((await storedKeys()).includes(key), false);
  });

  it('finds a .gem metadata.gz (plain tar) and inflates it within a limit', async () => {
    const yaml = Buffer.from('--- !ruby/object:Gem::Specification\nname: demo\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\n');
    const dataTarGz = await bytesOf(tarStream([{ name: 'lib/demo.rb', data: Buffer.from('module Demo; end\n') }], true));
    const gem = await bytesOf(tarStream([
      { name: 'metadata.gz', data: zlib.gzipSync(yaml) },
      { name: 'data.tar.gz', data: dataTarGz },
      { name: 'checksums.yaml.gz', data: zlib.gzipSync('---\n') },
    ], false));
    const { stored, members } = await upload(Readable.from([gem]), { format: 'tar', wanted: (name) => name === 'metadata.gz' });
    assert.equal(stored.status, 'fulfilled');
    assert.equal(members.status, 'fulfilled');
    assert.deepEqual(await gunzipBounded(members.value.get('metadata.gz')!, 64 * KiB, 'metadata.gz'), yaml);
    assert.equal(stored.value.size, gem.length);
  });

  it('finds an sdist top-level PKG-INFO, not the one in egg-info', async () => {
    const pkgInfo = Buffer.from('Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n');
    const sdist = tarStream([
      { name: 'demo-1.0/', type: 'directory' },
      { name: 'demo-1.0/demo.egg-info/PKG-INFO', data: Buffer.from('Metadata-Version: 2.1\nName: other\n') },
      { name: 'demo-1.0/PKG-INFO', data: pkgInfo },
      { name: 'demo-1.0/setup.py', data: Buffer.from('from setuptools import setup\nsetup()\n') },
    ], true);
    const members = await readTarMembers(sdist, { format: 'tar.gz', wanted: (name) => /^[^/]+\/PKG-INFO$/.test(name) });
    assert.deepEqual([...members.entries()], [['demo-1.0/PKG-INFO', pkgInfo]]);
  });

  it('stops a gzip bomb with a 413 after the tar byte limit and stores nothing', async () => {
    const keysBefore = await storedKeys();
    // 1 GiB of zeros in one member, gzipped while the tap reads it: about 1 MiB of gzip, never in memory.
    let sourceBytes = 0;
    const bomb = tarStream([{ name: 'demo-1.0.0/Cargo.toml', data: cargoToml }, { name: 'demo-1.0.0/zeros', size: 1 * GiB }], true);
    bomb.on('data', (chunk: Buffer) => (sourceBytes += chunk.length));
    const { stored, members } = await upload(bomb, { ...crateOptions, limits: { maxTarBytes: 64 * MiB } });
    assert.equal(stored.status, 'rejected');
    assert.ok(isKind('too-large', /gzip stream inflates past the limit of 67108864 bytes/)(stored.reason), String(stored.reason));
    assert.equal((stored.reason as RegistryError).status, 413);
    assert.equal(members.status, 'rejected');
    assert.equal(members.reason, stored.reason, 'the caller sees one error from either');
    assert.ok(sourceBytes < 1 * MiB, `read ${sourceBytes} gzip bytes of the bomb`);
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('refuses a wanted member over the member limit before buffering it, and too many members', async () => {
    const keysBefore = await storedKeys();
    const big = await upload(tarStream([{ name: 'demo-1.0.0/Cargo.toml', size: 2 * MiB }], true), {
      ...crateOptions,
      limits: { maxMemberBytes: 1 * MiB },
    });
    assert.ok(isKind('too-large', /"demo-1.0.0\/Cargo.toml" has 2097152 bytes, over the limit of 1048576/)(big.stored.status === 'rejected' && big.stored.reason));
    const many = Array.from({ length: 11 }, (_, index) => ({ name: `demo-1.0.0/f${index}`, data: Buffer.from('x') }));
    const crowded = await upload(tarStream(many, true), { ...crateOptions, limits: { maxMembers: 10 } });
    assert.ok(isKind('too-large', /more than 10 members/)(crowded.members.status === 'rejected' && crowded.members.reason));
    assert.equal(crowded.stored.status, 'rejected');
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('refuses unsafe names, a wanted member twice, and a wanted name that is not a regular file', async () => {
    const keysBefore = await storedKeys();
    const cases: [ITarEntry[], RegExp][] = [
      [[{ name: '../evil', data: Buffer.from('x') }], /contains a "\.\." segment/],
      [[{ name: 'demo-1.0.0/Cargo.toml', data: cargoToml }, { name: 'demo-1.0.0/Cargo.toml', data: cargoToml }], /appears twice/],
      [[{ name: 'demo-1.0.0/Cargo.toml', type: 'symlink', linkname: '/etc/passwd' }], /is not a regular file/],
    ];
    for (const [entries, message] of cases) {
      const { stored, members } = await upload(tarStream(entries, true), crateOptions);
      assert.ok(isKind('invalid', message)(members.status === 'rejected' && members.reason), String(message));
      assert.equal(stored.status, 'rejected');
    }
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('answers input that is not gzip, not tar, or cut short with a clear 400 and stores nothing', async () => {
    const keysBefore = await storedKeys();
    const crateTar = await bytesOf(tarStream(crateEntries(64 * KiB), false));
    const crateGz = zlib.gzipSync(crateTar);
    const cases: [Buffer, ITarMemberOptions['format'], RegExp][] = [
      [crateTar, 'tar.gz', /archive is not gzip-compressed data/],
      [zlib.gzipSync(crypto.randomBytes(4 * KiB)), 'tar.gz', /not a tar archive/],
      [crypto.randomBytes(4 * KiB), 'tar', /not a tar archive/],
      [crateGz.subarray(0, crateGz.length - 100), 'tar.gz', /archive is truncated/],
      [crateTar.subarray(0, 3000), 'tar', /tar archive is truncated/],
      // Cut after the last member (tar-stream ends with the two zero blocks): only the missing marker tells.
      [crateTar.subarray(0, crateTar.length - 1024), 'tar', /no end-of-archive marker/],
      [Buffer.alloc(0), 'tar.gz', /archive is truncated/],
      [Buffer.alloc(0), 'tar', /no end-of-archive marker/],
    ];
    for (const [bytes, format, message] of cases) {
      const { stored, members } = await upload(Readable.from([bytes]), { format, wanted: () => true });
      assert.ok(isKind('invalid', message)(members.status === 'rejected' && members.reason), `${message}: ${members.status === 'rejected' ? members.reason : 'fulfilled'}`);
      assert.equal(stored.status, 'rejected');
      assert.equal(members.status === 'rejected' && (members.reason as RegistryError).status, 400);
    }
    assert.deepEqual(await storedKeys(), keysBefore);
  });

  it('reports the client going away as itself, and stores nothing', async () => {
    const keysBefore = await storedKeys();
    const crate = await bytesOf(tarStream(crateEntries(4 * MiB), true));
    const source = Readable.from((async function* () {
      yield crate.subarray(0, 64 * KiB);
      throw new Error('client went away');
    })(), { objectMode: false });
    const { stored, members } = await upload(source, crateOptions);
    assert.equal(stored.status, 'rejected');
    assert.equal(members.status, 'rejected');
    assert.match(String(members.reason), /client went away/);
    assert.deepEqual(await storedKeys(), keysBefore);
  });
});

describe('gunzipBounded', () => {
  it('inflates within the limit, refuses a bomb with 413 and non-gzip with 400', async () => {
    assert.deepEqual(await gunzipBounded(zlib.gzipSync('hello'), 5, 'metadata.gz'), Buffer.from('hello'));
    await assert.rejects(gunzipBounded(zlib.gzipSync(Buffer.alloc(10 * MiB)), 1 * MiB, 'metadata.gz'), isKind('too-large', /metadata.gz inflates past the limit of 1048576 bytes/));
    await assert.rejects(gunzipBounded(Buffer.from('not gzip'), 1 * MiB, 'metadata.gz'), isKind('invalid', /metadata.gz is not valid gzip/));
    await assert.rejects(gunzipBounded(zlib.gzipSync('hello').subarray(0, 12), 1 * MiB, 'metadata.gz'), isKind('invalid'));
  });
});
