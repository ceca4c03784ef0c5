/**
 * Path traversal and encoded separators on every route of every protocol (issue 16): fast-check puts a
 * hostile segment (`..`, `%2e%2e`, `%2f`, `%5c`, NUL, control characters, malformed or double encoding)
 * in any segment of any route's path, sent with the administrator's token so permissions cannot hide
 * anything. Each answer is a 4xx in the protocol's error shape and storage is left as it was.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IRoute } from '../../ts/core/classes.baseregistry.js';
import { sendRequest } from '../helpers/requests.js';
import { PROTOCOLS, errorMessage, startAllProtocols, type IAllProtocolsRegistry } from './protocolactions.js';

const SEED = 160016;
const RUNS_PER_PROTOCOL = 150;

/** A plausible value for each route parameter, so only the hostile segment is wrong. */
const PARAM_VALUES: Record<string, string> = {
  name: 'target',
  scope: '@acme',
  version: '1.0.0',
  reference: 'v0',
  digest: `sha256:${'0'.repeat(64)}`,
  uuid: '3f2c9a52-4c61-4d2b-9a55-0a7b6a3c1d10',
  tag: 'latest',
  rev: '1-0123456789abcdef',
  file: 'target-1.0.0.tgz',
  fileScope: '@acme',
  path: 'com/example/target/1.0.0/target-1.0.0.pom',
  vendor: 'acme',
  package: 'target',
  project: 'target',
  gem: 'target',
};

const word = fc.stringMatching(/^[a-z0-9]{1,6}$/);
/** Segments that climb, or carry a separator, NUL or control character in some spelling. */
const hostileSegment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%2e', '..%2f..%2fauth', '%2e%2e%2f%2e%2e%2fauth', '..%5c..%5cauth', '..\\..\\auth', '%2e%2e%5c', '%c0%ae%c0%ae'),
  fc
    .tuple(word, fc.constantFrom('%2f', '%2F', '%5c', '%5C', '%00', '\\', '\u0000', '%01', '%1f', '%7f', '\n', '\t', '%', '%zz', '%2', '%252e%252e%252f'), word)
    .map(([before, separator, after]) => `${before}${separator}${after}`),
);

interface IHostilePath {
  method: string;
  path: string;
}

/** Every method × pattern of the protocol, with the hostile segment replacing or preceding one segment. */
function hostilePaths(routes: IRoute[]): fc.Arbitrary<IHostilePath> {
  const shapes = routes.flatMap((route) => (Array.isArray(route.method) ? route.method : [route.method]).map((method) => ({ method, pattern: route.pattern })));
  return fc.record({ shape: fc.constantFrom(...shapes), position: fc.nat(), replace: fc.boolean(), hostile: hostileSegment }).map(({ shape, position, replace, hostile }) => {
    const segments = shape.pattern
      .split('/')
      .slice(1)
      .map((segment) => segment.replace(/^:([A-Za-z]+)\+?$/, (_, param: string) => PARAM_VALUES[param] ?? 'x'));
    const at = position % segments.length;
    segments.splice(at, replace ? 1 : 0, hostile);
    return { method: shape.method, path: `/${segments.join('/')}` };
  });
}

/** The containing segment must not decode to something harmless: `..%2f` in npm is a name with `/..`. */
describe('hostile path segments on every route of every protocol', () => {
  let r: IAllProtocolsRegistry;
  let keys: string[];
  const counts: Record<string, number> = {};
  before(async () => {
    r = await startAllProtocols();
    for (const protocol of PROTOCOLS) assert.equal(Math.floor((await r.actions[protocol].write(r.adminTokens[protocol], 0)).status / 100), 2);
    keys = await r.keys();
  });
  after(async () => {
    await r.close();
    console.log(`hostile paths per protocol: ${JSON.stringify(counts)}`);
  });

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: ${RUNS_PER_PROTOCOL} hostile paths answer 4xx in ${protocol}'s error shape and store nothing`, async () => {
      // The route table is the protocol's whole surface (protected: read here, not widened for tests).
      const routes = (r.registry.getRegistry(protocol) as unknown as { routes(): IRoute[] }).routes();
      const authorization = r.actions[protocol].authorization(r.adminTokens[protocol]);
      counts[protocol] = 0;
      await fc.assert(
        fc.asyncProperty(hostilePaths(routes), async ({ method, path }) => {
          counts[protocol]++;
          const body = method === 'GET' || method === 'DELETE' ? undefined : Buffer.from('{}');
          const res = await sendRequest(r.registry, method, `/${protocol}${path}`, { headers: { authorization }, body });
          assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status} ${res.text}`);
          assert.equal(typeof errorMessage(protocol, res), 'string', `${method} ${path}: error shape: ${res.text}`);
          assert.deepEqual(await r.keys(), keys, `${method} ${path}: storage unchanged`);
        }),
        { seed: SEED, numRuns: RUNS_PER_PROTOCOL },
      );
    });
  }
});
