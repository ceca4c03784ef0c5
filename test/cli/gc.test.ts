// `smartregistry gc [--dry-run] [--retention]` and `serve --gc-interval`: the OCI garbage collection from the command line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startServe } from '../helpers/serve.js';
import { createOciFixture, listFiles, sha256 } from '../oci/oci.fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const recordFile = (digest: string) => `oci/blobs/${digest.replace(':', '/')}.json`;

/** Two images sharing a layer; `gone` is deleted. Returns the blobs only `gone` had. */
async function storeGarbage(dataDir: string, repository: string): Promise<string[]> {
  const fixture = await createOciFixture({ dataDir });
  try {
    await fixture.pushImage(repository, 'kept', ['shared layer', `kept layer of ${repository}`]);
    const gone = await fixture.pushImage(repository, 'gone', ['shared layer', `gone layer of ${repository}`]);
    assert.equal((await fixture.call('DELETE', `/v2/${repository}/manifests/${gone.digest}`)).status, 202);
    return [gone.config, sha256(`gone layer of ${repository}`)];
  } finally {
    await fixture.cleanup();
  }
}

describe('cli: smartregistry gc and serve --gc-interval', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-cli-gc-'));
  });
  after(async () => fsp.rm(dataDir, { recursive: true, force: true }));

  it('gc --dry-run lists the unique blobs of a deleted image and deletes nothing; gc deletes exactly them', async () => {
    const garbage = await storeGarbage(dataDir, 'cli/app');
    // Only the OCI tree: starting the command's registry may write core documents (its JWT secret).
    const ociFiles = async () => (await listFiles(dataDir)).filter((file) => file.startsWith('oci/'));
    const before = await ociFiles();
    const gc = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'ts/cli/index.ts', 'gc', '--data-dir', dataDir, '--gc-grace', '0s', ...args], { cwd: ROOT });

    const dry = await gc('--dry-run');
    const blobLines = (output: string) => output.split('\n').filter((line) => line.startsWith('blob ')).map((line) => line.split(' ')[1]).sort();
    assert.deepEqual(blobLines(dry.stdout), [...garbage].sort());
    assert.match(dry.stdout, /dry run/);
    assert.match(dry.stdout, /^reclaimed [1-9][0-9]*$/m);
    assert.deepEqual(await ociFiles(), before, 'a dry run changes nothing');

    const real = await gc();
    assert.deepEqual(blobLines(real.stdout), [...garbage].sort());
    const after = await ociFiles();
    for (const digest of garbage) assert.ok(before.includes(recordFile(digest)) && !after.includes(recordFile(digest)), digest);
    assert.ok(after.includes(recordFile(sha256('shared layer'))), 'the shared layer stays');

    const json = JSON.parse((await gc('--json')).stdout);
    assert.deepEqual([json.dryRun, json.blobs, json.bytesReclaimed], [false, [], 0], 'nothing left to collect');
    await assert.rejects(gc('--gc-grace', 'soon'), (error: { code: number; stderr: string }) => error.code === 2 && /--gc-grace must be a duration/.test(error.stderr));
  });

  it('gc --retention applies retention rules given on the command line; a bad rule is refused before anything is touched', async () => {
    const fixture = await createOciFixture({ dataDir });
    const pushed: Record<string, string> = {};
    try {
      for (const tag of ['v1', 'build-1', 'build-2', 'build-3']) {
        pushed[tag] = (await fixture.pushImage('team/app', tag, [`only in ${tag}`])).digest;
        await new Promise((resolve) => setTimeout(resolve, 5)); // distinct push times
      }
      await fixture.pushImage('solo/app', 'build-0', ['only in solo']);
    } finally {
      await fixture.cleanup();
    }
    const gc = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'ts/cli/index.ts', 'gc', '--data-dir', dataDir, '--gc-grace', '0s', ...args], { cwd: ROOT });
    const tagLines = (output: string) => output.split('\n').filter((line) => line.startsWith('tag ')).sort();
    const before = (await listFiles(dataDir)).filter((file) => file.startsWith('oci/'));
    await assert.rejects(gc('--retention', 'team/*:keep-newest=two'), (error: { code: number; stderr: string }) => error.code === 2 && /--retention: keep-newest must be a whole number/.test(error.stderr));
    await assert.rejects(gc('--retention', 'team/*:keep-old=1'), (error: { code: number; stderr: string }) => error.code === 2 && /unknown setting 'keep-old'/.test(error.stderr));
    assert.deepEqual((await listFiles(dataDir)).filter((file) => file.startsWith('oci/')), before, 'refused rules touch nothing');

    const { stdout } = await gc('--retention', 'team/*:keep-newest=1,keep-tags=v*', '--retention', '*:keep-newest=5');
    assert.deepEqual(tagLines(stdout), [`tag team/app build-1 ${pushed['build-1']}`, `tag team/app build-2 ${pushed['build-2']}`]);
    for (const tag of ['build-1', 'build-2']) assert.match(stdout, new RegExp(`^manifest team/app ${pushed[tag]} [0-9]+$`, 'm'));
    const check = await createOciFixture({ dataDir });
    try {
      assert.deepEqual((await check.call('GET', '/v2/team/app/tags/list')).json.tags, ['build-3', 'v1']);
      assert.deepEqual((await check.call('GET', '/v2/solo/app/tags/list')).json.tags, ['build-0'], 'the second rule keeps 5');
      assert.equal((await check.call('GET', `/v2/team/app/manifests/${pushed['build-1']}`)).code, 'MANIFEST_UNKNOWN');
    } finally {
      await check.cleanup();
    }
  });

  it('serve --gc-interval collects on its own while serving', async () => {
    const garbage = await storeGarbage(dataDir, 'cli/served');
    const server = await startServe({ dataDir, args: ['--gc-interval', '1s', '--gc-grace', '0s'] });
    try {
      const deadline = Date.now() + 60_000;
      let left = garbage;
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const files = await listFiles(dataDir);
        left = garbage.filter((digest) => files.includes(recordFile(digest)));
      }
      assert.deepEqual(left, [], 'the scheduled collection removed the deleted image\'s blobs');
      const kept = await fetch(`${server.url}/v2/cli/served/manifests/kept`, {
        headers: { authorization: `Bearer ${server.tokens.oci}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(kept.status, 200);
    } finally {
      await server.stop();
    }
  });
});
