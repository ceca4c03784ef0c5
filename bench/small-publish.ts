/**
 * Publish figures alone (`npm run bench -- small-publish`): per protocol, 30 warm-up publishes, then versions 1..200
 * of one package one request at a time: the median, versions 1-10 and 190-200, and the server's CPU per publish (the
 * median of each request's, and user + system over all 200 from /proc, split; on Ceph RGW also its daemons' CPU per
 * publish, the engine's share of the two cores, which back-to-back publishes wait for as much as for their own). Quick enough to repeat, so a change
 * can be set against the code before it in the same minutes: `--against=/path/to/a/checkout` runs that tree's server
 * (compiled from its own sources, fed the same packages) before this one's, for each protocol and `--rounds=N` times.
 *
 * Options: --only=cargo,maven,rubygems,composer,pypi (the protocols it knows, all by default), --backend=fs|s3|ceph (default fs),
 * --against=DIR, --rounds=N (default 1).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IStorageConfig } from '../ts/core/interfaces.core.js';
import { frame, makeCrate, publishMetadata } from '../test/cargo/fixtures.js';
import { makePackageZip } from '../test/composer/fixtures.js';
import { MULTIPART_TYPE, makeWheel, multipartBody, uploadFields } from '../test/pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../test/rubygems/fixtures.js';
import { benchRequest, median, parseBenchArgs, withBackends, withServerCpu, type IBenchRequest, type IBenchServer } from './helpers.load.js';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WARM_UPS = 30;
const VERSIONS = 200;

/** A publish of `version` (1, 2 …) of package `name`: the request, and the status that says it landed. */
type TPublish = (server: IBenchServer, name: string, version: number) => Promise<{ request: IBenchRequest; ok: number }>;

const PUBLISHES: Record<string, TPublish> = {
  cargo: async (server, name, version) => {
    const crate = `bench_${name}`;
    const metadata = JSON.stringify(publishMetadata(crate, `1.0.${version}`, { description: `benchmark crate ${crate}`, keywords: ['bench'] }));
    return {
      request: { port: server.port, method: 'PUT', path: '/cargo/api/v1/crates/new', headers: { authorization: server.token }, body: frame(metadata, await makeCrate(crate, `1.0.${version}`)) },
      ok: 200,
    };
  },
  // One jar PUT: what the issues' "publish of a small artifact" measures for Maven (a whole mvn deploy is 15 PUTs).
  maven: async (server, name, version) => ({
    request: {
      port: server.port,
      method: 'PUT',
      path: `/maven/com/example/bench/bench-${name}/1.0.${version}/bench-${name}-1.0.${version}.jar`,
      headers: { authorization: server.token },
      body: Buffer.from(`jar ${version}`),
    },
    ok: 201,
  }),
  rubygems: async (server, name, version) => ({
    request: {
      port: server.port,
      method: 'POST',
      path: '/rubygems/api/v1/gems',
      headers: { authorization: server.token },
      body: await makeGem(gemspecYaml(`bench-${name}`, `1.0.${version}`, { dependencies: { rake: ['>= 12.0', '< 14'] } })),
    },
    ok: 200,
  }),
  composer: async (server, name, version) => ({
    request: {
      port: server.port,
      method: 'PUT',
      path: `/composer/packages/bench/${name}`,
      headers: { authorization: `Bearer ${server.token}` },
      body: await makePackageZip(`bench/${name}`, `1.0.${version}`),
    },
    ok: 201,
  }),
  pypi: async (server, name, version) => {
    const file = await makeWheel(`bench-${name}`, `1.${version}`);
    return {
      request: {
        port: server.port,
        method: 'POST',
        path: '/pypi/',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': MULTIPART_TYPE },
        body: multipartBody(await uploadFields(`bench-${name}`, `1.${version}`, file), file),
      },
      ok: 200,
    };
  },
};

/** User and system CPU ms of a process so far (10 ms ticks of /proc/PID/stat: enough over 200 publishes). */
function userSystemMs(pid: number): [number, number] {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const msPerTick = 1000 / 100;
  return [Number(fields[11]) * msPerTick, Number(fields[12]) * msPerTick];
}

/** User + system ms of all `pids` so far. */
const totalCpuMs = (pids: number[]) => pids.reduce((sum, pid) => sum + userSystemMs(pid).reduce((a, b) => a + b, 0), 0);

async function publishFigures(tree: string, protocol: string, storage: IStorageConfig, enginePids: number[]): Promise<string> {
  // The tree's own helpers compile and start the tree's own server.
  const helpers = (await import(path.join(tree, 'bench', 'helpers.load.ts'))) as typeof import('./helpers.load.js');
  const server = await helpers.startBenchServer(path.join(tree, 'bench', `${protocol}.ts`), ['--serve', JSON.stringify(storage)]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const publish = async (name: string, version: number, cpu?: number[]) => {
    const { request, ok } = await PUBLISHES[protocol]!(server, name, version);
    const started = performance.now();
    const send = () => benchRequest({ ...request, agent });
    const result = await (cpu ? withServerCpu(server.child.pid!, cpu, send) : send());
    if (result.status !== ok) throw new Error(`${protocol} publish ${name} ${version}: ${result.status} ${result.text}`);
    return performance.now() - started;
  };
  try {
    for (let version = 1; version <= WARM_UPS; version++) await publish('warmup', version);
    const times: number[] = [];
    const cpu: number[] = [];
    const [userBefore, systemBefore] = userSystemMs(server.child.pid!);
    const engineBefore = totalCpuMs(enginePids);
    for (let version = 1; version <= VERSIONS; version++) times.push(await publish('pkg', version, cpu));
    const [userAfter, systemAfter] = userSystemMs(server.child.pid!);
    const engine = enginePids.length > 0 ? `; engine CPU per publish ${((totalCpuMs(enginePids) - engineBefore) / VERSIONS).toFixed(2)} ms` : '';
    const first = median(times.slice(0, 10));
    const last = median(times.slice(189, 200));
    const f = (ms: number) => ms.toFixed(2);
    return (
      `median ${f(median(times))} ms, 1-10 ${f(first)}, 190-200 ${f(last)} (${(last / first).toFixed(2)}×); ` +
      `CPU per publish ${f(median(cpu))} ms (1-10 ${f(median(cpu.slice(0, 10)))}, 190-200 ${f(median(cpu.slice(189, 200)))}), ` +
      `user ${f((userAfter - userBefore) / VERSIONS)} + system ${f((systemAfter - systemBefore) / VERSIONS)} ms${engine}`
    );
  } finally {
    agent.destroy();
    await server.stop();
  }
}

const args = parseBenchArgs();
const protocols = (args.only ?? Object.keys(PUBLISHES).join(',')).split(',');
const unknown = protocols.find((protocol) => !PUBLISHES[protocol]);
if (unknown) throw new Error(`bench/small-publish.ts knows ${Object.keys(PUBLISHES).join(', ')}, not ${unknown}`);
const trees = args.against ? [path.resolve(args.against), HERE] : [HERE];
for (let round = 1; round <= Number(args.rounds ?? 1); round++) {
  for (const protocol of protocols) {
    for (const tree of trees) {
      await withBackends(args.backend ?? 'fs', `publish-${protocol}`, async (backend, storage, enginePids) => {
        const load = os.loadavg()[0]!.toFixed(2);
        const figures = await publishFigures(tree, protocol, storage, enginePids);
        console.log(`${protocol} ${backend} ${path.basename(tree)} (round ${round}, load ${load}): ${figures}`);
      });
    }
  }
}
