import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { looksLikeJwt, signJwt, verifyJwt } from '../../../ts/core/helpers.jwt.js';

const secret = 'a-test-secret-of-enough-length';
const now = 1_700_000_000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test('jwt: a signed token verifies and keeps its claims', () => {
  const token = signJwt({ sub: 'alice', iat: now, nbf: now, exp: now + 60, jti: 'abc', scopes: ['x'] }, secret);
  assert.equal(looksLikeJwt(token), true);
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
  const result = verifyJwt(token, secret, { now });
  assert.equal(result.ok, true);
  assert.deepEqual(result.ok && result.payload, { sub: 'alice', iat: now, nbf: now, exp: now + 60, jti: 'abc', scopes: ['x'] });
});

test('jwt: the signature is standard HS256', () => {
  const token = signJwt({ sub: 'a', exp: now + 1 }, secret);
  const [h, p, s] = token.split('.');
  assert.equal(s, crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'));
});

test('jwt: tampering with any part is detected', () => {
  const token = signJwt({ sub: 'alice', exp: now + 60 }, secret);
  const [h, p, s] = token.split('.');
  const forgedPayload = b64({ sub: 'admin', exp: now + 60 });
  assert.equal(verifyJwt(`${h}.${forgedPayload}.${s}`, secret, { now }).ok, false);
  assert.equal(verifyJwt(token, 'another-secret-entirely', { now }).ok, false);
  // Every other spelling of the last signature character (base64 spare bits) is refused too.
  const last = s[s.length - 1];
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
    if (c === last) continue;
    assert.equal(verifyJwt(`${h}.${p}.${s.slice(0, -1)}${c}`, secret, { now }).ok, false, c);
  }
  assert.equal(verifyJwt(`${h}.${p}.`, secret, { now }).ok, false);
  assert.equal(verifyJwt(`${h}.${p}.${s}x`, secret, { now }).ok, false);
});

test('jwt: alg none and other algorithms are rejected', () => {
  const payload = b64({ sub: 'admin', exp: now + 60 });
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
  assert.equal(verifyJwt(none, secret, { now }).ok, false);
  const noneSigned = `${b64({ alg: 'none' })}.${payload}.${'A'.repeat(43)}`;
  assert.equal(verifyJwt(noneSigned, secret, { now }).ok, false);
  // An HS512 token, correctly signed with the same secret, is still not accepted.
  const h512 = b64({ alg: 'HS512', typ: 'JWT' });
  const sig512 = crypto.createHmac('sha512', secret).update(`${h512}.${payload}`).digest('base64url');
  const result = verifyJwt(`${h512}.${payload}.${sig512}`, secret, { now });
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.reason : '', /algorithm/);
  // Even an HS256 signature under a forged non-HS256 header fails.
  const hRs = b64({ alg: 'RS256' });
  const sigRs = crypto.createHmac('sha256', secret).update(`${hRs}.${payload}`).digest('base64url');
  assert.equal(verifyJwt(`${hRs}.${payload}.${sigRs}`, secret, { now }).ok, false);
});

test('jwt: expiry and not-before, with clock skew', () => {
  const expired = signJwt({ sub: 'a', exp: now - 100 }, secret);
  assert.match(JSON.stringify(verifyJwt(expired, secret, { now })), /expired/);
  const justExpired = signJwt({ sub: 'a', exp: now - 10 }, secret);
  assert.equal(verifyJwt(justExpired, secret, { now }).ok, true, 'within the 30 s skew');
  assert.equal(verifyJwt(justExpired, secret, { now, clockSkewSeconds: 0 }).ok, false);
  const future = signJwt({ sub: 'a', nbf: now + 600, exp: now + 1200 }, secret);
  assert.match(JSON.stringify(verifyJwt(future, secret, { now })), /not valid yet/);
  assert.equal(verifyJwt(future, secret, { now: now + 600 }).ok, true);
  const noExp = signJwt({ sub: 'a' }, secret);
  assert.equal(verifyJwt(noExp, secret, { now }).ok, false);
  assert.equal(verifyJwt(noExp, secret, { now, requireExp: false }).ok, true);
  const badExp = signJwt({ sub: 'a', exp: 'tomorrow' as unknown as number }, secret);
  assert.equal(verifyJwt(badExp, secret, { now }).ok, false);
});

test('jwt: shape check', () => {
  for (const bad of ['', 'a.b', 'a.b.c.d', 'a b.c.d', '.b.c', crypto.randomUUID()]) assert.equal(looksLikeJwt(bad), false, bad);
  assert.equal(verifyJwt('garbage', secret).ok, false);
  assert.equal(verifyJwt(`${b64('x')}.${b64('y')}.z`, secret).ok, false);
});

test('jwt: issuer and audience are checked when asked for', () => {
  const token = signJwt({ iss: 'https://a.example.com', aud: 'a.example.com', exp: now + 60 }, secret);
  const listed = signJwt({ iss: 'https://a.example.com', aud: ['x.example.com', 'a.example.com'], exp: now + 60 }, secret);
  const bare = signJwt({ exp: now + 60 }, secret);
  const checks = { now, issuer: 'https://a.example.com', audience: 'a.example.com' };
  assert.equal(verifyJwt(token, secret, checks).ok, true);
  assert.equal(verifyJwt(listed, secret, checks).ok, true);
  assert.deepEqual(verifyJwt(token, secret, { ...checks, audience: 'b.example.com' }), { ok: false, reason: 'JWT is meant for another service' });
  assert.deepEqual(verifyJwt(token, secret, { ...checks, issuer: 'https://b.example.com' }), { ok: false, reason: 'JWT was issued by someone else' });
  assert.equal(verifyJwt(bare, secret, checks).ok, false);
  assert.equal(verifyJwt(bare, secret, { now }).ok, true, 'without checks, absent claims are fine');
});
