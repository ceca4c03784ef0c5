import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultAuthProvider } from '../../../ts/core/classes.defaultauthprovider.js';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { hashPassword } from '../../../ts/core/helpers.password.js';
import type { IAuthConfig } from '../../../ts/core/interfaces.core.js';
import { createTempStorage } from './fixtures.js';

const cheapHash = (password: string) => hashPassword(password, { N: 1024, r: 8, p: 1 });

test('tokens follow their user: removed users and narrowed scopes take effect after a restart', async () => {
  const temp = await createTempStorage();
  try {
    const passwordHash = await cheapHash('bob-password');
    const before: IAuthConfig = { tokenStore: 'storage', users: { bob: { passwordHash, scopes: ['*'] } } };
    const first = new DefaultAuthProvider(before, temp.storage);
    await first.init();
    const token = await first.createToken('bob', 'npm');
    assert.ok(await first.authorize(await first.validateToken(token, 'npm'), 'npm:package:x', 'write'));

    const narrowed = new DefaultAuthProvider({ tokenStore: 'storage', users: { bob: { passwordHash, scopes: ['npm:*:*:read'] } } }, temp.storage);
    await narrowed.init();
    const readOnly = await narrowed.validateToken(token, 'npm');
    assert.ok(await narrowed.authorize(readOnly, 'npm:package:x', 'read'));
    assert.equal(await narrowed.authorize(readOnly, 'npm:package:x', 'write'), false);

    const removed = new DefaultAuthProvider({ tokenStore: 'storage', users: {} }, temp.storage);
    await removed.init();
    assert.equal(await removed.validateToken(token, 'npm'), null);
  } finally {
    await temp.cleanup();
  }
});

test('a protocol whose tokens are disabled neither issues nor accepts them', async () => {
  const temp = await createTempStorage();
  try {
    const users = { bob: { passwordHash: await cheapHash('bob-password'), scopes: ['*'] } };
    const enabled = new DefaultAuthProvider({ tokenStore: 'storage', users }, temp.storage);
    await enabled.init();
    const token = await enabled.createToken('bob', 'pypi');

    const disabled = new DefaultAuthProvider({ tokenStore: 'storage', users, pypiTokens: { enabled: false } }, temp.storage);
    await disabled.init();
    assert.equal(await disabled.validateToken(token), null);
    await assert.rejects(disabled.createToken('bob', 'pypi'), (error: unknown) => error instanceof RegistryError && error.status === 403);
    assert.ok(await disabled.createToken('bob', 'npm'), 'other protocols are unaffected');
  } finally {
    await temp.cleanup();
  }
});
