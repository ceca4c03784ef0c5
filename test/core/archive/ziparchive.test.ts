import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZipArchive, type IZipEntry } from '../../../ts/core/archive/classes.ziparchive.js';
import { assertSafeMemberName } from '../../../ts/core/archive/helpers.archivenames.js';
import { CORE_CONTEXT, RegistryStorage } from '../../../ts/core/classes.registrystorage.js';
import { RegistryError, type TRegistryErrorKind } from '../../../ts/core/classes.registryerror.js';
import { FilesystemBackend } from '../../../ts/core/storage/classes.filesystembackend.js';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import type { IStorageBackend } from '../../../ts/core/storage/interfaces.storage.js';
import { clientMissing } from '../../helpers/clients.js';
import { startS3Server } from '../../helpers/s3server.js';
import { generatedStream } from '../storage/backend.suite.js';
import { CountingBackend } from './countingbackend.js';
import { zipBuffer, zipStream, type ITestZipEntry } from './zipwriter.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const isKind = (kind: TRegistryErrorKind, message?: RegExp) => (error: unknown) =>
  error instanceof RegistryError && error.kind === kind && (!message || message.test(error.message));

const metadata = Buffer.from('Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: a demo\n\n' + 'long description\n'.repeat(200));
const composerJson = Buffer.from(JSON.stringify({ name: 'acme/demo', version: '1.0.0', require: { php: '>=8.1' } }));

/** `size` deterministic pseudo-random bytes, made while they are written (incompressible, never whole in memory). */
const randomChunks = (seed: string, size: number) => () => generatedStream(seed, size) as AsyncIterable<Buffer>;

const wheelEntries = (payloadBytes = 10 * KiB): ITestZipEntry[] => [
  { name: 'demo/__init__.py', data: Buffer.from('VERSION = "1.0"\n'), method: 'deflate' },
  { name: 'demo/payload.bin', data: randomChunks('payload', payloadBytes) },
  { name: 'demo-1.0.dist-info/', data: Buffer.alloc(0) },
  { name: 'demo-1.0.dist-info/METADATA', data: metadata, method: 'deflate' },
  { name: 'demo-1.0.dist-info/RECORD', data: Buffer.from('demo/__init__.py,,\n'), method: 'stored' },
];

const isWheelMetadata = (entry: IZipEntry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.name);

async function withStorage(makeBackend: () => Promise<{ backend: IStorageBackend; stop(): Promise<void> }>) {
  const { backend, stop } = await makeBackend();
  const counting = new CountingBackend(backend);
  const storage = new RegistryStorage(counting);
  await storage.init();
  return {
    storage,
    counting,
    put: (key: string, bytes: Buffer | ReturnType<typeof zipStream>) => storage.putObject(key, bytes, CORE_CONTEXT),
    stop: async () => {
      await storage.destroy();
      await stop();
    },
  };
}

const backends = {
  filesystem: async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-zip-'));
    return { backend: new FilesystemBackend(root), stop: () => fsp.rm(root, { recursive: true, force: true }) };
  },
  's3 (s3rver)': async () => {
    const server = await startS3Server();
    return { backend: new S3Backend({ ...server.descriptor, bucketName: 'zip-test' }), stop: () => server.stop() };
  },
};

