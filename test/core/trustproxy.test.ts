/**
 * Links in answers (OCI token realm and Location headers, the npm web-login URLs, packument tarball
 * URLs) follow `X-Forwarded-*` only with `trustProxy: true`; a configured registryUrl beats both.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import type { IRegistryConfig } from '../../ts/core/interfaces.core.js';
import { publishBody } from '../npm/fixtures.js';

const FORWARDED = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-prefix': '/evil' };

interface ILinks {
  realm: string;
  loginUrl: string;
  doneUrl: string;
  tarball: string;
  uploadLocation: string;
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await fsp.rm(dir, { recursive: true, force: true });
});

/** Every kind of link the registry builds, asked for with `headers`. */
async function linksOf(config: Partial<IRegistryConfig>, headers: Record<string, string>): Promise<ILinks> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-proxy-'));
  dirs.push(dir);
  const registry = new SmartRegistry({
    storage: { type: 'filesystem', path: dir },
    auth: { tokenStore: 'memory', users: { alice: { password: 'alice-password', scopes: ['*'] } } },
    logging: { level: 'silent' },
    npm: { enabled: true, basePath: '/npm' },
    oci: { enabled: true, basePath: '/oci' },
    ...config,
  });
  await registry.init();
  try {
    const npmToken = await registry.getAuthManager().createNpmToken('alice', false);
    const ociToken = await registry.getAuthManager().createOciToken('alice', ['oci:*:*:*']);
    const call = async (method: string, requestPath: string, extra: Record<string, string>, body?: unknown) => {
      const response = await registry.handleRequest({
        method,
        path: requestPath,
        query: {},
        headers: { host: 'registry.example.com', ...headers, ...extra },
        body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      });
      const text = (await streamToBuffer(response.body)).toString('utf8');
      return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
    };
    const { body } = await publishBody('linked', '1.0.0');
    assert.equal((await call('PUT', '/npm/linked', { authorization: `Bearer ${npmToken}` }, body)).status, 201);

    const challenge = await call('GET', '/v2/library/app/manifests/latest', {});
    const login = await call('POST', '/npm/-/v1/login', {}, {});
    const packument = await call('GET', '/npm/linked', { authorization: `Bearer ${npmToken}` });
    const upload = await call('POST', '/v2/library/app/blobs/uploads/', { authorization: `Bearer ${ociToken}` });
    assert.equal(upload.status, 202);
    return {
      realm: challenge.headers['WWW-Authenticate'],
      loginUrl: login.json.loginUrl,
      doneUrl: login.json.doneUrl,
      tarball: packument.json.versions['1.0.0'].dist.tarball,
      uploadLocation: upload.headers.Location,
    };
  } finally {
    await registry.destroy();
  }
}

describe('forwarded headers and links', () => {
  it('by default X-Forwarded-* are ignored: links come from the Host header', async () => {
    const links = await linksOf({}, FORWARDED);
    assert.equal(links.realm, 'Bearer realm="http://registry.example.com/v2/token",service="registry.example.com",scope="repository:library/app:pull"');
    assert.match(links.loginUrl, /^http:\/\/registry\.example\.com\/npm\/-\/v1\/login\/cli\/[0-9a-f]{32}$/);
    assert.match(links.doneUrl, /^http:\/\/registry\.example\.com\/npm\/-\/v1\/done\//);
    assert.equal(links.tarball, 'http://registry.example.com/npm/linked/-/linked-1.0.0.tgz');
    assert.match(links.uploadLocation, /^\/v2\/library\/app\/blobs\/uploads\//);
    for (const link of Object.values(links)) assert.ok(!link.includes('evil'), link);
  });

  it('with trustProxy: true they are followed, the prefix included', async () => {
    const links = await linksOf({ trustProxy: true }, FORWARDED);
    assert.equal(links.realm, 'Bearer realm="https://evil.example/evil/v2/token",service="evil.example",scope="repository:library/app:pull"');
    assert.match(links.loginUrl, /^https:\/\/evil\.example\/evil\/npm\/-\/v1\/login\/cli\//);
    assert.equal(links.tarball, 'https://evil.example/evil/npm/linked/-/linked-1.0.0.tgz');
    assert.match(links.uploadLocation, /^\/evil\/v2\/library\/app\/blobs\/uploads\//);
  });

  it('a configured registryUrl beats the headers, trusted or not', async () => {
    const links = await linksOf(
      {
        trustProxy: true,
        npm: { enabled: true, basePath: '/npm', registryUrl: 'https://registry.example.com/npm' },
        oci: { enabled: true, basePath: '/oci', registryUrl: 'https://registry.example.com/oci' },
      },
      FORWARDED,
    );
    // The request came in on the host-root /v2: the realm is there too, on the configured host.
    assert.match(links.realm, /^Bearer realm="https:\/\/registry\.example\.com\/v2\/token",service="registry\.example\.com"/);
    assert.match(links.loginUrl, /^https:\/\/registry\.example\.com\/npm\/-\/v1\/login\/cli\//);
    assert.equal(links.tarball, 'https://registry.example.com/npm/linked/-/linked-1.0.0.tgz');
    for (const link of Object.values(links)) assert.ok(!link.includes('evil'), link);
  });

  it('a Host or forwarded value that is not a host name is not used', async () => {
    const links = await linksOf({ trustProxy: true }, { host: 'registry.example.com', 'x-forwarded-host': 'evil.example/path?', 'x-forwarded-prefix': '/../x' });
    assert.equal(links.tarball, 'http://registry.example.com/npm/linked/-/linked-1.0.0.tgz');
    const junkHost = await linksOf({}, { host: 'evil.example@other' });
    assert.equal(junkHost.tarball, 'http://localhost/npm/linked/-/linked-1.0.0.tgz');
  });

  it('trustProxy must be a boolean', () => {
    assert.throws(
      () => new SmartRegistry({ storage: { type: 'filesystem', path: '/tmp/unused' }, auth: {}, trustProxy: 'yes' as unknown as boolean }),
      /trustProxy must be true or false/,
    );
  });
});
