import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { streamToBuffer, toReadableStream } from '../../ts/core/helpers.stream.js';
import type { IRegistryConfig, IRequestContext, IResponse, IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { createEchoRegistry, patternStream, patternWebStream, type IEchoSetup } from '../helpers/echoregistry.js';

const request = (method: string, path: string, extra: Partial<IRequestContext> = {}): IRequestContext => ({
  method,
  path,
  headers: {},
  query: {},
  ...extra,
});

/** Every response body must be a Web ReadableStream; read it as text (or JSON). */
async function read(response: IResponse): Promise<{ status: number; headers: Record<string, string>; text: string; json: any }> {
  if (response.body !== undefined) assert.ok(response.body instanceof ReadableStream, 'body must be a ReadableStream');
  const text = (await streamToBuffer(response.body)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const header = (headers: Record<string, string>, name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];

const baseConfig = (): IRegistryConfig => ({
  storage: { type: 'filesystem', path: '/tmp/unused' },
  auth: { tokenStore: 'memory' },
});

describe('orchestrator: configuration validation', () => {
  it('names an unknown protocol key', () => {
    assert.throws(
      () => new SmartRegistry({ ...baseConfig(), npmm: { enabled: true, basePath: '/x' } } as unknown as IRegistryConfig),
      /unknown configuration key or protocol 'npmm'/,
    );
  });
  it('refuses a validation window that is not a whole number of milliseconds', () => {
    for (const validationWindowMs of [-1, 0.5, Number.NaN]) {
      assert.throws(() => new SmartRegistry({ ...baseConfig(), cache: { validationWindowMs } }), /cache\.validationWindowMs must be a whole number/);
    }
    assert.doesNotThrow(() => new SmartRegistry({ ...baseConfig(), cache: { validationWindowMs: 0 } }));
  });
  it('refuses two protocols on one basePath', () => {
    assert.throws(
      () => new SmartRegistry({ ...baseConfig(), npm: { enabled: true, basePath: '/pkg' }, pypi: { enabled: true, basePath: '/pkg/' } }),
      /npm and pypi share the basePath '\/pkg'|pypi and npm share the basePath '\/pkg'/,
    );
  });
  it('refuses nested basePaths', () => {
    assert.throws(
      () => new SmartRegistry({ ...baseConfig(), npm: { enabled: true, basePath: '/npm' }, maven: { enabled: true, basePath: '/npm/x' } }),
      /basePaths of .* overlap/,
    );
  });
  it('says storage is missing', () => {
    assert.throws(() => new SmartRegistry({ auth: { tokenStore: 'memory' } } as unknown as IRegistryConfig), /`storage` is missing/);
  });
  it('accepts a root catch-all next to other protocols', () => {
    assert.doesNotThrow(() => new SmartRegistry({ ...baseConfig(), npm: { enabled: true, basePath: '/npm' }, maven: { enabled: true, basePath: '/' } }));
  });
});

describe('orchestrator: routing', () => {
  let setup: IEchoSetup;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm', maven: '/', oci: '/oci', pypi: '/v2/python' }, {}, { oci: ['/v2'] });
  });
  after(() => setup.cleanup());

  it('routes by basePath and hands the handler the relative path', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/npm/info/a/b', { headers: { host: 'registry.example.com' } })));
    assert.equal(res.status, 200);
    assert.equal(res.json.protocol, 'npm');
    assert.equal(res.json.path, '/info/a/b');
    assert.equal(res.json.baseUrl, 'http://registry.example.com/npm');
  });

  it('matches whole segments only: /npmx goes to the root catch-all', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/npmx/info/a')));
    assert.equal(res.status, 404);
    assert.match(res.json.error, /no maven endpoint/);
  });

  it('root-mounted protocol catches everything else', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/info/x')));
    assert.equal(res.json.protocol, 'maven');
    assert.equal(res.json.path, '/info/x');
  });

  it('host-root paths of a protocol (/v2) reach it; the longest prefix wins', async () => {
    const oci = await read(await setup.registry.handleRequest(request('GET', '/v2/library/nginx')));
    assert.equal(oci.json.protocol, 'oci');
    assert.equal(oci.json.path, '/v2/library/nginx');
    const viaBase = await read(await setup.registry.handleRequest(request('GET', '/oci/v2/library/nginx')));
    assert.equal(viaBase.json.protocol, 'oci');
    assert.equal(viaBase.json.path, '/v2/library/nginx');
    const pypi = await read(await setup.registry.handleRequest(request('GET', '/v2/python/info/requests')));
    assert.equal(pypi.json.protocol, 'pypi');
    assert.equal(pypi.json.path, '/info/requests');
  });

  it('a query string in the path is not part of the route', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/npm/info/q?x=1', { query: { x: '1' } })));
    assert.equal(res.json.path, '/info/q');
    assert.deepEqual(res.json.query, { x: '1' });
  });
});

