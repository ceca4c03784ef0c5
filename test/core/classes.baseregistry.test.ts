import { test } from 'node:test';
import assert from 'node:assert/strict';
import { streamToJson } from '../../ts/core/helpers.stream.js';
import { createEchoRegistry } from '../helpers/echoregistry.js';

test('route permission "optional": anonymous passes, a valid token reaches the handler, a bad token is a 401', async () => {
  const setup = await createEchoRegistry({ npm: '/npm' }, { auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } } });
  try {
    const get = async (authorization?: string) => {
      const res = await setup.registry.handleRequest({
        method: 'GET',
        path: '/npm/maybe-whoami',
        headers: authorization ? { authorization } : {},
        query: {},
      });
      return { status: res.status, body: res.body ? await streamToJson<Record<string, unknown>>(res.body) : undefined };
    };
    assert.deepEqual(await get(), { status: 200, body: { userId: null, actor: null } });
    const token = await setup.registry.getAuthManager().createNpmToken('alice');
    assert.deepEqual(await get(`Bearer ${token}`), { status: 200, body: { userId: 'alice', actor: 'alice' } });
    const wrong = await get('Bearer not-a-token');
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.body?.error), /invalid, expired or revoked token/);
    // 'authenticated' next to it still refuses anonymous callers.
    const res = await setup.registry.handleRequest({ method: 'GET', path: '/npm/whoami', headers: {}, query: {} });
    assert.equal(res.status, 401);
  } finally {
    await setup.cleanup();
  }
});
