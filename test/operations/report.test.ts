/**
 * The storage report: per protocol and per package, matching the bytes published (the files on disk,
 * measured independently of the listing), in code and as `smartregistry report`.
 */
import { describe, it, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { reportPaths } from '../../ts/core/storage.paths.js';
import type { IStorageReport } from '../../ts/core/classes.storagereport.js';
import { publishBody, escapeName, makeTarball } from '../npm/fixtures.js';
import { pomOf } from '../maven/maven.fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { sendRequest } from '../helpers/requests.js';
import { sha256 } from '../oci/oci.fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** Bytes and files below a directory of the filesystem backend, measured with fs (hidden .tmp/.locks excluded). */
async function onDisk(dir: string): Promise<{ bytes: number; objects: number }> {
  const usage = { bytes: 0, objects: 0 };
  for (const entry of await fsp.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (path.relative(dir, file).split(path.sep).some((part) => part === '.tmp' || part === '.locks')) continue;
    usage.bytes += (await fsp.stat(file)).size;
    usage.objects += 1;
  }
  return usage;
}

test('report owners: each protocol key belongs to its package; shared objects to a named bucket', () => {
  const owners = {
    'npm/packages/left-pad/packument.json': ['npm', 'left-pad'],
    'npm/packages/@scope/name/tarballs/name-1.0.0.tgz': ['npm', '@scope/name'],
    'npm/search/shard-0a.json': ['npm', '(search index)'],
    'npm/login/abc.json': ['npm', '(login sessions)'],
    'oci/repositories/library/nginx/_manifests/sha256/ab.json': ['oci', 'library/nginx'],
    'oci/repositories/a/b/c/_tags/latest': ['oci', 'a/b/c'],
    'oci/names/library/nginx,': ['oci', 'library/nginx'],
    'oci/catalog/library%2Fnginx': ['oci', 'library/nginx'],
    'oci/blob-data/u1/p1': ['oci', '(blobs, shared by repositories)'],
    'oci/blobs/sha256/ab.json': ['oci', '(blobs, shared by repositories)'],
    'oci/uploads/u1.json': ['oci', '(uploads in progress)'],
    'maven/files/com/example/lib/1.0/lib-1.0.jar': ['maven', 'com.example:lib'],
    'maven/artifacts/com/example/lib/@artifact.json': ['maven', 'com.example:lib'],
    'maven/artifacts/com/example/@plugins.json': ['maven', '(group metadata)'],
    'cargo/crates/serde/files/1.0.0/x.crate': ['cargo', 'serde'],
    'cargo/search/shard-01.json': ['cargo', '(search index)'],
    'pypi/projects/requests/files/u1': ['pypi', 'requests'],
    'pypi/names/requests': ['pypi', 'requests'],
    'auth/tokens/ab.json': ['core', 'tokens'],
    'admin.json': ['core', 'admin.json'],
    'probes/conditional-write-x': ['core', 'probes'],
    'web/recent-publishes.json': ['core', 'web'],
    'composer/packages/acme/lib/dists/u1.zip': ['composer', 'acme/lib'],
    'composer/names/acme/lib': ['composer', 'acme/lib'],
    'rubygems/gems/rake/gem.json': ['rubygems', 'rake'],
    'rubygems/search/shard-01.json': ['rubygems', '(search index)'],
    'rubygems/compact-index.json': ['rubygems', '(other)'],
  };
  for (const [key, [protocol, owner]] of Object.entries(owners)) {
    assert.deepEqual(reportPaths.ownerOf(key), { protocol, owner }, key);
  }
});

describe('storage report', () => {
  let dir: string;
  let registry: SmartRegistry;
  const published: Record<string, number> = {};

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-report-'));
    registry = new SmartRegistry({
      storage: { type: 'filesystem', path: dir },
      auth: { tokenStore: 'storage', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging: { level: 'silent' },
      npm: { enabled: true, basePath: '/npm' },
      maven: { enabled: true, basePath: '/maven' },
      cargo: { enabled: true, basePath: '/cargo' },
      oci: { enabled: true, basePath: '/oci' },
    });
    await registry.init();
    const auth = registry.getAuthManager();
    const token = (protocol: 'npm' | 'maven' | 'cargo') => auth.createToken('alice', protocol, { scopes: ['*'] });
    const npm = { authorization: `Bearer ${await token('npm')}` };
    for (const [name, version, extra] of [['rep-a', '1.0.0', 5000], ['rep-a', '1.1.0', 7000], ['@rep/b', '1.0.0', 100]] as const) {
      const tarball = await makeTarball({ name, version }, extra);
      const { body } = await publishBody(name, version, { tarball });
      assert.equal((await sendRequest(registry, 'PUT', `/npm/${escapeName(name)}`, { headers: npm, body })).status, 201);
      published[name] = (published[name] ?? 0) + tarball.length;
    }
    const maven = { authorization: `Bearer ${await token('maven')}` };
    const jar = Buffer.alloc(12_345, 7);
    assert.equal((await sendRequest(registry, 'PUT', '/maven/com/example/rep-lib/1.0/rep-lib-1.0.pom', { headers: maven, body: pomOf('com.example', 'rep-lib', '1.0') })).status, 201);
    assert.equal((await sendRequest(registry, 'PUT', '/maven/com/example/rep-lib/1.0/rep-lib-1.0.jar', { headers: maven, body: jar })).status, 201);
    published['com.example:rep-lib'] = jar.length;
    const crate = await makeCrate('rep_crate', '0.1.0', { extraBytes: 3000 });
    const cargo = { authorization: `Bearer ${await token('cargo')}` };
    assert.equal((await sendRequest(registry, 'PUT', '/cargo/api/v1/crates/new', { headers: cargo, body: frame(JSON.stringify(publishMetadata('rep_crate', '0.1.0')), crate) })).status, 200);
    published['rep-crate'] = crate.length;
    const oci = { authorization: `Bearer ${await auth.createToken('alice', 'oci', { scopes: ['*'], stored: true })}` };
    const layer = Buffer.alloc(40_000, 1);
    assert.equal((await sendRequest(registry, 'POST', `/oci/v2/rep/app/blobs/uploads/?digest=${sha256(layer)}`, { headers: oci, body: layer })).status, 201);
    published['(blobs, shared by repositories)'] = layer.length;
  });
  after(async () => {
    await registry.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('counts every object once: per package it is what is stored under the package, published bytes included', async () => {
    const report = await registry.storageReport();
    assert.deepEqual(report.total, await onDisk(dir));
    const npm = report.protocols.npm.packages;
    assert.deepEqual(npm['rep-a'], await onDisk(path.join(dir, 'npm/packages/rep-a')));
    assert.deepEqual(npm['@rep/b'], await onDisk(path.join(dir, 'npm/packages/@rep/b')));
    assert.ok(npm['rep-a'].bytes > published['rep-a'] && npm['rep-a'].bytes < published['rep-a'] + 20_000, 'two tarballs and two small documents');
    assert.equal(npm['rep-a'].objects, 4, 'packument, abbreviated document, two tarballs');
    assert.deepEqual(npm['(search index)'], await onDisk(path.join(dir, 'npm/search')));

    const files = await onDisk(path.join(dir, 'maven/files/com/example/rep-lib'));
    const truth = await onDisk(path.join(dir, 'maven/artifacts/com/example/rep-lib'));
    assert.deepEqual(report.protocols.maven.packages['com.example:rep-lib'], { bytes: files.bytes + truth.bytes, objects: files.objects + truth.objects });
    assert.ok(files.bytes >= published['com.example:rep-lib']);

    // Cargo keys use the normalised name.
    assert.deepEqual(report.protocols.cargo.packages['rep-crate'], await onDisk(path.join(dir, 'cargo/crates/rep-crate')));
    const crateFiles = await onDisk(path.join(dir, 'cargo/crates/rep-crate/files'));
    assert.equal(crateFiles.bytes, published['rep-crate'], 'the .crate is stored as uploaded');

    const blobs = report.protocols.oci.packages['(blobs, shared by repositories)'];
    const blobData = await onDisk(path.join(dir, 'oci/blob-data'));
    assert.equal(blobData.bytes, published['(blobs, shared by repositories)']);
    assert.deepEqual(blobs, { bytes: blobData.bytes + (await onDisk(path.join(dir, 'oci/blobs'))).bytes, objects: blobData.objects + 1 });

    assert.ok(report.protocols.core.packages.tokens.objects >= 4, 'stored tokens count under core');
    for (const protocol of Object.values(report.protocols)) {
      const sum = Object.values(protocol.packages).reduce((acc, each) => ({ bytes: acc.bytes + each.bytes, objects: acc.objects + each.objects }), { bytes: 0, objects: 0 });
      assert.deepEqual(sum, { bytes: protocol.bytes, objects: protocol.objects });
    }
  });

  it('lists only the protocols asked for', async () => {
    const report = await registry.storageReport({ protocols: ['npm', 'cargo'] });
    assert.deepEqual(Object.keys(report.protocols).sort(), ['cargo', 'npm']);
    assert.equal(report.total.bytes, report.protocols.npm.bytes + report.protocols.cargo.bytes);
  });

  it('smartregistry report prints totals and the largest packages, or the JSON report', async () => {
    const cli = async (...args: string[]) =>
      (await run(process.execPath, ['--import', 'tsx', 'ts/cli/index.ts', 'report', '--data-dir', dir, ...args], { cwd: ROOT, timeout: 60_000 })).stdout;
    const expected = await registry.storageReport();
    const lines = (await cli('--top', '1')).trimEnd().split('\n');
    assert.ok(lines.includes(`total ${expected.total.bytes} ${expected.total.objects}`), lines.join('\n'));
    assert.ok(lines.includes(`protocol npm ${expected.protocols.npm.bytes} ${expected.protocols.npm.objects}`));
    const rep = expected.protocols.npm.packages['rep-a'];
    assert.ok(lines.includes(`package npm ${rep.bytes} ${rep.objects} rep-a`), 'the largest npm package');
    assert.equal(lines.filter((line) => line.startsWith('package npm ')).length, 1);
    const json = JSON.parse(await cli('--json', '--protocol', 'maven')) as IStorageReport;
    assert.deepEqual(Object.keys(json.protocols), ['maven']);
    assert.deepEqual(json.protocols.maven, expected.protocols.maven);
  });
});
