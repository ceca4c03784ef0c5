/**
 * Failed password logins back off per user name and per client address, refused before any
 * password is hashed. The clock is injected: no test waits on the wall clock.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthManager } from '../../../ts/core/classes.authmanager.js';
import { DefaultAuthProvider } from '../../../ts/core/classes.defaultauthprovider.js';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { hashPassword } from '../../../ts/core/helpers.password.js';
import type { ICredentials } from '../../../ts/core/interfaces.auth.js';
import type { IAuthConfig } from '../../../ts/core/interfaces.core.js';
import { createTempStorage, type ITempStorage } from './fixtures.js';

/** The real provider, counting the password checks it is asked for (each one a scrypt). */
class CountingProvider extends DefaultAuthProvider {
  checks = 0;
  override authenticate(credentials: ICredentials) {
    this.checks++;
    return super.authenticate(credentials);
  }
}

const refusal = (seconds: number) => (error: unknown) =>
  error instanceof RegistryError && error.status === 429 && error.headers['Retry-After'] === String(seconds) && /too many failed logins/.test(error.message);

describe('login back-off', () => {
  let temp: ITempStorage;
  let clock: number;
  let provider: CountingProvider;
  let auth: AuthManager;

  before(async () => {
    temp = await createTempStorage();
    const passwordHash = await hashPassword('alice-password', { N: 1024, r: 8, p: 1 });
    const config: IAuthConfig = { tokenStore: 'memory', users: { alice: { passwordHash, scopes: ['*'] }, bob: { passwordHash, scopes: ['*'] } } };
    clock = 1_700_000_000_000;
    provider = new CountingProvider(config, temp.storage);
    auth = new AuthManager(config, temp.storage, provider, { now: () => clock });
    await auth.init();
  });
  after(() => temp.cleanup());

  it('five failures are free; then each waits twice as long, refused without hashing', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await auth.authenticate({ username: 'alice', password: `guess-${i}` }), null);
    assert.equal(await auth.authenticate({ username: 'alice', password: 'guess-5' }), null, 'the sixth is still checked');
    const checks = provider.checks;
    await assert.rejects(auth.authenticate({ username: 'alice', password: 'alice-password' }), refusal(1));
    await assert.rejects(auth.authenticate({ username: 'alice', password: 'guess-6' }), refusal(1));
    assert.equal(provider.checks, checks, 'refused attempts hash nothing');

    clock += 1000;
    assert.equal(await auth.authenticate({ username: 'alice', password: 'guess-7' }), null);
    await assert.rejects(auth.authenticate({ username: 'alice', password: 'guess-8' }), refusal(2));
    clock += 2000;
    // Other users are not affected.
    assert.equal(await auth.authenticate({ username: 'bob', password: 'alice-password' }), 'bob');
    // The right password after the wait clears the record.
    assert.equal(await auth.authenticate({ username: 'alice', password: 'alice-password' }), 'alice');
    assert.equal(await auth.authenticate({ username: 'alice', password: 'guess-9' }), null);
    assert.equal(await auth.authenticate({ username: 'alice', password: 'alice-password' }), 'alice');
  });

  it('waits are capped (auth.loginThrottle), and a quiet name is forgotten', async () => {
    const config: IAuthConfig = { tokenStore: 'memory', loginThrottle: { freeFailures: 1, maxDelaySeconds: 4 } };
    const capped = new AuthManager(config, temp.storage, provider, { now: () => clock });
    const fail = () => capped.authenticate({ username: 'bob', password: 'wrong' });
    assert.equal(await fail(), null);
    for (const wait of [1, 2, 4, 4, 4]) {
      assert.equal(await fail(), null);
      await assert.rejects(fail(), refusal(wait));
      clock += wait * 1000;
    }
    clock += 2 * 4000 + 1;
    assert.equal(await fail(), null, 'forgotten after twice the longest wait: free again');
    assert.equal(await fail(), null);
  });

  it('one client address guessing many names is held back too; other addresses are not', async () => {
    for (let i = 0; i < 6; i++) assert.equal(await auth.authenticate({ username: `name-${i}`, password: 'x', ip: '192.0.2.7' }), null);
    await assert.rejects(auth.authenticate({ username: 'name-new', password: 'x', ip: '192.0.2.7' }), refusal(1));
    assert.equal(await auth.authenticate({ username: 'name-new', password: 'x', ip: '198.51.100.1' }), null);
  });

  it('bad settings are configuration errors', () => {
    assert.throws(() => new AuthManager({ loginThrottle: { freeFailures: 0 } }, temp.storage), /auth\.loginThrottle\.freeFailures must be a positive whole number/);
  });
});
