/**
 * Web page benchmark (`npm run bench -- web`, or `node --import tsx bench/web.ts`).
 *
 * The registry (compiled; npm, PyPI and Cargo with anonymous reads, the web page at `/`) and a bare
 * node:http "hello" server run in child processes; load comes from here over keep-alive sockets
 * (bench/helpers.load.ts), each rate printed beside the hello server's, measured right before it.
 *
 *   home GET        the home page (counts, recent publishes, 20 packages per protocol), 32 connections
 *   package GET     an npm package page (20 versions, an 8 KB Markdown readme), 32 connections, anonymous
 *                   and signed in (session cookie)
 *   search          search-as-you-type: `/search?q=` for each prefix of names as it is typed, one at a
 *                   time, p50 — at 500 packages and with the npm index filled to 50,000 (bulk)
 *   home at 50,000  the home page again, 32 connections
 *
 * Options: --backend=fs|s3|all (default fs), --seconds=N per load phase (default 5).
 */
import * as http from 'node:http';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { SmartRegistry } from '../ts/classes.smartregistry.js';
import { createNodeHandler } from '../ts/adapters/node.js';
import type { IRegistryConfig, IStorageConfig } from '../ts/core/interfaces.core.js';
import type { NpmRegistry } from '../ts/npm/classes.npmregistry.js';
import { benchName, searchEntry, word } from './helpers.searchentries.js';
import { publishBody } from '../test/npm/fixtures.js';
import {
  CONNECTIONS,
  benchRequest,
  loadTest,
  mark,
  median,
  parseBenchArgs,
  serveInChild,
  startBenchServer,
  startHelloServer,
  withBackends,
  type IBenchServer,
  type ILoadResult,
} from './helpers.load.js';

const SELF = fileURLToPath(import.meta.url);
const PASSWORD = 'bench-password';
const TARGETS = { pageRatio: 0.2, searchP50Ms: 10 };

const registryConfig = (storage: IStorageConfig): IRegistryConfig => ({
  storage,
  auth: { tokenStore: 'memory', anonymousRead: true, users: { bench: { password: PASSWORD, scopes: ['*'] } } },
  logging: { level: 'error' },
  npm: { enabled: true, basePath: '/npm' },
  pypi: { enabled: true, basePath: '/pypi' },
  cargo: { enabled: true, basePath: '/cargo' },
  web: { enabled: true, basePath: '/' },
});

async function buildRegistry(storage: IStorageConfig) {
  const registry = new SmartRegistry(registryConfig(storage));
  await registry.init();
  return { handler: createNodeHandler(registry) as http.RequestListener, token: '' };
}

const startServer = (storage: IStorageConfig) => startBenchServer(SELF, ['--serve', JSON.stringify(storage)]);

// ---- fixtures ----------------------------------------------------------------------------------

/** About 8 KB of Markdown: headings, lists, code, a table and links, as a real readme has. */
const README = Array.from({ length: 12 }, (_, i) =>
  [
    `## Section ${i}`,
    '',
    `Some **bold** and _emphasised_ text about the ${word(i)} feature, with a [link](https://registry.example.com/docs/${i}).`,
    '',
    '- first point',
    '- second point with `code`',
    '',
    '```js',
    `const value = require('bench-page').${word(i)}({ level: ${i} });`,
    '```',
    '',
    '| option | default |',
    '| --- | --- |',
    `| ${word(i + 1)} | ${i} |`,
    '',
  ].join('\n'),
).join('\n');

async function publish(server: IBenchServer, name: string, version: string, extra: Record<string, unknown> = {}) {
  const { body } = await publishBody(name, version, { manifest: { readme: README, ...extra } });
  (body as Record<string, unknown>).readme = README;
  const headers = { authorization: `Basic ${Buffer.from(`bench:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' };
  const result = await benchRequest({ port: server.port, method: 'PUT', path: `/npm/${name}`, headers, body: Buffer.from(JSON.stringify(body)) });
  if (result.status !== 201) throw new Error(`publish ${name}@${version}: ${result.status} ${result.text}`);
}

async function signIn(server: IBenchServer): Promise<string> {
  const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const body = `username=bench&password=${PASSWORD}`;
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  answer.resume();
  const cookie = answer.headers['set-cookie']?.[0]?.split(';')[0];
  if (answer.statusCode !== 303 || !cookie) throw new Error(`sign-in: ${answer.statusCode}`);
  return cookie;
}

// ---- the benchmark -----------------------------------------------------------------------------

type TPhase = ILoadResult & { hello: number };

interface IFigures {
  backend: string;
  home: TPhase;
  homeBytes: number;
  page: TPhase;
  pageBytes: number;
  pageSignedIn: TPhase;
  search500: number;
  search50k: number;
  home50k: TPhase;
}

/** Prefixes as someone types them: `p`, `pa`, `par` … of names that exist, and of words. */
function typedQueries(count: number): string[] {
  const queries: string[] = [];
  for (let i = 0; queries.length < 300; i++) {
    const target = i % 3 === 2 ? `${word(i)} ${word(i + 5)}` : benchName((i * 7919) % count);
    for (let length = 1; length <= target.length && queries.length < 300; length++) queries.push(target.slice(0, length));
  }
  return queries;
}

async function searchP50(server: IBenchServer, queries: string[]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (query: string) => benchRequest({ port: server.port, path: `/search?q=${encodeURIComponent(query)}`, agent });
  for (const query of queries.slice(0, 20)) await get(query);
  const times: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    const result = await get(query);
    times.push(performance.now() - started);
    if (result.status !== 200) throw new Error(`search ${query}: ${result.status}`);
  }
  agent.destroy();
  return median(times);
}

