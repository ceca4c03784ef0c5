/**
 * The Node flags and the environment `smartregistry serve` needs reach the process however it is started as documented:
 * through the bin's shebang line (run by the kernel, as the installed `smartregistry` command is)
 * and through `npm start`; and they take effect (a young generation that stays small).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SERVE_ENV, SERVE_NODE_FLAGS, missingServeEnv, missingServeFlags } from '../../ts/cli/runtime.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// Makes garbage enough for V8 to grow a default young generation to its 16 MiB semi-spaces, then reports.
const PROBE_BODY = `
import v8 from 'node:v8';
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ i, text: 'x' + i }); if (keep.length > 1000) keep = []; }
const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
console.log(JSON.stringify({ execArgv: process.execArgv, env: process.env, newSpaceMiB: newSpace / 1048576 }));
`;

const SERVE_ENV_LINE = Object.entries(SERVE_ENV).map(([name, value]) => `${name}=${value}`).join(' ');
// The tests' own environment must not hand the probe what only the first line should give it.
const PROBE_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(name in SERVE_ENV)));

async function runProbe(firstLine: string): Promise<{ execArgv: string[]; env: NodeJS.ProcessEnv; newSpaceMiB: number }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-runtime-'));
  try {
    const script = path.join(dir, 'probe.mjs');
    await fsp.writeFile(script, `${firstLine}\n${PROBE_BODY}`, { mode: 0o755 });
    const { stdout } = await run(script, [], { timeout: 60_000, env: { ...PROBE_ENV, NODE_OPTIONS: '' } });
    return JSON.parse(stdout);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('runtime: the bin (cli.js) starts node with the serve flags and environment, and the flags take effect', async () => {
  const shebang = (await fsp.readFile(path.join(ROOT, 'cli.js'), 'utf8')).split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S ${SERVE_ENV_LINE} node ${SERVE_NODE_FLAGS.join(' ')}`);
  const withFlags = await runProbe(shebang);
  assert.deepEqual(missingServeFlags(withFlags.execArgv), []);
  assert.deepEqual(missingServeEnv(withFlags.env), []);
  const without = await runProbe('#!/usr/bin/env node');
  assert.deepEqual(missingServeFlags(without.execArgv), [...SERVE_NODE_FLAGS]);
  assert.deepEqual(missingServeEnv(without.env), ['MALLOC_MMAP_THRESHOLD_=131072']);
  assert.ok(without.newSpaceMiB >= 16, `a default young generation grows (${without.newSpaceMiB} MiB)`);
  assert.ok(withFlags.newSpaceMiB <= 4, `with the flags it stays small (${withFlags.newSpaceMiB} MiB)`);
});

test('runtime: npm start runs serve with the same flags and environment', async () => {
  const manifest = JSON.parse(await fsp.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(manifest.scripts.start, `${SERVE_ENV_LINE} node ${SERVE_NODE_FLAGS.join(' ')} ./cli.js serve`);
});

test('runtime: flags count among other flags, in either spelling Node accepts', () => {
  assert.deepEqual(missingServeFlags([]), [...SERVE_NODE_FLAGS]);
  assert.deepEqual(missingServeFlags(['--import', 'tsx', ...SERVE_NODE_FLAGS]), []);
  assert.deepEqual(missingServeFlags(SERVE_NODE_FLAGS.map((flag) => `--${flag.slice(2).replace(/-/g, '_')}`)), []);
});

test('runtime: the environment counts only with the value serve needs', () => {
  assert.deepEqual(missingServeEnv({}), ['MALLOC_MMAP_THRESHOLD_=131072']);
  assert.deepEqual(missingServeEnv({ MALLOC_MMAP_THRESHOLD_: '1048576' }), ['MALLOC_MMAP_THRESHOLD_=131072']);
  assert.deepEqual(missingServeEnv({ PATH: '/usr/bin', MALLOC_MMAP_THRESHOLD_: '131072' }), []);
});
