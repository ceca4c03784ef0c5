// Repeated query keys reach the handlers as arrays (IRequestContext.query), through both adapters.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { queryToRecord, splitRequestTarget } from '../../ts/adapters/helpers.adapter.js';
import { basic, createOciFixture, type IOciFixture } from '../oci/oci.fixtures.js';
import { startHttp, type ITestServer } from './helpers.http.js';

const decodeJwt = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { scopes: string[] };

/** Two `scope` parameters, as docker and skopeo send them when mounting a blob across repositories. */
const TOKEN_TARGET = `/v2/token?service=test&scope=${encodeURIComponent('repository:mount/source:pull')}&scope=${encodeURIComponent('repository:mount/target:pull,push')}`;
const EXPECTED_SCOPES = ['oci:repository:mount/source:pull', 'oci:repository:mount/target:pull', 'oci:repository:mount/target:push'];

describe('adapters: query strings', () => {
  it('queryToRecord keeps one value as a string and repeated values as an array, in order', () => {
    const { search } = splitRequestTarget('/x?scope=a&service=s&scope=b&scope=c&empty=&flag');
    assert.deepEqual(queryToRecord(search), { scope: ['a', 'b', 'c'], service: 's', empty: '', flag: '' });
    assert.deepEqual(queryToRecord(new URLSearchParams('')), {});
    assert.deepEqual(queryToRecord(new URLSearchParams('q=%20a%2Bb&q=c')), { q: [' a+b', 'c'] });
  });

  it('splitRequestTarget keeps the raw path and reads the query as URL does, in origin and absolute form', () => {
    const split = (target: string) => {
      const { path, search } = splitRequestTarget(target);
      return { path, query: [...search] };
    };
    assert.deepEqual(split('/a/../b%2fc'), { path: '/a/../b%2fc', query: [] });
    assert.deepEqual(split('/x?'), { path: '/x', query: [] });
    assert.deepEqual(split('/x?a=1&b=%20+c&a=2#frag'), { path: '/x', query: [['a', '1'], ['b', '  c'], ['a', '2']] });
    assert.deepEqual(split('/x?q=ü é'), { path: '/x', query: [['q', 'ü é']] });
    assert.deepEqual(split('http://registry.example.com/v2/?n=1'), { path: '/v2/', query: [['n', '1']] });
    for (const target of ['/x?a=1&b=%20+c#frag', '/x?q=ü é&r=%zz', '/p?=&&k']) {
      assert.deepEqual(split(target).query, [...new URL(target, 'http://registry.invalid').searchParams], target);
    }
  });

  it('queryToRecord treats names of Object.prototype members as ordinary keys', () => {
    const query = queryToRecord(new URLSearchParams('__proto__=x&toString=y&constructor=1&constructor=2'));
    assert.deepEqual(Object.keys(query).sort(), ['__proto__', 'constructor', 'toString']);
    assert.equal(Object.getPrototypeOf(query), Object.prototype, 'the prototype is untouched');
    assert.equal(query.toString, 'y');
    assert.deepEqual(query.constructor, ['1', '2']);
  });

  describe('the OCI token endpoint with two scope parameters', () => {
    let fixture: IOciFixture;
    let server: ITestServer;
    before(async () => {
      fixture = await createOciFixture();
      server = await startHttp(createNodeHandler(fixture.registry));
    });
    after(async () => {
      await server.close();
      await fixture.cleanup();
    });

    it('through node:http every scope is granted', async () => {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: server.port, path: TOKEN_TARGET, agent: false, headers: { authorization: basic('admin') } }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(decodeJwt(JSON.parse(reply.body).token).scopes.sort(), EXPECTED_SCOPES);
    });

    it('through registry.fetch every scope is granted', async () => {
      const response = await fixture.registry.fetch(new Request(`http://127.0.0.1${TOKEN_TARGET}`, { headers: { authorization: basic('admin') } }));
      assert.equal(response.status, 200);
      const { token } = (await response.json()) as { token: string };
      assert.deepEqual(decodeJwt(token).scopes.sort(), EXPECTED_SCOPES);
    });
  });
});
