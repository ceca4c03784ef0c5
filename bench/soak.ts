/**
 * Soak (`npm run bench -- soak`, issue 16): three registry instances (compiled, each in its own process) on one
 * storage, all seven protocols, on a fixed data set, so that memory which keeps growing is a leak and not the data.
 *
 * - publish: every version of every package is published once (spread over the instances);
 * - steady, cut into phases: ten minutes of mixed load that only reads and rewrites that set — downloads and index
 *   reads of settled versions, and writes that leave the set as it was: an OCI manifest, a Maven version and a
 *   Composer version deleted and published again, a Cargo crate, a PyPI release and a gem yanked and unyanked, an
 *   npm dist-tag moved.
 *
 * Prints each instance's RSS and its heap after a full collection at start-up, after the publishes and after each
 * steady phase; RSS is flat when the last phase is within a few per cent of the first. Then the error answers (must
 * be 0) and whether every version is present, listed in every index form and downloadable, from every instance.
 *
 * Options: --seconds=N of steady load (default 600), --phases=N (default 5), --backend=ceph|fs (default ceph when
 * Ceph RGW is installed, else fs), --workers=N concurrent clients (default 8), --packages=N per protocol (default 8),
 * --versions=N per package (default 12).
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { DEFAULT_VALIDATION_WINDOW_MS } from '../ts/core/helpers.config.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import { REGISTRY_PROTOCOLS, type IStorageConfig, type TRegistryProtocol } from '../ts/core/interfaces.core.js';
import { cephUnavailable, startCephS3 } from '../test/helpers/ceph.js';
import { sendHttpRequest, type IReadResponse } from '../test/helpers/requests.js';
import { ADMIN, authorizationFor, clusterConfig, type TCall } from '../test/reliability/cluster.js';
import { protocolDrivers, type IProtocolDriver } from '../test/reliability/drivers.js';
import { childMemory, mark, parseBenchArgs, processMiB, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';

const SCRIPT = fileURLToPath(import.meta.url);
const INSTANCES = 3;
/** Of the steady load: the share of writes and of index reads; the rest are downloads. */
const REWRITE_SHARE = 0.15;
const LISTING_SHARE = 0.2;
/** How much the last steady phase's RSS may exceed the first's and still count as flat. */
const FLAT_GROWTH = 1.1;

/** Child side: one instance; the first also makes a token per protocol and hands them over as its "token". */
async function serveInstance(storage: IStorageConfig, makeTokens: boolean) {
  await serveInChild(async () => {
    const registry = new SmartRegistry(clusterConfig(storage));
    await registry.init();
    const tokens: Partial<Record<TRegistryProtocol, string>> = {};
    if (makeTokens) {
      const auth = registry.getAuthManager();
      for (const protocol of REGISTRY_PROTOCOLS) tokens[protocol] = await auth.createToken(ADMIN.user, protocol, protocol === 'oci' ? { stored: true } : {});
    }
    return { handler: createNodeHandler(registry), token: JSON.stringify(tokens) };
  });
}

interface IPackageState {
  driver: IProtocolDriver;
  /** Versions acknowledged and not being rewritten, with when they were last written: reads pick settled ones. */
  present: Map<number, number>;
  /** Bumped at every rewrite: a read that saw its version change under it judges nothing. */
  generation: Map<number, number>;
}

/** Runs writes in order, stopping at the first refused one; every answer is kept. */
async function inOrder(...writes: (() => Promise<IReadResponse[]>)[]): Promise<IReadResponse[]> {
  const answers: IReadResponse[] = [];
  for (const write of writes) {
    const got = await write();
    answers.push(...got);
    if (got.some((answer) => answer.status >= 300)) break;
  }
  return answers;
}

/** A write that leaves the i-th version as it was: what each protocol allows to be done again and again. */
function rewrite(driver: IProtocolDriver, call: TCall, i: number): Promise<IReadResponse[]> {
  switch (driver.protocol) {
    case 'npm':
      // npm refuses a version number once used, so a dist-tag move is its repeatable write (a packument update).
      return driver.tag!(call, 'soak', i);
    case 'cargo':
    case 'pypi':
    case 'rubygems':
      return inOrder(() => driver.yank!(call, i), () => driver.unyank!(call, i));
    default:
      return inOrder(() => driver.remove!(call, i), () => driver.publish(call, i));
  }
}

interface IMemory {
  rss: number[];
  heap: number[];
  /** RSS right after that collection: what the process holds once garbage is given back. */
  rssAfterGc: number[];
  /** Heap V8 keeps committed after that collection, used or not: RSS that is not a leak. */
  heapCommitted: number[];
  /** Memory of C++ objects bound to JavaScript ones (buffers among them). */
  external: number[];
}

