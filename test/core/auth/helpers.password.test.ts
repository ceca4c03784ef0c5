import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError } from '../../../ts/core/classes.registryerror.js';
import { MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES, hashPassword, isPasswordHash, unmatchableHash, verifyPassword } from '../../../ts/core/helpers.password.js';

test('password: hash has the scrypt$N$r$p$salt$hash form and verifies', async () => {
  const hash = await hashPassword('correct horse');
  assert.match(hash, /^scrypt\$8192\$8\$10\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.equal(isPasswordHash(hash), true);
  assert.equal(await verifyPassword('correct horse', hash), true);
  assert.equal(await verifyPassword('correct horsE', hash), false);
  assert.equal(await verifyPassword('', hash), false);
});

test('password: a hash made with the earlier defaults (N=2^15, r=8, p=1) keeps its parameters and still verifies', async () => {
  const earlier = await hashPassword('kept', { N: 32768, r: 8, p: 1 });
  assert.match(earlier, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('kept', earlier), true);
  assert.equal(await verifyPassword('lost', earlier), false);
});

test('password: random salt, so equal passwords hash differently', async () => {
  const params = { N: 1024, r: 8, p: 1 };
  const [a, b] = await Promise.all([hashPassword('same', params), hashPassword('same', params)]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same', a), true);
  assert.equal(await verifyPassword('same', b), true);
});

test('password: the unknown-user hash is well formed, of the default cost, new each time, and matches nothing', async () => {
  const hash = unmatchableHash();
  assert.match(hash, /^scrypt\$8192\$8\$10\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.equal(isPasswordHash(hash), true);
  assert.notEqual(unmatchableHash(), hash);
  const cheap = unmatchableHash({ N: 1024, r: 8, p: 1 });
  for (const password of ['', 'password', 'correct horse']) assert.equal(await verifyPassword(password, cheap), false);
});

test('password: unicode is normalised before hashing', async () => {
  const hash = await hashPassword('caf\u00e9', { N: 1024, r: 8, p: 1 });
  assert.equal(await verifyPassword('cafe\u0301', hash), true);
});

test('password: malformed or hostile hashes never match and are not hashes', async () => {
  const good = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  const [, , , , salt, key] = good.split('$');
  const bad = [
    '',
    'plain',
    `bcrypt$1024$8$1$${salt}$${key}`,
    `scrypt$1000$8$1$${salt}$${key}`, // N not a power of two
    `scrypt$${2 ** 24}$8$1$${salt}$${key}`, // absurd memory
    `scrypt$1024$8$1$${salt}`,
    `scrypt$1024$8$1$${salt}$not+base64url`,
    `scrypt$1024$8$1$$${key}`,
  ];
  for (const hash of bad) {
    assert.equal(isPasswordHash(hash), false, hash);
    assert.equal(await verifyPassword('pw', hash), false, hash);
  }
});

test('password: at most a few hashes run at once, a bounded number wait, the rest are refused with 429', async () => {
  const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  const attempts = Array.from({ length: MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES + 3 }, () =>
    verifyPassword('pw', hash).then(
      (ok) => ({ ok }),
      (error: RegistryError) => ({ status: error.status, retryAfter: error.headers['Retry-After'], message: error.message }),
    ),
  );
  const results = await Promise.all(attempts);
  assert.equal(results.filter((result) => 'ok' in result && result.ok).length, MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES);
  const refused = results.filter((result) => 'status' in result);
  assert.equal(refused.length, 3);
  assert.deepEqual(refused[0], { status: 429, retryAfter: '1', message: 'the server is busy checking passwords; try again in a moment' });
  // Once the queue drained, hashing works again.
  assert.equal(await verifyPassword('pw', hash), true);
});