describe('orchestrator: answers', () => {
  let setup: IEchoSetup;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm' });
  });
  after(() => setup.cleanup());

  it('404 JSON for a path no protocol is mounted at', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/nothing/here')));
    assert.equal(res.status, 404);
    assert.equal(header(res.headers, 'content-type'), 'application/json');
    assert.match(res.json.error, /no registry is mounted at \/nothing\/here/);
  });

  it('a handler throwing a plain Error → 500 in the protocol\'s error shape with the error id; handleRequest resolves', async () => {
    const res = await read(await setup.registry.handleRequest(request('GET', '/npm/throw')));
    assert.equal(res.status, 500);
    assert.match(res.json.error, /^internal server error \(error id [0-9a-f-]{36}\)$/);
    assert.ok(!res.text.includes('plain failure'), 'internal messages are not leaked');
  });

  it('never throws, even for a nonsense context', async () => {
    const res = await read(await setup.registry.handleRequest(null as unknown as IRequestContext));
    assert.equal(res.status, 500);
    assert.ok(res.json.errorId);
  });

  it('405 with Allow for a known path and wrong method', async () => {
    const res = await read(await setup.registry.handleRequest(request('POST', '/npm/only-get')));
    assert.equal(res.status, 405);
    assert.equal(header(res.headers, 'allow'), 'GET, HEAD');
  });

  it('HEAD answers the GET route without a body', async () => {
    const res = await setup.registry.handleRequest(request('HEAD', '/npm/info/a'));
    assert.equal(res.status, 200);
    assert.equal(res.body, undefined);
    assert.ok(Number(header(res.headers, 'content-length')) > 0);
  });

  it('every body is a ReadableStream (200, 404, 405, 500)', async () => {
    for (const [method, path] of [['GET', '/npm/info/a'], ['GET', '/x'], ['POST', '/npm/only-get'], ['GET', '/npm/throw']]) {
      const res = await setup.registry.handleRequest(request(method, path));
      assert.ok(res.body instanceof ReadableStream, `${method} ${path}`);
      await res.body.cancel();
    }
  });

  it('an uninitialized registry answers 503', async () => {
    const registry = new SmartRegistry({ ...baseConfig(), logging: { level: 'silent' } });
    const res = await read(await registry.handleRequest(request('GET', '/npm/x')));
    assert.equal(res.status, 503);
  });
});