for (const [backendName, makeBackend] of Object.entries(backends)) {
  describe(`zip archive over ranged reads: ${backendName}`, () => {
    let env: Awaited<ReturnType<typeof withStorage>>;
    before(async () => (env = await withStorage(makeBackend)));
    after(() => env.stop());

    it('lists entries with sizes and reads a wheel METADATA found by a predicate', async () => {
      await env.put('zip/demo.whl', await zipBuffer(wheelEntries()));
      const archive = await ZipArchive.open(env.storage, 'zip/demo.whl', CORE_CONTEXT);
      assert.deepEqual(
        archive.entries.map((entry) => [entry.name, entry.uncompressedSize, entry.isDirectory]),
        [
          ['demo/__init__.py', 16, false],
          ['demo/payload.bin', 10 * KiB, false],
          ['demo-1.0.dist-info/', 0, true],
          ['demo-1.0.dist-info/METADATA', metadata.length, false],
          ['demo-1.0.dist-info/RECORD', 19, false],
        ],
      );
      const entry = archive.findMember(isWheelMetadata);
      assert.ok(entry);
      assert.ok(entry.compressedSize < entry.uncompressedSize, 'METADATA is deflated');
      assert.deepEqual(await archive.readMember(entry, 64 * KiB), metadata);
      assert.equal((await archive.readMember('demo-1.0.dist-info/RECORD', 64 * KiB)).toString(), 'demo/__init__.py,,\n');
    });

    it('reads a member of a large archive with a few KiB from storage, the same as of a small one', async () => {
      const readMetadata = async (key: string, payloadBytes: number) => {
        await env.put(key, zipStream(wheelEntries(payloadBytes)));
        env.counting.reset();
        const archive = await ZipArchive.open(env.storage, key, CORE_CONTEXT);
        const entry = archive.findMember(isWheelMetadata)!;
        assert.deepEqual(await archive.readMember(entry, 64 * KiB), metadata);
        return { bytesRead: env.counting.bytesRead, reads: env.counting.reads.length, compressed: entry.compressedSize };
      };
      const small = await readMetadata('zip/small.whl', 64 * KiB);
      const large = await readMetadata('zip/large.whl', 48 * MiB);
      assert.equal(large.bytesRead, small.bytesRead, 'bytes read do not grow with the archive');
      // Wheels put their .dist-info last: the first read at the end holds the directory and METADATA with it.
      assert.equal(large.reads, 1, 'the tail with the directory, the local header and the member data');
      assert.ok(large.bytesRead < 8 * KiB + 200 + large.compressed, `read ${large.bytesRead} bytes of a 48 MiB archive`);
    });

    it('reads a ZIP64 archive (ZIP64 end record, locator and extra fields)', async () => {
      await env.put('zip/zip64.whl', await zipBuffer(wheelEntries(), { zip64: true }));
      const archive = await ZipArchive.open(env.storage, 'zip/zip64.whl', CORE_CONTEXT);
      assert.equal(archive.entries.length, 5);
      assert.equal(archive.entries[1].uncompressedSize, 10 * KiB);
      assert.deepEqual(await archive.readMember(archive.findMember(isWheelMetadata)!, 64 * KiB), metadata);
      assert.equal((await archive.readMember('demo/payload.bin', 64 * KiB)).length, 10 * KiB);
    });

    it('opens an archive it was just given the size and etag of (its put) without a stat, and checks that etag on every read', async () => {
      const put = await env.put('zip/known.whl', await zipBuffer(wheelEntries()));
      env.counting.reset();
      const archive = await ZipArchive.open(env.storage, 'zip/known.whl', CORE_CONTEXT, {}, { size: put.size, etag: put.etag });
      assert.deepEqual(await archive.readMember(archive.findMember(isWheelMetadata)!, 64 * KiB), metadata);
      assert.equal(env.counting.stats, 0);
      assert.equal(env.counting.reads.length, 1);
      const stale = ZipArchive.open(env.storage, 'zip/known.whl', CORE_CONTEXT, {}, { size: put.size, etag: '"0000"' });
      await assert.rejects(stale, isKind('conflict', /overwritten/));
    });

    it('reads a zip just stored from the tail its tail keeper kept: a small one with no read, a large one with only the member read', async () => {
      const storeKept = async (key: string, payloadBytes: number) => {
        const keeper = ZipArchive.tailKeeper();
        const put = await env.storage.putObject(key, zipStream(wheelEntries(payloadBytes)).pipe(keeper), CORE_CONTEXT);
        return { size: put.size, etag: put.etag, tail: keeper.tail };
      };
      const small = await storeKept('zip/kept-small.whl', 8 * KiB);
      assert.equal(small.tail.length, small.size, 'a small archive is kept whole');
      env.counting.reset();
      const archive = await ZipArchive.open(env.storage, 'zip/kept-small.whl', CORE_CONTEXT, {}, small);
      assert.deepEqual(await archive.readMember(archive.findMember(isWheelMetadata)!, 64 * KiB), metadata);
      assert.equal((await archive.readMember('demo/__init__.py', 64 * KiB)).toString(), 'VERSION = "1.0"\n');
      assert.deepEqual([env.counting.stats, env.counting.reads.length], [0, 0]);

      const large = await storeKept('zip/kept-large.whl', 4 * MiB);
      assert.equal(large.tail.length, 64 * KiB);
      env.counting.reset();
      const big = await ZipArchive.open(env.storage, 'zip/kept-large.whl', CORE_CONTEXT, {}, large);
      assert.deepEqual(await big.readMember(big.findMember(isWheelMetadata)!, 64 * KiB), metadata);
      assert.deepEqual([env.counting.stats, env.counting.reads.length], [0, 0], 'METADATA lies in the kept tail');
      assert.equal((await big.readMember('demo/payload.bin', 8 * MiB)).length, 4 * MiB);
      assert.equal(env.counting.reads.length, 2, 'the payload: its local header, then its data');
    });

    it('reads an empty archive, whose only read is the whole 22-byte object', async () => {
      await env.put('zip/empty.zip', await zipBuffer([]));
      env.counting.reset();
      const archive = await ZipArchive.open(env.storage, 'zip/empty.zip', CORE_CONTEXT);
      assert.deepEqual(archive.entries, []);
      assert.deepEqual(env.counting.reads.map((read) => read.range), [{ start: 0 }]);
    });
  });
}

