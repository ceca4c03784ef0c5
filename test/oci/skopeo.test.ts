/**
 * End to end with skopeo (Debian package `skopeo`) against `smartregistry serve`: an OCI layout built
 * here is copied into the registry with credentials, inspected, copied back and compared digest by
 * digest; a second tag, a copy to another repository, a delete by digest and a refused wrong password.
 *
 * skopeo never reaches the internet: every reference is an explicit docker://127.0.0.1:PORT/...,
 * and policy, registries.conf, registries.d, containers.conf, auth file and temp dir live in a temp
 * directory of this test.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import { clientMissing, runClient } from '../helpers/clients.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';

const sha256Hex = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

const haveSkopeo = !clientMissing('skopeo', ['--version']);
const ROOT = path.resolve(import.meta.dirname, '../..');

/** `smartregistry <args>` from source; resolves with its stdout. */
const runCli = async (args: string[]) => (await promisify(execFile)(process.execPath, ['--import', 'tsx', 'ts/cli/index.ts', ...args], { cwd: ROOT })).stdout;

interface ILayout {
  dir: string;
  manifestDigest: string;
  manifestBytes: Buffer;
  blobs: string[];
}

/** A gzipped tar with a few files; deterministic apart from `seed`. */
async function makeLayer(seed: string, files: Record<string, Buffer>): Promise<{ gz: Buffer; diffId: string }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => {
      chunks.push(chunk as Buffer);
    });
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) {
    pack.entry({ name: `${seed}/${name}`, size: content.length, mtime: new Date(0), mode: 0o644 }, content);
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  return { gz: zlib.gzipSync(raw, { level: 1 }), diffId: `sha256:${sha256Hex(raw)}` };
}

/** An OCI image layout (image-spec image-layout.md) with one multi-layer image tagged `tag`. */
async function writeLayout(dir: string, tag: string): Promise<ILayout> {
  await fsp.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const writeBlob = async (bytes: Buffer) => {
    const hex = sha256Hex(bytes);
    await fsp.writeFile(path.join(dir, 'blobs', 'sha256', hex), bytes);
    return `sha256:${hex}`;
  };
  const layers = [
    await makeLayer('base', { 'etc/os-release': Buffer.from('NAME=smartregistry-test\n'), 'bin/hello': Buffer.from('#!/bin/sh\necho hello\n') }),
    // Incompressible and large enough to take several reads on every side.
    await makeLayer('data', { 'random.bin': crypto.randomBytes(6 * 1024 * 1024) }),
    await makeLayer('app', { 'app/config.json': Buffer.from(JSON.stringify({ tag })) }),
  ];
  const layerDescriptors = [];
  for (const layer of layers) {
    layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await writeBlob(layer.gz), size: layer.gz.length });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/hello'] },
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'smartregistry test' })),
    }),
  );
  const configDigest = await writeBlob(config);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layerDescriptors,
      annotations: { 'org.opencontainers.image.title': 'smartregistry e2e' },
    }),
  );
  const manifestDigest = await writeBlob(manifestBytes);
  await fsp.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, manifestDigest, manifestBytes, blobs: [configDigest, ...layerDescriptors.map((layer) => layer.digest)] };
}