describe('orchestrator: request bodies', () => {
  let setup: IEchoSetup;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm' }, { limits: { maxMetadataBytes: 1024 * 1024, maxArtifactBytes: 1024 * 1024 } });
  });
  after(() => setup.cleanup());

  const json = '{"name":"pkg","list":[1,2,3]}';
  const kinds = (): [string, IRequestContext['body']][] => [
    ['parsed object', JSON.parse(json)],
    ['string', json],
    ['Buffer', Buffer.from(json)],
    ['Uint8Array', new Uint8Array(Buffer.from(json))],
    ['Web ReadableStream', toReadableStream(Buffer.from(json))],
    ['Node Readable', Readable.from([Buffer.from(json.slice(0, 5)), Buffer.from(json.slice(5))])],
  ];

  it('every kind of body reaches the handler as the same bytes and JSON', async () => {
    const digests = new Set<string>();
    for (const [kind, body] of kinds()) {
      const res = await read(await setup.registry.handleRequest(request('POST', '/npm/digest', { body })));
      assert.equal(res.status, 200, kind);
      assert.equal(res.json.length, json.length, kind);
      digests.add(res.json.sha256);
    }
    assert.equal(digests.size, 1);
    for (const [kind, body] of kinds()) {
      const res = await read(await setup.registry.handleRequest(request('POST', '/npm/json', { body })));
      assert.deepEqual(res.json.value, JSON.parse(json), kind);
    }
  });

  it('a 100 MB metadata stream over a 1 MB limit → 413 without reading it whole', async () => {
    const source = patternStream(100 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const res = await read(await setup.registry.handleRequest(request('POST', '/npm/digest', { body: source })));
    assert.equal(res.status, 413);
    assert.match(res.json.error, /limit of 1048576 bytes/);
    assert.ok(source.pulled < 8 * 1024 * 1024, `read ${source.pulled} bytes`);
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory stays low');
  });

  it('a 100 MB artifact Web stream over the limit → 413, nothing stored', async () => {
    const source = patternWebStream(100 * 1024 * 1024);
    const res = await read(await setup.registry.handleRequest(request('PUT', '/npm/files/big.bin', { body: source })));
    assert.equal(res.status, 413);
    assert.ok(source.pulled < 8 * 1024 * 1024, `read ${source.pulled} bytes`);
    assert.ok(source.cancelled, 'the rest of the body is cancelled, not read');
    assert.deepEqual(await setup.listStorage(), []);
  });

  it('a declared Content-Length over the limit → 413 without waiting for the body', async () => {
    // A body that never ends: answering at all proves nothing waited for it.
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(1024));
    const res = await read(
      await setup.registry.handleRequest(request('PUT', '/npm/files/x.bin', { headers: { 'content-length': String(2 * 1024 * 1024) }, body: source })),
    );
    assert.equal(res.status, 413);
    assert.match(res.json.error, /2097152 bytes exceeds the limit of 1048576/);
    source.destroy();
  });

  it('malformed JSON → 400 saying so', async () => {
    const res = await read(await setup.registry.handleRequest(request('POST', '/npm/json', { body: '{"a":' })));
    assert.equal(res.status, 400);
    assert.match(res.json.error, /malformed JSON/);
  });
});

describe('orchestrator: path traversal', () => {
  let setup: IEchoSetup;
  before(async () => {
    setup = await createEchoRegistry({ npm: '/npm' });
    await read(await setup.registry.handleRequest(request('PUT', '/npm/files/safe/a.txt', { body: 'hello' })));
  });
  after(() => setup.cleanup());

  const attacks = [
    '/npm/files/../../escape.txt',
    '/npm/files/safe/../../../escape.txt',
    '/npm/files/%2e%2e/%2e%2e/escape.txt',
    '/npm/files/%2E%2e/escape.txt',
    '/npm/files/.%2e/escape.txt',
    '/npm/files/%2e./escape.txt',
    '/npm/files/safe%2f..%2f..%2fescape.txt',
    '/npm/files/a%2fb.txt',
    '/npm/files/..\\..\\escape.txt',
    '/npm/files/safe%5c..%5cescape.txt',
    '/npm/files/a%00.txt',
    '/npm/files/a\u0000.txt',
    '/npm/files/./a.txt',
    '/npm/files/%252e%252e/escape.txt',
  ];

  it('every spelling of an escape → 400 and storage unchanged', async () => {
    const before = await setup.listStorage();
    assert.deepEqual(before, ['echo/safe/a.txt 5']);
    for (const path of attacks.slice(0, -1)) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const res = await read(await setup.registry.handleRequest(request(method, path, { body: 'evil' })));
        assert.equal(res.status, 400, `${method} ${path}`);
      }
    }
    assert.deepEqual(await setup.listStorage(), before);
  });

  it('a double-encoded dot stays a literal name, never a parent directory', async () => {
    const res = await read(await setup.registry.handleRequest(request('PUT', attacks[attacks.length - 1], { body: 'x' })));
    assert.ok(res.status === 201 || res.status === 400, `status ${res.status}`);
    for (const line of await setup.listStorage()) assert.ok(line.startsWith('echo/'), line);
  });
});

