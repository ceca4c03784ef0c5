/**
 * The published package works for a consumer: build, pack, install the tarball into a fresh
 * project (dependencies come from the npm cache or registry), import it and serve one request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const CONSUMER_SCRIPT = `
import { SmartRegistry, createNodeHandler, streamToBuffer, REGISTRY_PROTOCOLS } from '@push.rocks/smartregistry';
const registry = new SmartRegistry({
  storage: { type: 'filesystem', path: process.argv[2] },
  auth: { tokenStore: 'memory' },
  logging: { level: 'silent' },
  npm: { enabled: true, basePath: '/npm' },
});
await registry.init();
const response = await registry.handleRequest({ method: 'GET', path: '/nowhere', headers: {}, query: {} });
const body = JSON.parse((await streamToBuffer(response.body)).toString('utf8'));
console.log(JSON.stringify({
  status: response.status,
  stream: response.body instanceof ReadableStream,
  error: body.error,
  handler: typeof createNodeHandler,
  protocols: REGISTRY_PROTOCOLS.length,
}));
await registry.destroy();
`;

const CONSUMER_TYPES = `
import { SmartRegistry, type IRegistryConfig, type IResponse } from '@push.rocks/smartregistry';
const config: IRegistryConfig = { storage: { type: 'filesystem', path: '/tmp/x' }, auth: { tokenStore: 'memory' } };
const registry: SmartRegistry = new SmartRegistry(config);
export const pending: Promise<IResponse> = registry.handleRequest({ method: 'GET', path: '/', headers: {}, query: {} });
`;

test('packaging: build, pack, install the tarball, import and handle a request', { timeout: 15 * 60_000 }, async () => {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-pack-'));
  try {
    await run(NPM, ['run', 'build'], { cwd: ROOT, timeout: 5 * 60_000 }).catch((error: { stdout?: string; stderr?: string }) =>
      assert.fail(`npm run build failed:\n${error.stdout}${error.stderr}`),
    );
    // Built just above; no second build from `prepare`.
    const packed = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, timeout: 5 * 60_000 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info.files.map((file) => file.path);
    for (const expected of ['package.json', 'cli.js', 'dist_ts/index.js', 'dist_ts/index.d.ts', 'dist_ts/cli/index.js']) {
      assert.ok(files.includes(expected), `tarball contains ${expected}`);
    }
    assert.ok(!files.some((file) => file.startsWith('ts/') || file.startsWith('test/')), 'sources and tests are not packed');

    const project = path.join(work, 'consumer');
    await fsp.mkdir(project);
    // A plain consumer: no overrides, so the package's own dependency pins must be enough.
    await fsp.writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, info.filename)], {
      cwd: project,
      timeout: 10 * 60_000,
    });

    await fsp.writeFile(path.join(project, 'main.mjs'), CONSUMER_SCRIPT);
    const dataDir = path.join(work, 'data');
    const { stdout } = await run(process.execPath, ['main.mjs', dataDir], { cwd: project, timeout: 60_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.deepEqual(result, { status: 404, stream: true, error: 'no registry is mounted at /nowhere', handler: 'function', protocols: 7 });

    // The bin works from an installed package.
    const help = await run(path.join(project, 'node_modules', '.bin', 'smartregistry'), ['--help'], { cwd: project, timeout: 60_000 });
    assert.match(help.stdout, /smartregistry serve/);

    // Types resolve for a NodeNext consumer (checked with this repository's compiler).
    await fsp.writeFile(path.join(project, 'types.ts'), CONSUMER_TYPES);
    await fsp.writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['types.ts'],
      }),
    );
    await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, timeout: 120_000 }).catch(
      (error: { stdout?: string; stderr?: string }) => assert.fail(`consumer types do not check:\n${error.stdout}${error.stderr}`),
    );
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
});
