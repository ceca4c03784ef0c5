/**
 * An unexpected fault inside a protocol's route (here: an auth provider that throws a plain TypeError) is a
 * 500 in that protocol's own error shape, read as its client reads it, carrying the error id that was
 * logged with the fault's stack; the fault's own message never reaches the answer. A request no protocol
 * matches keeps the generic JSON. Real registry, real filesystem storage, a real log destination.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmartlogDestinationBuffer } from '@push.rocks/smartlog/destination-buffer';
import type { IAuthProvider } from '../../ts/core/interfaces.auth.js';
import type { IRequestContext } from '../../ts/core/interfaces.core.js';
import { readResponse, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry, type ITestRegistry } from '../helpers/testregistry.js';

const INTERNAL = 'provider lost its session table';
const ERROR_ID = /error id ([0-9a-f-]{36})/;

/** A provider with a bug: every token lookup throws what a bug throws. */
const brokenProvider: IAuthProvider = {
  authenticate: async () => null,
  validateToken: async () => {
    throw new TypeError(`${INTERNAL} (reading 'get' of undefined)`);
  },
  createToken: async () => 'never',
  revokeToken: async () => undefined,
  authorize: async () => false,
};

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface IProtocolCase {
  protocol: string;
  path: string;
  /** The Authorization header as this protocol's client sends a token. */
  authorization: string;
  /** The message the protocol's client would show, read from the answer as it reads it. */
  message(res: IReadResponse): string;
}

const CASES: IProtocolCase[] = [
  {
    protocol: 'npm',
    path: '/npm/left-pad',
    authorization: 'Bearer boom',
    message: (res) => res.json.error,
  },
  {
    protocol: 'oci',
    path: '/oci/v2/library/app/manifests/latest',
    authorization: basic('ci', 'boom'),
    message: (res) => {
      const [error] = res.json.errors;
      assert.equal(typeof error.code, 'string', res.text);
      return error.message;
    },
  },
  {
    protocol: 'maven',
    path: '/maven/com/example/app/1.0/app-1.0.pom',
    authorization: basic('ci', 'boom'),
    message: (res) => {
      assert.match(res.headers['content-type'], /^text\/plain/);
      return res.text.trim();
    },
  },
  {
    protocol: 'cargo',
    path: '/cargo/api/v1/crates/app/1.0.0/download',
    authorization: 'boom',
    message: (res) => res.json.errors[0].detail,
  },
  {
    protocol: 'composer',
    path: '/composer/packages.json',
    authorization: basic('ci', 'boom'),
    message: (res) => {
      assert.equal(res.json.status, 'error', res.text);
      return res.json.message;
    },
  },
  {
    protocol: 'pypi',
    path: '/pypi/simple/app/',
    authorization: basic('__token__', 'boom'),
    message: (res) => res.json.message,
  },
  {
    protocol: 'rubygems',
    path: '/rubygems/info/app',
    authorization: 'boom',
    message: (res) => {
      assert.match(res.headers['content-type'], /^text\/plain/);
      return res.text.trim();
    },
  },
];

const request = (path: string, authorization?: string): IRequestContext => ({
  method: 'GET',
  path,
  headers: authorization ? { authorization } : {},
  query: {},
});

describe('an unexpected fault answers 500 in the protocol’s own error shape', () => {
  const log = new SmartlogDestinationBuffer();
  let setup: ITestRegistry;

  before(async () => {
    const protocols = Object.fromEntries(CASES.map(({ protocol }) => [protocol, { enabled: true, basePath: `/${protocol}` }]));
    setup = await startTestRegistry({
      label: 'unexpectedfault',
      users: {},
      config: { authProvider: brokenProvider, logging: { level: 'warn', console: false, destinations: [log] }, ...protocols },
    });
  });
  after(() => setup?.close());

  for (const { protocol, path, authorization, message } of CASES) {
    it(`${protocol}: status 500, its shape, the logged error id, no internal detail`, async () => {
      log.clear();
      const res = await readResponse(await setup.registry.handleRequest(request(path, authorization)));
      assert.equal(res.status, 500, res.text);
      const text = message(res);
      assert.match(text, /^internal server error \(error id [0-9a-f-]{36}\)$/, res.text);
      const errorId = ERROR_ID.exec(text)![1];

      const logged = log.getEntries({ level: 'error' }).map((entry) => entry.message);
      assert.equal(logged.length, 1, logged.join('\n---\n'));
      assert.ok(logged[0]!.includes(errorId), `the log names the answered id ${errorId}: ${logged[0]}`);
      assert.ok(logged[0]!.includes(INTERNAL), `the log has the fault: ${logged[0]}`);
      assert.match(logged[0]!, /TypeError/);
      assert.match(logged[0]!, /unexpectedfault\.test\.ts/, 'the log has the stack');

      for (const internal of [INTERNAL, 'TypeError', 'unexpectedfault.test', "reading 'get'"]) {
        assert.ok(!res.text.includes(internal), `the answer must not show ${internal}: ${res.text}`);
        assert.ok(!Object.values(res.headers).some((value) => value.includes(internal)), `no header shows ${internal}`);
      }
    });
  }

  it('a request no protocol matches keeps the generic JSON with its errorId', async () => {
    log.clear();
    const res = await readResponse(await setup.registry.handleRequest(null as unknown as IRequestContext));
    assert.equal(res.status, 500);
    assert.equal(res.json.error, 'internal server error');
    const logged = log.getEntries({ level: 'error' }).map((entry) => entry.message);
    assert.equal(logged.length, 1, logged.join('\n---\n'));
    assert.ok(logged[0]!.includes(res.json.errorId), logged[0]);
  });
});