describe('orchestrator: storage hooks', () => {
  it('beforePut veto → 403 with the reason, nothing stored', async () => {
    const setup = await createEchoRegistry({ npm: '/npm' }, { storageHooks: { beforePut: () => ({ allowed: false, reason: 'uploads are frozen' }) } });
    try {
      const res = await read(await setup.registry.handleRequest(request('PUT', '/npm/files/a.txt', { body: 'x' })));
      assert.equal(res.status, 403);
      assert.match(res.json.error, /uploads are frozen/);
      assert.deepEqual(await setup.listStorage(), []);
    } finally {
      await setup.cleanup();
    }
  });

  it('a quota veto → 413', async () => {
    const setup = await createEchoRegistry({ npm: '/npm' }, {
      storageHooks: { beforePut: (ctx) => ({ allowed: false, reason: ctx.key.includes('b') ? 'org storage full' : 'quota exceeded', code: ctx.key.includes('b') ? 'quota' : undefined }) },
    });
    try {
      for (const key of ['a.txt', 'b.txt']) {
        const res = await read(await setup.registry.handleRequest(request('PUT', `/npm/files/${key}`, { body: 'x' })));
        assert.equal(res.status, 413, key);
      }
      assert.deepEqual(await setup.listStorage(), []);
    } finally {
      await setup.cleanup();
    }
  });

  it('a hook that throws → 500 with an error id, never its internal text; nothing stored', async () => {
    const setup = await createEchoRegistry({ npm: '/npm' }, {
      storageHooks: {
        beforePut: () => {
          throw new Error('virus scanner unreachable');
        },
      },
    });
    try {
      const res = await read(await setup.registry.handleRequest(request('PUT', '/npm/files/a.txt', { body: 'x' })));
      assert.equal(res.status, 500);
      assert.match(res.json.error, /^internal server error \(error id [0-9a-f-]{36}\)$/);
      assert.ok(!res.text.includes('virus scanner'), res.text);
      assert.deepEqual(await setup.listStorage(), []);
    } finally {
      await setup.cleanup();
    }
  });

  it('afterPut, afterGet, beforeDelete, afterDelete see protocol, operation, key, metadata, actor, timestamp', async () => {
    const calls: [string, IStorageHookContext][] = [];
    const record = (name: string) => (ctx: IStorageHookContext) => void calls.push([name, ctx]);
    const setup = await createEchoRegistry({ npm: '/npm' }, {
      storageHooks: { afterPut: record('afterPut'), afterGet: record('afterGet'), beforeDelete: record('beforeDelete'), afterDelete: record('afterDelete') },
    });
    const actor = { userId: 'alice', ip: '127.0.0.1' };
    try {
      assert.equal((await read(await setup.registry.handleRequest(request('PUT', '/npm/files/h.txt', { body: 'hello', actor })))).status, 201);
      const got = await read(await setup.registry.handleRequest(request('GET', '/npm/files/h.txt', { actor })));
      assert.equal(got.text, 'hello');
      assert.equal((await setup.registry.handleRequest(request('DELETE', '/npm/files/h.txt', { actor }))).status, 204);

      assert.deepEqual(calls.map(([name]) => name), ['afterPut', 'afterGet', 'beforeDelete', 'afterDelete']);
      const operations = { afterPut: 'put', afterGet: 'get', beforeDelete: 'delete', afterDelete: 'delete' } as const;
      for (const [name, ctx] of calls) {
        assert.equal(ctx.protocol, 'npm');
        assert.equal(ctx.operation, operations[name as keyof typeof operations]);
        assert.equal(ctx.key, 'echo/h.txt');
        assert.deepEqual(ctx.actor, actor);
        assert.ok(ctx.timestamp instanceof Date);
      }
      const afterPut = calls[0][1];
      assert.equal(afterPut.metadata?.size, 5);
      assert.equal(afterPut.metadata?.digest, 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
      assert.equal(calls[1][1].metadata?.size, 5);
    } finally {
      await setup.cleanup();
    }
  });
});
