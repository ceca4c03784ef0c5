// The AWS SDK costs ~23 MiB of RSS: importing the package or running on the filesystem must not load it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// Runs in a child process: a module hook reports every resolved specifier, so the child can tell
// which packages were loaded after each step.
const CHILD = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
const { port1, port2 } = new MessageChannel();
const resolved = [];
port1.on('message', (specifier) => resolved.push(specifier));
port1.unref();
const hooks = 'data:text/javascript,' + encodeURIComponent(
  'let port; export function initialize(data) { port = data.port; }' +
  'export async function resolve(specifier, context, next) { port.postMessage(specifier); return next(specifier, context); }',
);
register(hooks, { data: { port: port2 }, transferList: [port2] });
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
const loadedSdk = () => resolved.filter((s) => s.startsWith('@aws-sdk/') || s.startsWith('@push.rocks/smartbucket'));
const steps = {};
const api = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'ts', 'index.ts')).href)});
await settle();
steps.import = loadedSdk();
const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-lazy-s3-'));
const registry = new api.SmartRegistry({ storage: { type: 'filesystem', path: dataDir }, auth: { tokenStore: 'memory' }, logging: { level: 'silent' } });
await registry.init();
await settle();
steps.filesystem = loadedSdk();
await registry.destroy();
await fsp.rm(dataDir, { recursive: true, force: true });
const s3 = await api.createStorageBackend({ endpoint: '127.0.0.1', port: 9, useSsl: false, accessKey: 'k', accessSecret: 's', bucketName: 'b' });
await settle();
steps.s3 = loadedSdk();
steps.s3Backend = s3.constructor.name;
await s3.destroy();
process.stdout.write(JSON.stringify(steps));
`;

test('storage: the AWS SDK is loaded only when an S3 backend is created', () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  const steps = JSON.parse(child.stdout) as Record<string, string[] | string>;
  assert.deepEqual(steps.import, [], 'importing the package loads no S3 code');
  assert.deepEqual(steps.filesystem, [], 'a registry on the filesystem loads no S3 code');
  assert.ok((steps.s3 as string[]).some((specifier) => specifier.startsWith('@aws-sdk/client-s3')), 'createStorageBackend(s3) loads the SDK');
  // smartbucket beside the SDK cost 28 MiB of RSS and a second client only to create the bucket.
  assert.ok(!(steps.s3 as string[]).some((specifier) => specifier.startsWith('@push.rocks/smartbucket')), 'the S3 backend does without smartbucket');
  assert.equal(steps.s3Backend, 'S3Backend');
});