async function bench(backend: string, storage: IStorageConfig, seconds: number, hello: IBenchServer): Promise<IFigures> {
  const server = await startServer(storage);
  try {
    console.log(`[${backend}] publishing bench-page (20 versions) and 500 packages`);
    for (let v = 0; v < 20; v++) await publish(server, 'bench-page', `1.0.${v}`, { dependencies: { 'alpha-beta-1': '^1.0.0' } });
    for (let i = 0; i < 500; i++) {
      const entry = searchEntry(i);
      await publish(server, entry.name, '1.0.0', { description: entry.description, keywords: entry.keywords });
    }
    const phase = async (path: string, headers: Record<string, string> = {}): Promise<TPhase> => {
      const helloRps = (await loadTest(hello.port, '/', {}, seconds, hello.child.pid)).rps;
      return { ...(await loadTest(server.port, path, headers, seconds, server.child.pid)), hello: helloRps };
    };
    const homeBytes = (await benchRequest({ port: server.port, path: '/' })).bytes;
    const pageBytes = (await benchRequest({ port: server.port, path: '/packages/npm/bench-page' })).bytes;
    const home = await phase('/');
    const page = await phase('/packages/npm/bench-page');
    const pageSignedIn = await phase('/packages/npm/bench-page', { cookie: await signIn(server) });
    const search500 = await searchP50(server, typedQueries(500));

    console.log(`[${backend}] filling the npm search index to 50,000 packages (bulk, through the index API)`);
    const seeder = new SmartRegistry(registryConfig(storage));
    await seeder.init();
    const index = (seeder.getRegistry('npm') as NpmRegistry).getSearchIndex();
    for (let from = 500; from < 50_000; from += 10_000) {
      await index.upsertMany(Array.from({ length: Math.min(10_000, 50_000 - from) }, (_, k) => searchEntry(from + k)), { protocol: 'npm' });
    }
    await seeder.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the server revalidates its copy at most every second
    const search50k = await searchP50(server, typedQueries(50_000));
    const home50k = await phase('/');
    return { backend, home, homeBytes, page, pageBytes, pageSignedIn, search500, search50k, home50k };
  } finally {
    await server.stop();
  }
}

function report(f: IFigures) {
  const row = (label: string, value: string, rest = '') => `  ${label.padEnd(50)}${value.padStart(8)} ${rest}`;
  const rate = (label: string, p: TPhase) => {
    const ratio = p.rps / p.hello;
    return row(label, p.rps.toFixed(0), `req/s  ${ratio.toFixed(2)}× hello (${p.hello.toFixed(0)})  p50 ${p.p50.toFixed(1)} ms  CPU ${p.cpuMsPerRequest.toFixed(2)} ms/req   ${mark(ratio >= TARGETS.pageRatio)} target ≥ ${TARGETS.pageRatio}×`);
  };
  const search = (label: string, ms: number) => row(label, ms.toFixed(2), `ms     ${mark(ms <= TARGETS.searchP50Ms)} target ≤ ${TARGETS.searchP50Ms} ms`);
  console.log(
    [
      `\nweb page benchmark — ${f.backend} (${os.cpus().length} cores shared with other work: figures under load)`,
      rate(`home GET (${(f.homeBytes / 1024).toFixed(0)} KB), ${CONNECTIONS} connections`, f.home),
      rate(`package page GET (${(f.pageBytes / 1024).toFixed(0)} KB), anonymous`, f.page),
      rate('package page GET, signed in (session cookie)', f.pageSignedIn),
      search('search as you type p50, 500 packages', f.search500),
      search('search as you type p50, 50,000 packages', f.search50k),
      rate('home GET, 50,000 npm packages', f.home50k),
    ].join('\n'),
  );
}

if (process.argv[2] === '--serve') {
  await serveInChild(() => buildRegistry(JSON.parse(process.argv[3]) as IStorageConfig));
} else {
  const args = parseBenchArgs();
  const seconds = Number(args.seconds ?? 5);
  console.log(`web page benchmark — ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (a shared machine: figures are under load)`);
  const hello = await startHelloServer();
  const results: IFigures[] = [];
  try {
    await withBackends(args.backend ?? 'fs', 'web', async (name, storage) => {
      results.push(await bench(name, storage, seconds, hello));
      report(results.at(-1)!);
    });
  } finally {
    await hello.stop();
  }
}