describe('zip archive: formats and bad input', () => {
  let env: Awaited<ReturnType<typeof withStorage>>;
  let counter = 0;
  before(async () => (env = await withStorage(backends.filesystem)));
  after(() => env.stop());

  const store = async (bytes: Buffer) => {
    const key = `zip/case-${++counter}.zip`;
    await env.put(key, bytes);
    return key;
  };
  const open = async (bytes: Buffer, limits?: Parameters<typeof ZipArchive.open>[3]) =>
    ZipArchive.open(env.storage, await store(bytes), CORE_CONTEXT, limits);

  it('finds a composer.json at the root or in one top folder', async () => {
    const inTopFolder = await open(await zipBuffer([
      { name: 'acme-demo-1a2b3c/', data: Buffer.alloc(0) },
      { name: 'acme-demo-1a2b3c/src/deep/composer.json', data: Buffer.from('{}') },
      { name: 'acme-demo-1a2b3c/composer.json', data: composerJson, method: 'deflate' },
    ]));
    const atMostOneFolderDeep = (entry: IZipEntry) => /^([^/]+\/)?composer\.json$/.test(entry.name);
    assert.equal(inTopFolder.findMember(atMostOneFolderDeep)?.name, 'acme-demo-1a2b3c/composer.json');
    assert.deepEqual(JSON.parse((await inTopFolder.readMember(inTopFolder.findMember(atMostOneFolderDeep)!, 1 * MiB)).toString()), JSON.parse(composerJson.toString()));
    const atRoot = await open(await zipBuffer([{ name: 'composer.json', data: composerJson }]));
    assert.deepEqual(await atRoot.readMember(atRoot.findMember(atMostOneFolderDeep)!, 1 * MiB), composerJson);
    assert.equal(atRoot.findMember((entry) => entry.name === 'nothing'), undefined);
  });

  it('finds the end record behind a long comment, also one holding a fake end-record signature', async () => {
    const fakeRecord = Buffer.from('504b0506000000000100010010000000ffff000000', 'hex');
    const comment = Buffer.concat([Buffer.alloc(20 * KiB, 'c'), fakeRecord, Buffer.from(' end')]);
    const archive = await open(await zipBuffer(wheelEntries(), { comment }));
    assert.equal(archive.entries.length, 5);
    assert.deepEqual(await archive.readMember(archive.findMember(isWheelMetadata)!, 64 * KiB), metadata);
  });

  it('reads a member streamed with a data descriptor', async () => {
    const archive = await open(await zipBuffer([{ name: 'streamed.bin', data: randomChunks('streamed', 3 * MiB + 5) }]));
    const data = await archive.readMember('streamed.bin', 4 * MiB);
    assert.equal(data.length, 3 * MiB + 5);
    const expected: Buffer[] = [];
    for await (const chunk of randomChunks('streamed', 3 * MiB + 5)()) expected.push(chunk);
    assert.deepEqual(data, Buffer.concat(expected));
  });

  const noInfoZip = clientMissing('zip', ['-v']);
  it('reads archives written by Info-ZIP zip, with and without forced ZIP64', { skip: noInfoZip }, async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-infozip-'));
    try {
      await fsp.mkdir(path.join(dir, 'acme-demo', 'src'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'acme-demo', 'composer.json'), composerJson);
      await fsp.writeFile(path.join(dir, 'acme-demo', 'src', 'Demo.php'), '<?php\n'.repeat(1000));
      for (const flags of [['-r'], ['-r', '-fz']]) {
        const file = path.join(dir, `out${flags.length}.zip`);
        const zipped = spawnSync('zip', ['-q', ...flags, file, 'acme-demo'], { cwd: dir });
        assert.equal(zipped.status, 0, zipped.stderr?.toString());
        const archive = await open(await fsp.readFile(file));
        assert.deepEqual(archive.entries.map((entry) => entry.name).sort(), ['acme-demo/', 'acme-demo/composer.json', 'acme-demo/src/', 'acme-demo/src/Demo.php']);
        assert.deepEqual(await archive.readMember('acme-demo/composer.json', 1 * MiB), composerJson);
        assert.equal((await archive.readMember('acme-demo/src/Demo.php', 1 * MiB)).toString(), '<?php\n'.repeat(1000));
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('stops a zip bomb that lies about its size after its declared bytes, reading little from storage', async () => {
    const zeros = Buffer.alloc(16 * MiB);
    const archive = await open(await zipBuffer([{ name: 'bomb.txt', data: zeros, method: 'deflate', declaredSize: 1000 }]));
    env.counting.reset();
    await assert.rejects(archive.readMember('bomb.txt', 1 * MiB), isKind('invalid', /more than the 1000 bytes its directory entry declares/));
    assert.ok(env.counting.bytesRead < 100 * KiB, `read ${env.counting.bytesRead} bytes`);
    // A small one lies whole in the end read at open: inflated in one call, stopped all the same.
    const small = await open(await zipBuffer([{ name: 'bomb.txt', data: Buffer.alloc(1 * MiB), method: 'deflate', declaredSize: 1000 }]));
    await assert.rejects(small.readMember('bomb.txt', 1 * MiB), isKind('invalid', /more than the 1000 bytes its directory entry declares/));
  });

  it('refuses a member larger than the caller allows before reading its data', async () => {
    const archive = await open(await zipBuffer([{ name: 'big.txt', data: Buffer.alloc(2 * MiB, 'a'), method: 'deflate' }]));
    env.counting.reset();
    await assert.rejects(archive.readMember('big.txt', 1 * MiB), isKind('too-large', /2097152 bytes, over the limit of 1048576/));
    assert.equal(env.counting.reads.length, 0);
  });

  it('refuses a member whose data is shorter than declared, or fails its CRC', async () => {
    const short = await open(await zipBuffer([{ name: 'a.txt', data: Buffer.from('hello'), method: 'deflate', declaredSize: 6 }]));
    await assert.rejects(short.readMember('a.txt', 100), isKind('invalid', /holds 5 bytes, its directory entry declares 6/));
    const badCrc = await open(await zipBuffer([{ name: 'a.txt', data: Buffer.from('hello'), declaredCrc32: 1234 }]));
    await assert.rejects(badCrc.readMember('a.txt', 100), isKind('invalid', /CRC-32/));
  });

  it('caps the entry count and the central directory size', async () => {
    const many = await zipBuffer(Array.from({ length: 50 }, (_, index) => ({ name: `f${index}`, data: Buffer.from('x') })));
    await assert.rejects(open(many, { maxEntries: 49 }), isKind('too-large', /50 entries, over the limit of 49/));
    await assert.rejects(open(many, { maxDirectoryBytes: 1000 }), isKind('too-large', /central directory has \d+ bytes, over the limit of 1000/));
    assert.equal((await open(many, { maxEntries: 50 })).entries.length, 50);
  });

  it('refuses entry names that could escape the target folder (zip-slip), and duplicate names', async () => {
    for (const name of ['../evil', 'a/../../evil', '/etc/passwd', 'C:/windows', 'a\\..\\b', 'a\0b']) {
      const bytes = await zipBuffer([{ name: 'fine.txt', data: Buffer.from('x') }, { name, data: Buffer.from('x') }]);
      await assert.rejects(open(bytes), isKind('invalid', /archive member name/), name);
    }
    const twice = await zipBuffer([{ name: 'METADATA', data: Buffer.from('a') }, { name: 'METADATA', data: Buffer.from('b') }]);
    await assert.rejects(open(twice), isKind('invalid', /"METADATA" appears twice/));
    assert.doesNotThrow(() => assertSafeMemberName('a/b..c/.../d/'));
  });

  it('refuses a member whose local header names another file', async () => {
    const archive = await open(await zipBuffer([{ name: 'METADATA', localName: 'METADATB', data: Buffer.from('a') }]));
    await assert.rejects(archive.readMember('METADATA', 100), isKind('invalid', /local header of "METADATA" names another file/));
  });

  it('answers unknown members, directories, encryption and other methods clearly', async () => {
    const archive = await open(await zipBuffer([
      { name: 'dir/', data: Buffer.alloc(0) },
      { name: 'secret', data: Buffer.from('x'), encrypted: true },
      { name: 'bzip2', data: Buffer.from('x'), methodNumber: 12 },
    ]));
    await assert.rejects(archive.readMember('missing', 100), isKind('not-found'));
    await assert.rejects(archive.readMember('dir/', 100), isKind('invalid', /is a directory/));
    await assert.rejects(archive.readMember('secret', 100), isKind('unsupported', /encrypted/));
    await assert.rejects(archive.readMember('bzip2', 100), isKind('unsupported', /method 12/));
  });

  it('refuses what is no zip: random bytes, a gzip, a truncated zip, too few bytes; and a missing object', async () => {
    const whole = await zipBuffer(wheelEntries());
    await assert.rejects(open(crypto.randomBytes(100 * KiB)), isKind('invalid', /no end-of-central-directory record/));
    await assert.rejects(open(Buffer.from('1f8b0800000000000003030000000000000000', 'hex')), isKind('invalid', /too short|no end-of-central/));
    await assert.rejects(open(whole.subarray(0, whole.length - 10)), isKind('invalid', /no end-of-central-directory record/));
    await assert.rejects(open(Buffer.from('PK')), isKind('invalid', /too short/));
    const cutInDirectory = Buffer.concat([whole.subarray(0, 200), whole.subarray(whole.length - 22)]);
    await assert.rejects(open(cutInDirectory), isKind('invalid'));
    await assert.rejects(ZipArchive.open(env.storage, 'zip/missing.zip', CORE_CONTEXT), isKind('not-found'));
  });

  it('reads a zip held whole in memory (fromBytes), and refuses the same bad input from there', async () => {
    const archive = await ZipArchive.fromBytes(await zipBuffer(wheelEntries(8 * KiB)));
    assert.deepEqual(await archive.readMember(archive.findMember(isWheelMetadata)!, 64 * KiB), metadata);
    assert.equal((await archive.readMember('demo/payload.bin', 64 * KiB)).length, 8 * KiB);
    const whole = await zipBuffer(wheelEntries());
    await assert.rejects(ZipArchive.fromBytes(crypto.randomBytes(100 * KiB)), isKind('invalid', /no end-of-central-directory record/));
    await assert.rejects(ZipArchive.fromBytes(whole.subarray(0, whole.length - 10)), isKind('invalid', /no end-of-central-directory record/));
    await assert.rejects(ZipArchive.fromBytes(Buffer.from('PK')), isKind('invalid', /too short/));
    await assert.rejects(ZipArchive.fromBytes(Buffer.concat([whole.subarray(0, 200), whole.subarray(whole.length - 22)])), isKind('invalid'));
  });

  it('refuses to mix two versions of an archive overwritten between reads', async () => {
    const key = await store(await zipBuffer(wheelEntries()));
    const archive = await ZipArchive.open(env.storage, key, CORE_CONTEXT);
    await env.put(key, await zipBuffer(wheelEntries(20 * KiB)));
    // The first member lies before the tail read at open: reading it asks storage, which holds another archive now.
    await assert.rejects(archive.readMember('demo/__init__.py', 64 * KiB), isKind('conflict', /overwritten/));
  });
});
