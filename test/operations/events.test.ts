/**
 * Audit events: every publish, delete, yank, dist-tag change, token creation and revocation and failed
 * login of npm, OCI, Cargo, PyPI, Maven, Composer and RubyGems (and every owner change) emits exactly one event with the right actor, to
 * `registry.on('event')` and to the JSON-lines log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { IRegistryEvent } from '../../ts/core/interfaces.operations.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { readResponse, type IReadResponse } from '../npm/fixtures.js';
import { publishBody } from '../npm/fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { pomOf } from '../maven/maven.fixtures.js';
import { sha256 } from '../oci/oci.fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';

const CLIENT_IP = '192.0.2.7';

interface ISend {
  token?: string;
  authorization?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

describe('audit events across protocols', () => {
  let dir: string;
  let registry: SmartRegistry;
  let events: IRegistryEvent[];
  const tokens = {} as Record<TRegistryProtocol, string>;
  let bobNpm: string;

  const send = async (method: string, requestPath: string, options: ISend = {}): Promise<IReadResponse> => {
    const headers: Record<string, string> = { host: 'registry.example.com', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.authorization) headers.authorization = options.authorization;
    let body = options.body;
    if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') body = Buffer.from(JSON.stringify(body));
    if (body instanceof Uint8Array) headers['content-length'] = String(body.length);
    const [pathOnly, search] = requestPath.split('?');
    const query = Object.fromEntries(new URLSearchParams(search ?? ''));
    return readResponse(await registry.handleRequest({ method, path: pathOnly, query, headers, body: body as Buffer, actor: { ip: CLIENT_IP } }));
  };
  /** The events the step emitted, as comparable tuples. */
  const during = async (step: () => Promise<void>) => {
    const start = events.length;
    await step();
    return events.slice(start).map((e) => [e.protocol, e.action, e.resource, e.version, e.actor?.userId ?? null, e.result]);
  };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-events-'));
    registry = new SmartRegistry({
      storage: { type: 'filesystem', path: path.join(dir, 'data') },
      auth: {
        tokenStore: 'memory',
        users: { alice: { password: 'alice-password', scopes: ['*'] }, bob: { password: 'bob-password', scopes: ['npm:package:bob-*:*'] } },
      },
      logging: { level: 'silent' },
      events: { log: path.join(dir, 'events.jsonl') },
      npm: { enabled: true, basePath: '/npm' },
      oci: { enabled: true, basePath: '/oci' },
      cargo: { enabled: true, basePath: '/cargo' },
      pypi: { enabled: true, basePath: '/pypi' },
      maven: { enabled: true, basePath: '/maven' },
      composer: { enabled: true, basePath: '/composer' },
      rubygems: { enabled: true, basePath: '/rubygems' },
    });
    events = [];
    registry.on('event', (event) => events.push(event));
    await registry.init();
  });
  after(async () => {
    await registry.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('token creation: one event per stored token, with its id, none for an OCI session JWT', async () => {
    const auth = registry.getAuthManager();
    const emitted = await during(async () => {
      for (const protocol of ['npm', 'cargo', 'pypi', 'maven', 'composer'] as const) tokens[protocol] = await auth.createToken('alice', protocol, { scopes: ['*'] });
      tokens.oci = await auth.createToken('alice', 'oci', { scopes: ['*'], stored: true });
      bobNpm = await auth.createNpmToken('bob');
      await auth.createOciToken('alice', ['oci:repository:x:pull']);
    });
    assert.deepEqual(emitted.map((e) => [e[0], e[1], e[4], e[5]]), [
      ['npm', 'token.create', 'alice', 'success'],
      ['cargo', 'token.create', 'alice', 'success'],
      ['pypi', 'token.create', 'alice', 'success'],
      ['maven', 'token.create', 'alice', 'success'],
      ['composer', 'token.create', 'alice', 'success'],
      ['oci', 'token.create', 'alice', 'success'],
      ['npm', 'token.create', 'bob', 'success'],
    ]);
    assert.equal(events[0].resource, (await auth.validateToken(tokens.npm))?.tokenId);
  });

  it('npm: publish, dist-tag set and remove, unpublish of a version, delete, each once with its actor and the client address', async () => {
    const token = tokens.npm;
    const emitted = await during(async () => {
      assert.equal((await send('PUT', '/npm/ev-pkg', { token, body: (await publishBody('ev-pkg', '1.0.0')).body })).status, 201);
      assert.equal((await send('PUT', '/npm/ev-pkg', { token, body: (await publishBody('ev-pkg', '1.1.0')).body })).status, 201);
      assert.equal((await send('PUT', '/npm/-/package/ev-pkg/dist-tags/beta', { token, body: '"1.0.0"' })).status, 201);
      assert.equal((await send('DELETE', '/npm/-/package/ev-pkg/dist-tags/beta', { token })).status, 200);
      const doc = (await send('GET', '/npm/ev-pkg?write=true', { token })).json;
      const { ['1.1.0']: _gone, ...kept } = doc.versions;
      assert.equal((await send('PUT', `/npm/ev-pkg/-rev/${doc._rev}`, { token, body: { ...doc, versions: kept } })).status, 200);
      const rev = (await send('GET', '/npm/ev-pkg?write=true', { token })).json._rev;
      assert.equal((await send('DELETE', `/npm/ev-pkg/-rev/${rev}`, { token })).status, 200);
    });
    assert.deepEqual(emitted, [
      ['npm', 'publish', 'ev-pkg', '1.0.0', 'alice', 'success'],
      ['npm', 'publish', 'ev-pkg', '1.1.0', 'alice', 'success'],
      ['npm', 'dist-tag.set', 'ev-pkg', 'beta', 'alice', 'success'],
      ['npm', 'dist-tag.remove', 'ev-pkg', 'beta', 'alice', 'success'],
      ['npm', 'delete', 'ev-pkg', '1.1.0', 'alice', 'success'],
      ['npm', 'delete', 'ev-pkg', undefined, 'alice', 'success'],
    ]);
    const last = events[events.length - 1];
    assert.equal(last.ip, CLIENT_IP);
    assert.equal(last.status, 200);
    assert.equal(last.actor?.tokenId, (await registry.getAuthManager().validateToken(token))?.tokenId);
    assert.match(last.id, /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(Date.parse(last.time) - Date.now()) < 60_000);
  });

  it('a refused publish is one denied event; a failed one a failure; reads are no events', async () => {
    const emitted = await during(async () => {
      assert.equal((await send('PUT', '/npm/not-bobs', { token: bobNpm, body: (await publishBody('not-bobs', '1.0.0')).body })).status, 403);
      await send('PUT', '/npm/bob-pkg', { token: bobNpm, body: (await publishBody('bob-pkg', '1.0.0')).body });
      // Refused once the tarball's key is found taken (the tarball is stored while the body is read, the packument
      // after it): the version is known by then.
      assert.equal((await send('PUT', '/npm/bob-pkg', { token: bobNpm, body: (await publishBody('bob-pkg', '1.0.0')).body })).status, 403);
      assert.equal((await send('PUT', '/npm/bob-pkg', { token: bobNpm, body: '{"versions": ' })).status, 400);
      assert.equal((await send('GET', '/npm/bob-pkg', { token: bobNpm })).status, 200);
    });
    assert.deepEqual(emitted, [
      ['npm', 'publish', 'not-bobs', undefined, 'bob', 'denied'],
      ['npm', 'publish', 'bob-pkg', '1.0.0', 'bob', 'success'],
      ['npm', 'publish', 'bob-pkg', '1.0.0', 'bob', 'denied'],
      ['npm', 'publish', 'bob-pkg', undefined, 'bob', 'failure'],
    ]);
    assert.equal(events.at(-1)?.status, 400);
  });

  it('failed logins: a wrong password names the user, a bad token names nothing; in every protocol', async () => {
    const wrongPassword = `Basic ${Buffer.from('alice:wrong').toString('base64')}`;
    const emitted = await during(async () => {
      assert.equal((await send('GET', '/npm/ev-pkg', { authorization: wrongPassword })).status, 401);
      assert.equal((await send('GET', '/oci/v2/_catalog', { authorization: 'Bearer not-a-token' })).status, 401);
      assert.equal((await send('GET', '/cargo/api/v1/crates?q=x', { authorization: 'not-a-token' })).status, 401);
      assert.equal((await send('GET', '/pypi/simple/', { authorization: wrongPassword })).status, 401);
      assert.equal((await send('GET', '/maven/com/example/', { authorization: wrongPassword })).status, 401);
    });
    assert.deepEqual(emitted, [
      ['npm', 'login.failure', 'alice', undefined, null, 'failure'],
      ['oci', 'login.failure', null, undefined, null, 'failure'],
      ['cargo', 'login.failure', null, undefined, null, 'failure'],
      ['pypi', 'login.failure', 'alice', undefined, null, 'failure'],
      ['maven', 'login.failure', 'alice', undefined, null, 'failure'],
    ]);
    assert.ok(events.slice(-5).every((e) => e.ip === CLIENT_IP && e.status === 401));
    assert.ok(!JSON.stringify(events.slice(-5)).includes('not-a-token'), 'a presented token never appears in an event');
  });

  it('OCI: a manifest push is a publish, deleting it and a blob are deletes; blob uploads are no events', async () => {
    const token = tokens.oci;
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = Buffer.from('a layer');
    const emitted = await during(async () => {
      for (const blob of [config, layer]) {
        assert.equal((await send('POST', `/oci/v2/ev/app/blobs/uploads/?digest=${sha256(blob)}`, { token, body: blob })).status, 201);
      }
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }));
      const pushed = await send('PUT', '/oci/v2/ev/app/manifests/v1', { token, body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(pushed.status, 201, pushed.text);
      assert.equal((await send('DELETE', `/oci/v2/ev/app/manifests/${sha256(manifest)}`, { token })).status, 202);
      assert.equal((await send('DELETE', `/oci/v2/ev/app/blobs/${sha256(layer)}`, { token })).status, 202);
    });
    assert.deepEqual(emitted, [
      ['oci', 'publish', 'ev/app', 'v1', 'alice', 'success'],
      ['oci', 'delete', 'ev/app', emitted[1]?.[3], 'alice', 'success'],
      ['oci', 'delete', 'ev/app', sha256(layer), 'alice', 'success'],
    ]);
    assert.match(String(emitted[1][3]), /^sha256:/);
  });

  it('Cargo: publish, yank and unyank', async () => {
    const token = tokens.cargo;
    const emitted = await during(async () => {
      const body = frame(JSON.stringify(publishMetadata('ev_crate', '0.1.0')), await makeCrate('ev_crate', '0.1.0'));
      assert.equal((await send('PUT', '/cargo/api/v1/crates/new', { token, body })).status, 200);
      assert.equal((await send('DELETE', '/cargo/api/v1/crates/ev_crate/0.1.0/yank', { token })).status, 200);
      assert.equal((await send('PUT', '/cargo/api/v1/crates/ev_crate/0.1.0/unyank', { token })).status, 200);
    });
    assert.deepEqual(emitted, [
      ['cargo', 'publish', 'ev_crate', '0.1.0', 'alice', 'success'],
      ['cargo', 'yank', 'ev_crate', '0.1.0', 'alice', 'success'],
      ['cargo', 'unyank', 'ev_crate', '0.1.0', 'alice', 'success'],
    ]);
  });

  it('Cargo: owners added and removed name the users; a refused owner change is denied', async () => {
    const token = tokens.cargo;
    const bobCargo = await registry.getAuthManager().createToken('bob', 'cargo', { scopes: ['cargo:crate:*:read'] });
    const start = events.length;
    const emitted = await during(async () => {
      const body = frame(JSON.stringify(publishMetadata('ev_owned', '0.1.0')), await makeCrate('ev_owned', '0.1.0'));
      assert.equal((await send('PUT', '/cargo/api/v1/crates/new', { token, body })).status, 200);
      assert.equal((await send('PUT', '/cargo/api/v1/crates/ev_owned/owners', { token, body: { users: ['bob'] } })).status, 200);
      assert.equal((await send('DELETE', '/cargo/api/v1/crates/ev_owned/owners', { token, body: { users: ['bob'] } })).status, 200);
      assert.equal((await send('PUT', '/cargo/api/v1/crates/ev_owned/owners', { token: bobCargo, body: { users: ['bob'] } })).status, 403);
    });
    assert.deepEqual(emitted, [
      ['cargo', 'publish', 'ev_owned', '0.1.0', 'alice', 'success'],
      ['cargo', 'owner.add', 'ev_owned', undefined, 'alice', 'success'],
      ['cargo', 'owner.remove', 'ev_owned', undefined, 'alice', 'success'],
      ['cargo', 'owner.add', 'ev_owned', undefined, 'bob', 'denied'],
    ]);
    assert.deepEqual(events.slice(start + 1).map((event) => event.subjects), [['bob'], ['bob'], undefined]);
  });

  it('RubyGems: owners added and removed name the users; a push to an owned gem without the write scope is denied', async () => {
    const auth = registry.getAuthManager();
    const token = await auth.createRubyGemsToken('alice');
    const bobGems = await auth.createToken('bob', 'rubygems', { scopes: ['rubygems:gem:*:read'] });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const start = events.length;
    const emitted = await during(async () => {
      const pushed = await send('POST', '/rubygems/api/v1/gems', { authorization: token, body: await makeGem(gemspecYaml('ev-owned', '1.0.0')) });
      assert.equal(pushed.status, 200, pushed.text);
      assert.equal((await send('POST', '/rubygems/api/v1/gems/ev-owned/owners', { authorization: token, body: 'email=bob', headers: form })).status, 200);
      assert.equal((await send('DELETE', '/rubygems/api/v1/gems/ev-owned/owners', { authorization: token, body: 'email=bob', headers: form })).status, 200);
      assert.equal((await send('POST', '/rubygems/api/v1/gems', { token: bobGems, body: await makeGem(gemspecYaml('ev-owned', '2.0.0')) })).status, 403);
      assert.equal((await send('GET', '/rubygems/api/v1/gems/ev-owned/owners.json', { authorization: token })).status, 200);
    });
    assert.deepEqual(emitted, [
      ['rubygems', 'publish', 'ev-owned', '1.0.0', 'alice', 'success'],
      ['rubygems', 'owner.add', 'ev-owned', undefined, 'alice', 'success'],
      ['rubygems', 'owner.remove', 'ev-owned', undefined, 'alice', 'success'],
      ['rubygems', 'publish', 'ev-owned', '2.0.0', 'bob', 'denied'],
    ]);
    assert.deepEqual(events.slice(start + 1, start + 3).map((event) => event.subjects), [['bob'], ['bob']]);
    assert.ok(events.slice(start).every((event) => event.ip === CLIENT_IP));
  });

  it('PyPI: upload, yank, unyank and delete of a release', async () => {
    const token = tokens.pypi;
    const emitted = await during(async () => {
      const wheel = await makeWheel('ev-project', '1.0');
      const body = multipartBody(await uploadFields('ev-project', '1.0', wheel), wheel);
      const uploaded = await send('POST', '/pypi/legacy/', { token, body, headers: { 'content-type': MULTIPART_TYPE } });
      assert.equal(uploaded.status, 200, uploaded.text);
      assert.equal((await send('POST', '/pypi/pypi/ev-project/1.0/yank', { token })).status, 200);
      assert.equal((await send('POST', '/pypi/pypi/ev-project/1.0/unyank', { token })).status, 200);
      assert.equal((await send('DELETE', '/pypi/pypi/ev-project/1.0', { token })).status, 200);
    });
    assert.deepEqual(emitted, [
      ['pypi', 'publish', 'ev-project', '1.0', 'alice', 'success'],
      ['pypi', 'yank', 'ev-project', '1.0', 'alice', 'success'],
      ['pypi', 'unyank', 'ev-project', '1.0', 'alice', 'success'],
      ['pypi', 'delete', 'ev-project', '1.0', 'alice', 'success'],
    ]);
  });

  it('Maven: each deployed file is a publish (not its checksums or metadata), a version delete is a delete', async () => {
    const token = tokens.maven;
    const base = '/maven/com/example/ev-lib/1.0';
    const jar = Buffer.from('PK a jar');
    const emitted = await during(async () => {
      assert.equal((await send('PUT', `${base}/ev-lib-1.0.pom`, { token, body: pomOf('com.example', 'ev-lib', '1.0') })).status, 201);
      assert.equal((await send('PUT', `${base}/ev-lib-1.0.jar`, { token, body: jar })).status, 201);
      const sha1 = (await send('GET', `${base}/ev-lib-1.0.jar.sha1`, { token })).text.trim();
      assert.equal((await send('PUT', `${base}/ev-lib-1.0.jar.sha1`, { token, body: sha1 })).status, 201);
      assert.equal((await send('DELETE', base, { token })).status, 204);
    });
    assert.deepEqual(emitted, [
      ['maven', 'publish', 'com/example/ev-lib/1.0/ev-lib-1.0.pom', '1.0', 'alice', 'success'],
      ['maven', 'publish', 'com/example/ev-lib/1.0/ev-lib-1.0.jar', '1.0', 'alice', 'success'],
      ['maven', 'delete', 'com.example:ev-lib', '1.0', 'alice', 'success'],
    ]);
  });

  it('Composer: an upload is a publish with the version it turned out to be, deletes of a version and a package', async () => {
    const token = tokens.composer;
    const emitted = await during(async () => {
      const zip = await makePackageZip('acme/ev-lib', '1.2.0');
      const uploaded = await send('PUT', '/composer/packages/acme/ev-lib', { token, body: zip });
      assert.equal(uploaded.status, 201, uploaded.text);
      assert.equal((await send('DELETE', '/composer/packages/acme/ev-lib/1.2.0', { token })).status, 200);
      assert.equal((await send('DELETE', '/composer/packages/acme/ev-lib', { token })).status, 404);
    });
    assert.deepEqual(emitted, [
      ['composer', 'publish', 'acme/ev-lib', '1.2.0', 'alice', 'success'],
      ['composer', 'delete', 'acme/ev-lib', '1.2.0', 'alice', 'success'],
      ['composer', 'delete', 'acme/ev-lib', undefined, 'alice', 'failure'],
    ]);
  });

  it('RubyGems: push (with the version and platform), yank and unyank; a push the token may not make is denied', async () => {
    const token = await registry.getAuthManager().createRubyGemsToken('alice');
    const bobToken = await registry.getAuthManager().createRubyGemsToken('bob');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const emitted = await during(async () => {
      const pushed = await send('POST', '/rubygems/api/v1/gems', { authorization: token, body: await makeGem(gemspecYaml('ev-gem', '1.0.0', { platform: 'x86_64-linux' })) });
      assert.equal(pushed.status, 200, pushed.text);
      assert.equal((await send('DELETE', '/rubygems/api/v1/gems/yank', { authorization: token, body: 'gem_name=ev-gem&version=1.0.0&platform=x86_64-linux', headers: form })).status, 200);
      assert.equal((await send('PUT', '/rubygems/api/v1/gems/unyank', { authorization: token, body: 'gem_name=ev-gem&version=1.0.0&platform=x86_64-linux', headers: form })).status, 200);
      assert.equal((await send('POST', '/rubygems/api/v1/gems', { authorization: bobToken, body: await makeGem(gemspecYaml('ev-other', '1.0.0')) })).status, 403);
    });
    assert.deepEqual(emitted, [
      ['rubygems', 'publish', 'ev-gem', '1.0.0-x86_64-linux', 'alice', 'success'],
      ['rubygems', 'yank', 'ev-gem', '1.0.0-x86_64-linux', 'alice', 'success'],
      ['rubygems', 'unyank', 'ev-gem', '1.0.0-x86_64-linux', 'alice', 'success'],
      ['rubygems', 'publish', 'ev-other', '1.0.0', 'bob', 'denied'],
    ]);
  });

  it('token revocation through npm, and the JSON-lines log holds every event once', async () => {
    const auth = registry.getAuthManager();
    const extra = await auth.createNpmToken('alice');
    const id = (await auth.validateToken(extra))?.tokenId;
    const emitted = await during(async () => {
      assert.equal((await send('DELETE', `/npm/-/npm/v1/tokens/token/${id}`, { token: tokens.npm })).status, 204);
      assert.equal((await send('DELETE', `/npm/-/npm/v1/tokens/token/${id}`, { token: tokens.npm })).status, 404);
    });
    assert.deepEqual(emitted, [
      ['npm', 'token.revoke', id, undefined, 'alice', 'success'],
      ['npm', 'token.revoke', id, undefined, 'alice', 'failure'],
    ]);
    assert.equal(events.at(-1)?.ip, CLIENT_IP);

    await registry.destroy();
    const lines = (await fsp.readFile(path.join(dir, 'events.jsonl'), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(lines.map((line) => JSON.parse(line)), JSON.parse(JSON.stringify(events)));
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
  });
});
