/**
 * Soak (`npm run bench -- soak`, issue 16): three registry instances (compiled, each in its own process) on one
 * storage, all seven protocols, under mixed load for ten minutes: downloads of published versions and index reads,
 * publishes of new versions and deletes, spread over several packages per protocol and over the instances. Prints
 * each instance's RSS after start-up, after the warm-up and at the end, the error answers (must be 0), and how many
 * acknowledged publishes are present at the end (every one that was not deleted must be).
 *
 * Options: --seconds=N (default 600), --backend=ceph|fs (default ceph when Ceph RGW is installed, else fs),
 * --workers=N concurrent clients (default 8), --packages=N per protocol (default 8).
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
import { mark, parseBenchArgs, processMiB, serveInChild, startBenchServer, type IBenchServer } from './helpers.load.js';

const SCRIPT = fileURLToPath(import.meta.url);
const INSTANCES = 3;
/** RSS is compared from here on: caches and JIT have filled by then. */
const WARM_UP_SHARE = 0.2;

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
  next: number;
  /** Acknowledged and not deleted, with when: reads pick from here, and each must be present at the end. */
  present: Map<number, number>;
  deleted: number;
}

async function soak(storage: IStorageConfig, backend: string, args: Record<string, string>) {
  const seconds = Number(args.seconds ?? 600);
  const workers = Number(args.workers ?? 8);
  const packagesPerProtocol = Number(args.packages ?? 8);
  const servers: IBenchServer[] = [];
  for (let index = 0; index < INSTANCES; index++) servers.push(await startBenchServer(SCRIPT, ['--serve', JSON.stringify(storage), String(index === 0)]));
  try {
    const tokens = JSON.parse(servers[0]!.token) as Record<TRegistryProtocol, string>;
    const rss = () => servers.map((server) => processMiB(server.child.pid!, 'VmRSS'));
    const rssStart = rss();
    const packages: IPackageState[] = [];
    for (let k = 0; k < packagesPerProtocol; k++) {
      for (const driver of protocolDrivers(`soak${k}`)) packages.push({ driver, next: 0, present: new Map(), deleted: 0 });
    }
    const callOn = (instance: number, driver: IProtocolDriver): TCall => (method, requestPath, options = {}) =>
      sendHttpRequest(`http://127.0.0.1:${servers[instance]!.port}`, method, requestPath, {
        ...options,
        headers: { authorization: authorizationFor(driver.protocol, tokens[driver.protocol]), ...options.headers },
      });
    const counts = { reads: 0, listings: 0, publishes: 0, deletes: 0, requests: 0 };
    const errors: string[] = [];
    const judge = (what: string, answers: IReadResponse[], allowed: (answer: IReadResponse) => boolean = () => false) => {
      counts.requests += answers.length;
      for (const answer of answers) {
        if (answer.status < 400 || allowed(answer)) continue;
        errors.push(`${what}: ${answer.status} ${answer.text.slice(0, 160)}`);
      }
      return answers.every((answer) => answer.status < 300);
    };
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

    let operation = 0;
    const step = async () => {
      const state = pick(packages);
      const { driver } = state;
      const call = callOn(operation++ % INSTANCES, driver);
      const roll = Math.random();
      const present = [...state.present.keys()];
      // Another instance sees a write within the validation window (documented): reads ask for older versions.
      const settled = [...state.present].filter(([, at]) => Date.now() - at > DEFAULT_VALIDATION_WINDOW_MS).map(([i]) => i);
      if (roll < 0.3 || settled.length === 0) {
        const i = state.next++;
        if (judge(`${driver.protocol} publish ${driver.name} ${driver.version(i)}`, await driver.publish(call, i))) state.present.set(i, Date.now());
        counts.publishes++;
      } else if (roll < 0.38 && driver.remove && present.length > 3) {
        const i = pick(present);
        state.present.delete(i);
        // npm's unpublish reads again after a 409 (someone wrote in between): part of the client's flow.
        judge(`${driver.protocol} delete ${driver.name} ${driver.version(i)}`, await driver.remove(call, i), (answer) => answer.status === 409);
        state.deleted++;
        counts.deletes++;
      } else if (roll < 0.5) {
        await driver.listings(recordingCall(call, (answers) => judge(`${driver.protocol} index ${driver.name}`, answers)));
        counts.listings++;
      } else {
        const i = pick(settled);
        for (const { what, answer, expected } of await driver.download(call, i)) {
          // Deleted while this read was under way is the only 404 a reader may see.
          if (!state.present.has(i)) continue;
          judge(`${driver.protocol} ${what} ${driver.name} ${driver.version(i)}`, [answer]);
          if (answer.status === 200 && !answer.bytes.equals(expected)) errors.push(`${driver.protocol} ${what} ${driver.name} ${driver.version(i)}: other bytes`);
        }
        counts.reads++;
      }
    };

    const started = Date.now();
    const until = started + seconds * 1000;
    let rssWarm: number[] | undefined;
    const warmAt = started + seconds * 1000 * WARM_UP_SHARE;
    const progress = setInterval(() => {
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      console.log(`  ${elapsed} s: ${counts.requests} requests (${counts.publishes} publishes, ${counts.deletes} deletes, ${counts.reads} downloads, ${counts.listings} index reads), ${errors.length} errors, RSS ${rss().map((mib) => mib.toFixed(0)).join(' / ')} MiB`);
    }, 60_000);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (Date.now() < until) {
          if (!rssWarm && Date.now() >= warmAt) rssWarm = rss();
          await step();
        }
      }),
    );
    clearInterval(progress);
    const rssEnd = rss();
    await sleep(DEFAULT_VALIDATION_WINDOW_MS + 100);

    // Every acknowledged publish not deleted since: listed in every index form and downloadable, from every instance.
    let expected = 0;
    const lost: string[] = [];
    const lostVersions = new Set<string>();
    for (const state of packages) {
      const { driver } = state;
      expected += state.present.size;
      for (let instance = 0; instance < INSTANCES; instance++) {
        const call = callOn(instance, driver);
        const listings = await driver.listings(call);
        for (const i of state.present.keys()) {
          for (const [form, versions] of Object.entries(listings)) {
            if (versions.includes(driver.version(i))) continue;
            lost.push(`${driver.protocol} ${driver.name} ${driver.version(i)} missing from ${form} on instance ${instance}`);
            lostVersions.add(`${driver.protocol} ${driver.name} ${driver.version(i)}`);
          }
          if (instance !== 0) continue;
          for (const { what, answer, expected: bytes } of await driver.download(call, i)) {
            if (answer.status === 200 && answer.bytes.equals(bytes)) continue;
            lost.push(`${driver.protocol} ${driver.name} ${driver.version(i)} ${what}: ${answer.status}`);
            lostVersions.add(`${driver.protocol} ${driver.name} ${driver.version(i)}`);
          }
        }
      }
    }
    const acknowledged = packages.reduce((sum, state) => sum + state.present.size + state.deleted, 0);
    const mib = (values: number[] | undefined) => (values ?? []).map((value) => value.toFixed(0)).join(' / ');
    const growth = Math.max(...rssEnd.map((end, index) => end / (rssWarm ?? rssStart)[index]!));
    console.log(
      [
        `\nsoak — ${backend}, ${INSTANCES} instances, ${workers} clients, ${seconds} s, ${packagesPerProtocol} packages per protocol (${os.cpus().length} cores shared with other work)`,
        `  requests                                  ${counts.requests} (${(counts.requests / seconds).toFixed(1)}/s)`,
        `  publishes acknowledged / deletes          ${acknowledged} / ${counts.deletes}`,
        `  downloads / index reads                   ${counts.reads} / ${counts.listings}`,
        `  error answers                             ${errors.length}   ${mark(errors.length === 0)} target 0`,
        `  acknowledged publishes present at the end ${expected - lostVersions.size} of ${expected}   ${mark(lost.length === 0)} target all`,
        `  RSS per instance: start                   ${mib(rssStart)} MiB`,
        `  RSS per instance: after warm-up           ${mib(rssWarm)} MiB`,
        `  RSS per instance: end                     ${mib(rssEnd)} MiB   ${growth.toFixed(2)}× after warm-up (largest)`,
      ].join('\n'),
    );
    for (const line of [...errors, ...lost].slice(0, Number(process.env.SOAK_SHOW ?? 20))) console.log(`  ! ${line}`);
    if (errors.length > 0 || lost.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** A call that hands every answer it got to `judge` once the driver is done with it. */
function recordingCall(call: TCall, judge: (answers: IReadResponse[]) => void): TCall {
  return async (method, requestPath, options) => {
    const answer = await call(method, requestPath, options);
    judge([answer]);
    return answer;
  };
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
