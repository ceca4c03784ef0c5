/**
 * The Node flags `smartregistry serve` needs reach the process however it is started as documented:
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
import { SERVE_NODE_FLAGS, missingServeFlags } from '../../ts/cli/runtime.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// Makes garbage enough for V8 to grow a default young generation to its 16 MiB semi-spaces, then reports.
const PROBE_BODY = `
import v8 from 'node:v8';
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ i, text: 'x' + i }); if (keep.length > 1000) keep = []; }
const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
console.log(JSON.stringify({ execArgv: process.execArgv, newSpaceMiB: newSpace / 1048576 }));
`;

async function runProbe(firstLine: string): Promise<{ execArgv: string[]; newSpaceMiB: number }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-runtime-'));
  try {
    const script = path.join(dir, 'probe.mjs');
    await fsp.writeFile(script, `${firstLine}\n${PROBE_BODY}`, { mode: 0o755 });
    const { stdout } = await run(script, [], { timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
    return JSON.parse(stdout);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('runtime: the bin (cli.js) starts node with the serve flags, and they take effect', async () => {
  const shebang = (await fsp.readFile(path.join(ROOT, 'cli.js'), 'utf8')).split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${SERVE_NODE_FLAGS.join(' ')}`);
  const withFlags = await runProbe(shebang);
  assert.deepEqual(missingServeFlags(withFlags.execArgv), []);
  const without = await runProbe('#!/usr/bin/env node');
  assert.deepEqual(missingServeFlags(without.execArgv), [...SERVE_NODE_FLAGS]);
  assert.ok(without.newSpaceMiB >= 16, `a default young generation grows (${without.newSpaceMiB} MiB)`);
  assert.ok(withFlags.newSpaceMiB <= 4, `with the flags it stays small (${withFlags.newSpaceMiB} MiB)`);
});

test('runtime: npm start runs serve with the same flags', async () => {
  const manifest = JSON.parse(await fsp.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(manifest.scripts.start, `node ${SERVE_NODE_FLAGS.join(' ')} ./cli.js serve`);
});

test('runtime: flags count among other flags, in either spelling Node accepts', () => {
  assert.deepEqual(missingServeFlags([]), [...SERVE_NODE_FLAGS]);
  assert.deepEqual(missingServeFlags(['--import', 'tsx', ...SERVE_NODE_FLAGS]), []);
  assert.deepEqual(missingServeFlags(SERVE_NODE_FLAGS.map((flag) => `--${flag.slice(2).replace(/-/g, '_')}`)), []);
});