async function soak(storage: IStorageConfig, backend: string, args: Record<string, string>) {
  const seconds = Number(args.seconds ?? 600);
  const phases = Number(args.phases ?? 5);
  const workers = Number(args.workers ?? 8);
  const packagesPerProtocol = Number(args.packages ?? 8);
  const versions = Number(args.versions ?? 12);
  const servers: IBenchServer[] = [];
  for (let index = 0; index < INSTANCES; index++) {
    servers.push(await startBenchServer(SCRIPT, ['--serve', JSON.stringify(storage), String(index === 0)], ['--expose-gc']));
  }
  try {
    const tokens = JSON.parse(servers[0]!.token) as Record<TRegistryProtocol, string>;
    // RSS as the system sees it, then the heap after a full collection: garbage does not count as a leak.
    const memory = async (): Promise<IMemory> => {
      const rss = servers.map((server) => processMiB(server.child.pid!, 'VmRSS'));
      const usages = await Promise.all(servers.map(childMemory));
      const mib = (bytes: number) => bytes / 2 ** 20;
      return { rss, heap: usages.map((usage) => mib(usage.heapUsed)), rssAfterGc: usages.map((usage) => mib(usage.rss)), heapCommitted: usages.map((usage) => mib(usage.heapTotal)), external: usages.map((usage) => mib(usage.external)) };
    };
    const measured: { phase: string; memory: IMemory; requests: number }[] = [];
    const packages: IPackageState[] = [];
    for (let k = 0; k < packagesPerProtocol; k++) {
      for (const driver of protocolDrivers(`soak${k}`)) packages.push({ driver, present: new Map(), generation: new Map() });
    }
    const callOn = (instance: number, driver: IProtocolDriver): TCall => (method, requestPath, options = {}) =>
      sendHttpRequest(`http://127.0.0.1:${servers[instance]!.port}`, method, requestPath, {
        ...options,
        headers: { authorization: authorizationFor(driver.protocol, tokens[driver.protocol]), ...options.headers },
      });
    const counts = { reads: 0, listings: 0, publishes: 0, rewrites: 0, requests: 0 };
    const errors: string[] = [];
    const judge = (what: string, answers: IReadResponse[]) => {
      counts.requests += answers.length;
      for (const answer of answers) {
        if (answer.status >= 400) errors.push(`${what}: ${answer.status} ${answer.text.slice(0, 160)}`);
      }
      return answers.every((answer) => answer.status < 300);
    };
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;
    let operation = 0;
    const nextCall = (driver: IProtocolDriver) => callOn(operation++ % INSTANCES, driver);
    measured.push({ phase: 'start', memory: await memory(), requests: 0 });

    // Publish: the whole data set, once.
    const queue = packages.flatMap((state) => Array.from({ length: versions }, (_, i) => ({ state, i })));
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const { state, i } = item;
          if (judge(`${state.driver.protocol} publish ${state.driver.name} ${state.driver.version(i)}`, await state.driver.publish(nextCall(state.driver), i))) {
            state.present.set(i, Date.now());
          }
          counts.publishes++;
        }
      }),
    );
    measured.push({ phase: 'published', memory: await memory(), requests: counts.requests });

    // Steady: reads and rewrites within the set.
    const step = async () => {
      const state = pick(packages);
      const { driver } = state;
      const call = nextCall(driver);
      const roll = Math.random();
      // Another instance sees a write within the validation window (documented): reads ask for settled versions.
      const settled = [...state.present].filter(([, at]) => Date.now() - at > DEFAULT_VALIDATION_WINDOW_MS).map(([i]) => i);
      if (settled.length === 0 || roll < LISTING_SHARE) {
        const answers: IReadResponse[] = [];
        await driver.listings(async (method, requestPath, options) => {
          const answer = await call(method, requestPath, options);
          answers.push(answer);
          return answer;
        });
        judge(`${driver.protocol} index ${driver.name}`, answers);
        counts.listings++;
      } else if (roll < LISTING_SHARE + REWRITE_SHARE && state.present.size > 1) {
        // Never the last version not being rewritten: a gem with every version yanked is gone from the index (404).
        const i = pick(settled);
        state.present.delete(i);
        state.generation.set(i, (state.generation.get(i) ?? 0) + 1);
        if (judge(`${driver.protocol} rewrite ${driver.name} ${driver.version(i)}`, await rewrite(driver, call, i))) state.present.set(i, Date.now());
        counts.rewrites++;
      } else {
        const i = pick(settled);
        const generation = state.generation.get(i);
        const downloads = await driver.download(call, i);
        // Rewritten while this read was under way: what it saw proves nothing either way.
        if (state.generation.get(i) !== generation) return;
        for (const { what, answer, expected } of downloads) {
          judge(`${driver.protocol} ${what} ${driver.name} ${driver.version(i)}`, [answer]);
          if (answer.status === 200 && !answer.bytes.equals(expected)) errors.push(`${driver.protocol} ${what} ${driver.name} ${driver.version(i)}: other bytes`);
        }
        counts.reads++;
      }
    };
    const mib = (values: number[]) => values.map((value) => value.toFixed(0)).join(' / ');
    const started = Date.now();
    for (let phase = 1; phase <= phases; phase++) {
      const until = started + (seconds * 1000 * phase) / phases;
      await Promise.all(Array.from({ length: workers }, async () => {
        while (Date.now() < until) await step();
      }));
      const at = await memory();
      measured.push({ phase: `steady ${phase}/${phases}`, memory: at, requests: counts.requests });
      console.log(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${counts.requests} requests, ${errors.length} errors, RSS ${mib(at.rss)} MiB, heap ${mib(at.heap)} MiB`);
    }
    await sleep(DEFAULT_VALIDATION_WINDOW_MS + 100);

    // Every version: listed in every index form and downloadable, from every instance.
    let expected = 0;
    const lost: string[] = [];
    const lostVersions = new Set<string>();
    for (const state of packages) {
      const { driver } = state;
      expected += versions;
      for (let instance = 0; instance < INSTANCES; instance++) {
        const call = callOn(instance, driver);
        const listings = await driver.listings(call);
        for (let i = 0; i < versions; i++) {
          for (const [form, listed] of Object.entries(listings)) {
            if (listed.includes(driver.version(i))) continue;
            lost.push(`${driver.protocol} ${driver.name} ${driver.version(i)} missing from ${form} on instance ${instance}`);
            lostVersions.add(`${driver.protocol} ${driver.name} ${driver.version(i)}`);
          }
          for (const { what, answer, expected: bytes } of await driver.download(call, i)) {
            if (answer.status === 200 && answer.bytes.equals(bytes)) continue;
            lost.push(`${driver.protocol} ${driver.name} ${driver.version(i)} ${what} on instance ${instance}: ${answer.status}`);
            lostVersions.add(`${driver.protocol} ${driver.name} ${driver.version(i)}`);
          }
        }
      }
    }
    const firstSteady = measured.find((entry) => entry.phase.startsWith('steady'))!.memory;
    const last = measured.at(-1)!.memory;
    const growth = Math.max(...last.rss.map((end, index) => end / firstSteady.rss[index]!));
    const heapGrowth = Math.max(...last.heap.map((end, index) => end / firstSteady.heap[index]!));
    console.log(
      [
        `\nsoak — ${backend}, ${INSTANCES} instances, ${workers} clients, ${packagesPerProtocol} packages per protocol × ${versions} versions, ${seconds} s steady (${os.cpus().length} cores shared with other work, load ${os.loadavg().map((load) => load.toFixed(1)).join(' ')})`,
        `  requests                                  ${counts.requests} (${((counts.requests - measured[1]!.requests) / seconds).toFixed(1)}/s steady)`,
        `  publishes / rewrites                      ${counts.publishes} / ${counts.rewrites}`,
        `  downloads / index reads                   ${counts.reads} / ${counts.listings}`,
        `  error answers                             ${errors.length}   ${mark(errors.length === 0)} target 0`,
        `  versions present at the end               ${expected - lostVersions.size} of ${expected}   ${mark(lost.length === 0)} target all`,
        `  per instance, MiB:                        RSS                 heap after GC       RSS after GC        heap committed      external`,
        ...measured.map(({ phase, memory: { rss, heap, rssAfterGc, heapCommitted, external } }) =>
          `    ${phase.padEnd(40)}${[rss, heap, rssAfterGc, heapCommitted].map((values) => mib(values).padEnd(20)).join('')}${mib(external)}`),
        `  RSS last / first steady phase             ${growth.toFixed(2)}× (largest)   ${mark(growth <= FLAT_GROWTH)} flat: at most ${FLAT_GROWTH}×`,
        `  heap last / first steady phase            ${heapGrowth.toFixed(2)}× (largest)`,
      ].join('\n'),
    );
    for (const line of [...errors, ...lost].slice(0, Number(process.env.SOAK_SHOW ?? 20))) console.log(`  ! ${line}`);
    if (errors.length > 0 || lost.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function main() {
  if (process.argv[2] === '--serve') return serveInstance(JSON.parse(process.argv[3]!) as IStorageConfig, process.argv[4] === 'true');
  const args = parseBenchArgs();
  const backend = args.backend ?? (cephUnavailable() ? 'fs' : 'ceph');
  if (backend === 'ceph') {
    const ceph = await startCephS3();
    try {
      await soak({ type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName }, 'one Ceph RGW bucket', args);
    } finally {
      await ceph.stop();
    }
  } else {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-soak-'));
    try {
      await soak({ type: 'filesystem', path: dir }, 'one filesystem folder', args);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}

await main();
