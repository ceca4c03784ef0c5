// `npm run bench`: runs every benchmark script in bench/ (or those named as arguments) one after another,
// passing each the `--` options given (`npm run bench -- documents --only=maven --seconds=5`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const options = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const scripts = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts' && !file.startsWith('helpers.'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.includes(name)))
  .sort();
let failed = 0;
for (const script of scripts) {
  console.log(`\n=== bench/${script} ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${script}`, ...options], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