describe('oci end to end with skopeo', { skip: !haveSkopeo && 'skopeo is not installed' }, () => {
  let server: IServeInstance;
  let work: string;
  let layout: ILayout;
  let registry: string;
  let env: NodeJS.ProcessEnv;
  let globalArgs: string[];

  /** Run skopeo with the isolated configuration; resolves with exit code and output. */
  const skopeo = (args: string[]) => runClient('skopeo', [...globalArgs, ...args], { env, timeoutMs: 120_000 });
  const ok = async (args: string[]) => {
    const result = await skopeo(args);
    assert.equal(result.code, 0, `skopeo ${args.join(' ')} failed:\n${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    server = await startServe();
    registry = `127.0.0.1:${server.port}`;
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-skopeo-'));
    const config = path.join(work, 'config');
    await fsp.mkdir(path.join(config, 'registries.d'), { recursive: true });
    await fsp.writeFile(path.join(config, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await fsp.writeFile(path.join(config, 'registries.conf'), 'unqualified-search-registries = []\n');
    await fsp.writeFile(path.join(config, 'containers.conf'), '');
    await fsp.mkdir(path.join(work, 'tmp'));
    await fsp.mkdir(path.join(work, 'home'));
    env = {
      PATH: process.env.PATH,
      HOME: path.join(work, 'home'),
      XDG_RUNTIME_DIR: path.join(work, 'home'),
      XDG_CONFIG_HOME: path.join(work, 'home', '.config'),
      XDG_DATA_HOME: path.join(work, 'home', '.local', 'share'),
      CONTAINERS_REGISTRIES_CONF: path.join(config, 'registries.conf'),
      CONTAINERS_CONF: path.join(config, 'containers.conf'),
      REGISTRY_AUTH_FILE: path.join(config, 'auth.json'),
      TMPDIR: path.join(work, 'tmp'),
    };
    globalArgs = ['--policy', path.join(config, 'policy.json'), '--registries.d', path.join(config, 'registries.d'), '--tmpdir', path.join(work, 'tmp')];
    layout = await writeLayout(path.join(work, 'src'), 'v1');
  });

  after(async () => {
    await server?.stop();
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  it('push: skopeo login stores credentials that work against the token flow', async () => {
    await ok(['login', '--tls-verify=false', '--username', 'admin', '--password', server.adminPassword, registry]);
    const auth = JSON.parse(await fsp.readFile(env.REGISTRY_AUTH_FILE!, 'utf8'));
    assert.ok(auth.auths[registry], 'skopeo login wrote the registry into the auth file');
  });

  it('push: skopeo login with a wrong password fails', async () => {
    const result = await skopeo(['login', '--tls-verify=false', '--authfile', path.join(work, 'wrong-auth.json'), '--username', 'admin', '--password', 'wrong', registry]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /401|unauthorized|authentication|invalid username\/password/i);
  });

  it('push: copies a multi-layer OCI layout into the registry with credentials', async () => {
    await ok(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${server.adminPassword}`, `oci:${layout.dir}:v1`, `docker://${registry}/e2e/demo:v1`]);
  });

  it('pull: skopeo inspect shows the pushed manifest, digest and layers', async () => {
    const raw = await ok(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo:v1`]);
    assert.equal(raw, layout.manifestBytes.toString(), 'the exact manifest bytes come back');
    const info = JSON.parse(await ok(['inspect', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo:v1`]));
    assert.equal(info.Digest, layout.manifestDigest);
    assert.deepEqual(info.Layers, layout.blobs.slice(1));
    assert.equal(info.Os, 'linux');
  });

  it('pull: copies the image back into an OCI layout with every digest unchanged', async () => {
    const back = path.join(work, 'back');
    // Credentials from `skopeo login` (the auth file) this time.
    await ok(['copy', '--src-tls-verify=false', `docker://${registry}/e2e/demo:v1`, `oci:${back}:v1`]);
    const index = JSON.parse(await fsp.readFile(path.join(back, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, layout.manifestDigest);
    for (const digest of [layout.manifestDigest, ...layout.blobs]) {
      const hex = digest.slice('sha256:'.length);
      const [original, copied] = await Promise.all([
        fsp.readFile(path.join(layout.dir, 'blobs', 'sha256', hex)),
        fsp.readFile(path.join(back, 'blobs', 'sha256', hex)),
      ]);
      assert.equal(sha256Hex(copied), hex, `blob ${digest} verifies`);
      assert.ok(original.equals(copied), `blob ${digest} is byte-identical`);
    }
  });

  it('push: a second tag, and a copy into another repository', async () => {
    await ok(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${server.adminPassword}`, `oci:${layout.dir}:v1`, `docker://${registry}/e2e/demo:v2`]);
    await ok([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `admin:${server.adminPassword}`,
      '--dest-creds',
      `admin:${server.adminPassword}`,
      `docker://${registry}/e2e/demo:v2`,
      `docker://${registry}/e2e/team/copy:latest`,
    ]);
    const tags = JSON.parse(await ok(['list-tags', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo`]));
    assert.deepEqual(tags.Tags, ['v1', 'v2']);
    const copy = JSON.parse(await ok(['inspect', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/team/copy:latest`]));
    assert.equal(copy.Digest, layout.manifestDigest);
  });

  it('content management: skopeo delete by digest removes the manifest and its tags', async () => {
    await ok(['delete', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo@${layout.manifestDigest}`]);
    const gone = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo:v1`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown|not found/i);
    const tags = JSON.parse(await ok(['list-tags', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/demo`]));
    assert.deepEqual(tags.Tags, []);
    // The other repository keeps its own manifest.
    const copy = JSON.parse(await ok(['inspect', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/team/copy:latest`]));
    assert.equal(copy.Digest, layout.manifestDigest);
  });

  it('push: a push with a wrong password fails and stores nothing', async () => {
    const result = await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'admin:not-the-password',
      `oci:${layout.dir}:v1`,
      `docker://${registry}/e2e/refused:v1`,
    ]);
    assert.notEqual(result.code, 0, 'skopeo must fail');
    assert.match(result.stderr, /401|unauthorized|authentication required|invalid username/i);
    const tags = await skopeo(['list-tags', '--tls-verify=false', '--creds', `admin:${server.adminPassword}`, `docker://${registry}/e2e/refused`]);
    assert.notEqual(tags.code, 0, 'the repository does not exist');
  });

  it('garbage collection: two images sharing a layer, one deleted, `smartregistry gc` while serving; the other pulls with every digest, the deleted one\'s own blobs are gone', async () => {
    const creds = `admin:${server.adminPassword}`;
    const first = await writeLayout(path.join(work, 'gc-first'), 'first');
    const second = await writeLayout(path.join(work, 'gc-second'), 'second');
    assert.equal(first.blobs[1], second.blobs[1], 'the base layer is shared');
    await ok(['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${first.dir}:first`, `docker://${registry}/e2e/gc:first`]);
    await ok(['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${second.dir}:second`, `docker://${registry}/e2e/gc:second`]);
    await ok(['delete', '--tls-verify=false', '--creds', creds, `docker://${registry}/e2e/gc@${first.manifestDigest}`]);

    const gc = await runCli(['gc', '--data-dir', server.dataDir, '--gc-grace', '0s']);
    const collected = gc.split('\n').filter((line) => line.startsWith('blob ')).map((line) => line.split(' ')[1]).sort();
    const own = first.blobs.filter((digest) => !second.blobs.includes(digest));
    assert.equal(own.length, 3, 'config, data and app layers are the first image\'s own');
    assert.deepEqual(collected, [...own].sort());

    const back = path.join(work, 'gc-back');
    await ok(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${registry}/e2e/gc:second`, `oci:${back}:second`]);
    for (const digest of [second.manifestDigest, ...second.blobs]) {
      const copied = await fsp.readFile(path.join(back, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      assert.equal(`sha256:${sha256Hex(copied)}`, digest, `blob ${digest} verifies`);
    }
    const basic = `Basic ${Buffer.from(creds).toString('base64')}`;
    for (const digest of own) {
      const res = await fetch(`${server.url}/v2/e2e/gc/blobs/${digest}`, { method: 'HEAD', headers: { authorization: basic } });
      assert.equal(res.status, 404, digest);
    }
  });
});
