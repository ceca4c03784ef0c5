/**
 * Presigned redirects for artifact downloads (issue 19), through `handleRequest` on Ceph RGW: every artifact
 * kind answers 307 to the bucket after authentication, authorization and the afterGet hook; the URL it names
 * serves exactly the stored bytes from Ceph and stops working when it expires; metadata documents, HEAD, 304
 * and 416 are answered by the registry; a protocol can turn redirects off.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { sendRequest } from '../helpers/requests.js';
import { publishBody } from '../npm/fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const basic = `Basic ${Buffer.from('alice:alice-password').toString('base64')}`;
const EXPIRES_IN = 300;
const NPM_EXPIRES_IN = 60;

/** GET a URL straight from the object store, as a client following the redirect does (no registry credentials). */
async function fetchDirect(location: string, headers: Record<string, string> = {}) {
  const response = await fetch(location, { headers });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('downloads: presigned redirects on Ceph RGW', { skip: skipWithoutCeph('the download redirect tests') }, () => {
  let ceph: ICephS3;
  let registry: SmartRegistry;
  let publicOrigin: string;
  let signingClock: () => Date;
  const gets: IStorageHookContext[] = [];
  const tokens: Record<string, string> = {};
  const artifacts: Record<string, { path: string; bytes: Buffer; auth: () => string }> = {};

  before(async () => {
    ceph = await startCephS3();
    // Another host name for the same Ceph: what clients are sent to is the public URL, not the endpoint.
    publicOrigin = `http://localhost:${ceph.descriptor.port}`;
    registry = new SmartRegistry({
      storage: { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName },
      auth: {
        tokenStore: 'memory',
        users: { alice: { password: 'alice-password', scopes: ['*'] } },
        npmTokens: { enabled: true },
        cargoTokens: { enabled: true },
        mavenTokens: { enabled: true },
      },
      logging: { level: 'silent' },
      storageHooks: { afterGet: (ctx) => void gets.push(ctx) },
      downloads: { redirect: true, expiresIn: EXPIRES_IN, publicUrl: publicOrigin, now: () => signingClock() },
      npm: { enabled: true, basePath: '/npm', downloads: { expiresIn: NPM_EXPIRES_IN } },
      oci: { enabled: true, basePath: '/oci' },
      maven: { enabled: true, basePath: '/maven' },
      cargo: { enabled: true, basePath: '/cargo' },
      pypi: { enabled: true, basePath: '/pypi' },
    });
    await registry.init();
    const auth = registry.getAuthManager();
    tokens.npm = await auth.createNpmToken('alice');
    tokens.cargo = await auth.createCargoToken('alice');
    tokens.maven = await auth.createMavenToken('alice');

    const npm = await publishBody('redirected', '1.0.0');
    assert.equal((await sendRequest(registry, 'PUT', '/npm/redirected', { body: npm.body, headers: { authorization: `Bearer ${tokens.npm}` } })).status, 201);
    artifacts.npm = { path: '/npm/redirected/-/redirected-1.0.0.tgz', bytes: npm.tarball, auth: () => `Bearer ${tokens.npm}` };

    const blob = crypto.randomBytes(300 * 1024);
    const pushed = await sendRequest(registry, 'POST', `/v2/app/blobs/uploads/?digest=sha256:${sha256(blob)}`, { body: blob, headers: { authorization: basic } });
    assert.equal(pushed.status, 201, pushed.text);
    artifacts.oci = { path: `/v2/app/blobs/sha256:${sha256(blob)}`, bytes: blob, auth: () => basic };

    const jar = crypto.randomBytes(40 * 1024);
    const jarPath = '/maven/com/example/lib/1.0/lib-1.0.jar';
    assert.equal((await sendRequest(registry, 'PUT', jarPath, { body: jar, headers: { authorization: `Bearer ${tokens.maven}` } })).status, 201);
    artifacts.maven = { path: jarPath, bytes: jar, auth: () => `Bearer ${tokens.maven}` };

    const crate = await makeCrate('redirected', '1.0.0');
    const published = await sendRequest(registry, 'PUT', '/cargo/api/v1/crates/new', {
      body: frame(JSON.stringify(publishMetadata('redirected', '1.0.0')), crate),
      headers: { authorization: tokens.cargo },
    });
    assert.equal(published.status, 200, published.text);
    artifacts.cargo = { path: '/cargo/api/v1/crates/redirected/1.0.0/download', bytes: crate, auth: () => tokens.cargo };

    const wheel = await makeWheel('redirected', '1.0.0');
    const form = multipartBody(await uploadFields('redirected', '1.0.0', wheel), wheel);
    const uploaded = await sendRequest(registry, 'POST', '/pypi/', {
      body: form,
      headers: { authorization: basic, 'content-type': MULTIPART_TYPE },
    });
    assert.equal(uploaded.status, 200, uploaded.text);
    artifacts.pypi = { path: `/pypi/packages/redirected/${wheel.filename}`, bytes: wheel.bytes, auth: () => basic };
  });
  after(async () => {
    await registry?.destroy();
    await ceph?.stop();
  });
  beforeEach(() => {
    signingClock = () => new Date();
    gets.length = 0;
  });

  for (const kind of ['oci', 'npm', 'maven', 'cargo', 'pypi']) {
    it(`${kind}: an artifact GET is a 307 to a presigned URL of the bucket that serves the stored bytes`, async () => {
      const artifact = artifacts[kind]!;
      const answer = await sendRequest(registry, 'GET', artifact.path, { headers: { authorization: artifact.auth() } });
      assert.equal(answer.status, 307, answer.text);
      assert.equal(answer.bytes.length, 0, 'the registry sends no bytes of the artifact');
      assert.equal(answer.headers['cache-control'], 'no-store', 'an expiring redirect is never cached');
      const location = new URL(answer.headers.location!);
      assert.equal(location.origin, publicOrigin, 'the URL names the public origin');
      assert.equal(location.searchParams.get('X-Amz-Expires'), String(kind === 'npm' ? NPM_EXPIRES_IN : EXPIRES_IN));
      assert.equal(gets.length, 1, 'afterGet ran once, before the answer');
      assert.equal(gets[0]!.protocol, kind);
      assert.equal(gets[0]!.metadata?.redirect, true);
      assert.equal(gets[0]!.metadata?.size, artifact.bytes.length);
      assert.equal(gets[0]!.actor?.userId, 'alice');
      const direct = await fetchDirect(location.href);
      assert.equal(direct.status, 200);
      assert.equal(sha256(direct.bytes), sha256(artifact.bytes), 'Ceph serves exactly the stored bytes');
      const head = await sendRequest(registry, 'HEAD', artifact.path, { headers: { authorization: artifact.auth() } });
      assert.equal(direct.headers.get('content-type'), head.headers['content-type'], 'the bucket answers with the registry\'s Content-Type');
    });
  }

  it('OCI: the redirect carries Docker-Content-Digest; the bucket honours the Range the client sends on', async () => {
    const artifact = artifacts.oci!;
    const answer = await sendRequest(registry, 'GET', artifact.path, { headers: { authorization: basic, range: 'bytes=1000-1999' } });
    assert.equal(answer.status, 307);
    assert.equal(answer.headers['docker-content-digest'], `sha256:${sha256(artifact.bytes)}`);
    const part = await fetchDirect(answer.headers.location!, { range: 'bytes=1000-1999' });
    assert.equal(part.status, 206);
    assert.ok(part.bytes.equals(artifact.bytes.subarray(1000, 2000)));
  });

  it('permissions are checked before the redirect: no token is a 401 without a Location, and no hook runs', async () => {
    for (const kind of ['npm', 'oci', 'maven', 'cargo', 'pypi']) {
      const answer = await sendRequest(registry, 'GET', artifacts[kind]!.path);
      assert.equal(answer.status, 401, kind);
      assert.equal(answer.headers.location, undefined, kind);
    }
    assert.equal(gets.length, 0);
  });

  it('HEAD, 304 and 416 are the registry\'s own answers', async () => {
    for (const kind of ['npm', 'oci', 'maven', 'cargo', 'pypi']) {
      const { path, bytes, auth } = artifacts[kind]!;
      const head = await sendRequest(registry, 'HEAD', path, { headers: { authorization: auth() } });
      assert.equal(head.status, 200, kind);
      assert.equal(head.headers['content-length'], String(bytes.length), kind);
      assert.equal(head.headers.location, undefined, kind);
      const etag = head.headers.etag!;
      const notModified = await sendRequest(registry, 'GET', path, { headers: { authorization: auth(), 'if-none-match': etag } });
      assert.equal(notModified.status, 304, kind);
      assert.equal(notModified.headers.location, undefined, kind);
      const outside = await sendRequest(registry, 'GET', path, { headers: { authorization: auth(), range: `bytes=${bytes.length + 10}-` } });
      assert.equal(outside.status, 416, kind);
      assert.equal(outside.headers['content-range'], `bytes */${bytes.length}`, kind);
    }
    assert.equal(gets.length, 0, 'nothing was read');
  });

  it('a stored object\'s ETag is the bucket\'s own, so a validator learned from either side means the same', async () => {
    const { path, auth } = artifacts.npm!;
    const answer = await sendRequest(registry, 'GET', path, { headers: { authorization: auth() } });
    const direct = await fetchDirect(answer.headers.location!);
    const fromBucket = direct.headers.get('etag')!;
    const conditional = await sendRequest(registry, 'GET', path, { headers: { authorization: auth(), 'if-none-match': fromBucket } });
    assert.equal(conditional.status, 304);
  });

  it('the URL expires: signed more than expiresIn seconds ago, the bucket refuses it', async () => {
    const { path, auth } = artifacts.oci!;
    signingClock = () => new Date(Date.now() - (EXPIRES_IN + 60) * 1000);
    const stale = await sendRequest(registry, 'GET', path, { headers: { authorization: auth() } });
    assert.equal(stale.status, 307);
    const refused = await fetchDirect(stale.headers.location!);
    assert.equal(refused.status, 403);
    assert.match(refused.bytes.toString('utf8'), /AccessDenied|expired/i);
    signingClock = () => new Date(Date.now() - (EXPIRES_IN - 60) * 1000);
    const fresh = await sendRequest(registry, 'GET', path, { headers: { authorization: auth() } });
    assert.equal((await fetchDirect(fresh.headers.location!)).status, 200, 'still valid a minute before it expires');
  });

  it('a URL is handed out again while four fifths of its validity remain, then signed anew; permissions and the hook every time', async () => {
    const { path, auth } = artifacts.maven!;
    // Later than any URL an earlier test had signed for this artifact could still be reused, so `first` is signed at `start`.
    const start = Date.now() + 10 * EXPIRES_IN * 1000;
    const locationAt = async (secondsLater: number) => {
      signingClock = () => new Date(start + secondsLater * 1000);
      const answer = await sendRequest(registry, 'GET', path, { headers: { authorization: auth() } });
      assert.equal(answer.status, 307, answer.text);
      return answer.headers.location!;
    };
    const first = await locationAt(0);
    const amzDate = (location: string) => new URL(location).searchParams.get('X-Amz-Date');
    assert.equal(await locationAt(EXPIRES_IN * 0.2 - 1), first, 'reused within the first fifth of its validity');
    assert.equal((await sendRequest(registry, 'GET', path)).status, 401, 'without a token: no URL, remembered or not');
    const renewed = await locationAt(EXPIRES_IN * 0.2 + 1);
    assert.notEqual(renewed, first);
    assert.notEqual(amzDate(renewed), amzDate(first), 'signed at the later time');
    assert.equal(gets.length, 3, 'afterGet ran for every redirect, the reused ones too');
    assert.equal((await fetchDirect(renewed)).status, 200);
  });

  it('a URL is for one object only: changing its key breaks the signature', async () => {
    const answer = await sendRequest(registry, 'GET', artifacts.npm!.path, { headers: { authorization: artifacts.npm!.auth() } });
    const location = new URL(answer.headers.location!);
    location.pathname = location.pathname.replace(/redirected-1\.0\.0\.tgz$/, 'other-1.0.0.tgz');
    assert.equal((await fetchDirect(location.href)).status, 403);
  });

  it('metadata documents are always served by the registry', async () => {
    const documents: [string, string][] = [
      ['/npm/redirected', `Bearer ${tokens.npm}`],
      ['/maven/com/example/lib/maven-metadata.xml', `Bearer ${tokens.maven}`],
      ['/cargo/re/di/redirected', tokens.cargo!],
      ['/pypi/simple/redirected/', basic],
      [`${artifacts.pypi!.path}.metadata`, basic],
    ];
    for (const [path, authorization] of documents) {
      const answer = await sendRequest(registry, 'GET', path, { headers: { authorization } });
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      assert.equal(answer.headers.location, undefined, path);
      assert.ok(answer.bytes.length > 0, path);
    }
  });

  it('a protocol can turn redirects off: its artifacts stream, the others still redirect', async () => {
    const streaming = new SmartRegistry({
      storage: { type: 's3', ...ceph.descriptor, bucketName: ceph.bucketName },
      auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
      logging: { level: 'silent' },
      downloads: { redirect: true },
      oci: { enabled: true, basePath: '/oci', downloads: { redirect: false } },
      pypi: { enabled: true, basePath: '/pypi' },
    });
    await streaming.init();
    try {
      const blob = await sendRequest(streaming, 'GET', artifacts.oci!.path, { headers: { authorization: basic } });
      assert.equal(blob.status, 200);
      assert.ok(blob.bytes.equals(artifacts.oci!.bytes));
      const wheel = await sendRequest(streaming, 'GET', artifacts.pypi!.path, { headers: { authorization: basic } });
      assert.equal(wheel.status, 307);
      assert.equal(new URL(wheel.headers.location!).origin, `http://127.0.0.1:${ceph.descriptor.port}`, 'without publicUrl: the storage endpoint');
    } finally {
      await streaming.destroy();
    }
  });
});
