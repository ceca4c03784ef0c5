/**
 * What one S3 request of a publish costs (`node --import tsx bench/s3-requests.ts --backend=ceph`): requests one at a
 * time through the S3 object client (`ts/core/storage/classes.s3objectclient.ts`) — PUT of a new key with
 * `If-None-Match: *` (an artifact, a new document), PUT with `If-Match` on the etag it last wrote (a truth document),
 * HEAD — and, as the floor of the engine and the loopback, curl's PUT of new keys (one curl process, one connection,
 * `UNSIGNED-PAYLOAD`). Per kind: median and 10th percentile of the wall time, and this process's CPU per request
 * (user + system from `process.cpuUsage`: the engine's work is not in it). `--against=DIR` runs that checkout's object
 * client too, alternated with this one's in every round, on the same bucket.
 *
 * Options: --backend=ceph|s3 (default ceph), --requests=N per kind and round (default 400), --rounds=N (default 3),
 * --bytes=N body size (default 2000, a small document), --against=DIR.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IS3StorageConfig } from '../ts/core/interfaces.core.js';
import { S3Backend } from '../ts/core/storage/classes.s3backend.js';
import type { S3ObjectClient } from '../ts/core/storage/classes.s3objectclient.js';
import { median, parseBenchArgs, withBackends } from './helpers.load.js';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WARM_UPS = 30;

const args = parseBenchArgs();
const requests = Number(args.requests ?? 400);
const rounds = Number(args.rounds ?? 3);
const body = crypto.randomBytes(Number(args.bytes ?? 2000));
const bodySha256 = crypto.createHash('sha256').update(body).digest('hex');
const trees = args.against ? [path.resolve(args.against), HERE] : [HERE];

const percentile = (values: number[], share: number) => [...values].sort((a, b) => a - b)[Math.floor(values.length * share)]!;

function report(label: string, times: number[], cpuMicros: number) {
  const f = (ms: number) => ms.toFixed(2);
  const cpu = cpuMicros < 0 ? '' : `, CPU ${(cpuMicros / 1000 / times.length).toFixed(3)} ms per request`;
  console.log(`${label}: median ${f(median(times))} ms, p10 ${f(percentile(times, 0.1))}${cpu} (load ${os.loadavg()[0]!.toFixed(2)})`);
}

/** `count` requests made by `request(i)` one after another: wall times and this process's CPU. */
async function timed(count: number, request: (i: number) => Promise<unknown>) {
  for (let i = 0; i < WARM_UPS; i++) await request(-1 - i);
  const times: number[] = [];
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await request(i);
    times.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(before);
  return { times, cpu: cpu.user + cpu.system };
}

async function clientFigures(tree: string, storage: IS3StorageConfig, round: number) {
  const module = (await import(path.join(tree, 'ts', 'core', 'storage', 'classes.s3objectclient.ts'))) as typeof import('../ts/core/storage/classes.s3objectclient.js');
  const client: S3ObjectClient = new module.S3ObjectClient({
    endpoint: `http://${storage.endpoint}:${storage.port}`,
    bucket: storage.bucketName,
    region: storage.region || 'us-east-1',
    accessKey: storage.accessKey,
    secretKey: storage.accessSecret,
  });
  const prefix = `${path.basename(tree)}/${round}`;
  try {
    const create = await timed(requests, (i) =>
      client.send({ method: 'PUT', key: `${prefix}/new/${i}`, body, bodySha256, headers: { 'if-none-match': '*' } }),
    );
    report(`${path.basename(tree)} PUT If-None-Match`, create.times, create.cpu);
    let etag = (await client.send({ method: 'PUT', key: `${prefix}/truth`, body, bodySha256 })).etag!;
    const replace = await timed(requests, async () => {
      etag = (await client.send({ method: 'PUT', key: `${prefix}/truth`, body, bodySha256, headers: { 'if-match': etag } })).etag!;
    });
    report(`${path.basename(tree)} PUT If-Match`, replace.times, replace.cpu);
    const head = await timed(requests, () => client.send({ method: 'HEAD', key: `${prefix}/truth` }));
    report(`${path.basename(tree)} HEAD`, head.times, head.cpu);
  } finally {
    client.destroy();
  }
}

/** curl's PUTs of new keys over one connection: its own timing of each (`time_total`). */
function curlFigures(storage: IS3StorageConfig, round: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-s3-requests-'));
  try {
    const file = path.join(dir, 'body');
    fs.writeFileSync(file, body);
    const base = `http://${storage.endpoint}:${storage.port}/${storage.bucketName}/curl/${round}`;
    const uploads = Array.from({ length: WARM_UPS + requests }, (_, i) => ['-T', file, `${base}/${i}`]).flat();
    const curl = spawnSync(
      'curl',
      ['-s', '-o', '/dev/null', '--aws-sigv4', `aws:amz:${storage.region || 'us-east-1'}:s3`, '-u', `${storage.accessKey}:${storage.accessSecret}`,
        '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-w', '%{http_code} %{time_total}\\n', ...uploads],
      { encoding: 'utf8' },
    );
    const lines = curl.stdout.trim().split('\n').slice(WARM_UPS);
    const failed = lines.filter((line) => !line.startsWith('200 '));
    if (curl.status !== 0 || failed.length > 0) throw new Error(`curl PUTs failed: ${curl.stderr} ${failed.slice(0, 3).join(', ')}`);
    report('curl PUT (floor)', lines.map((line) => Number(line.split(' ')[1]) * 1000), -1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await withBackends(args.backend ?? 'ceph', 's3-requests', async (name, storage) => {
  if (storage.type !== 's3') throw new Error('bench/s3-requests.ts measures an S3 engine: --backend=ceph or --backend=s3');
  // The backend creates the bucket.
  const backend = new S3Backend(storage);
  await backend.init();
  await backend.destroy();
  console.log(`${name}, ${body.length}-byte bodies, ${requests} requests per kind and round`);
  for (let round = 1; round <= rounds; round++) {
    for (const tree of trees) await clientFigures(tree, storage, round);
    curlFigures(storage, round);
  }
});
