/**
 * A registry with the web page at `/` and packages of all seven protocols, published through
 * handleRequest as the real clients would. Every protocol but PyPI is private (no anonymous reads);
 * PyPI is readable by anyone. `reader` may read `@team/*` on npm only, `padder` web-left-pad only.
 */
import * as crypto from 'node:crypto';
import { sendRequest, type IReadResponse, type ITestRequest } from '../helpers/requests.js';
import { startTestRegistry, type ITestRegistry } from '../helpers/testregistry.js';
import { publishBody } from '../npm/fixtures.js';
import { makeWheel, multipartBody, MULTIPART_TYPE, uploadFields } from '../pypi/fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { pomOf } from '../maven/maven.fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';

export const PASSWORDS = { admin: 'admin-web-password', reader: 'reader-web-password', padder: 'padder-web-password' } as const;
export const basic = (user: keyof typeof PASSWORDS, password: string = PASSWORDS[user]) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A readme that tries every way of running script in the page. */
export const HOSTILE_README = [
  '# Hostile readme',
  '',
  '<script>window.__xss = "script"</script>',
  '<img src="x" onerror="window.__xss = \'onerror\'">',
  '[click me](javascript:window.__xss="link")',
  '<a href="javascript:window.__xss=1">raw link</a>',
  '<iframe src="https://registry.example.com/frame"></iframe>',
  '<div onclick="window.__xss = \'click\'" style="color:red">styled</div>',
  '<form action="https://registry.example.com/steal"><input name="password"></form>',
  '',
  'Safe **bold** text and a [good link](https://registry.example.com/docs).',
].join('\n');

/** What `cargo publish` sends as `readme`: the crate's README.md. */
export const CRATE_README = '# web-crate\n\nA crate whose readme `cargo publish` sent, with a [link](https://registry.example.com/crate).\n\n<script>window.__xss = "crate"</script>';

export interface IWebFixture extends ITestRegistry {
  request(method: string, path: string, options?: ITestRequest): Promise<IReadResponse>;
}

const sha256 = (bytes: Uint8Array | string) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

function expectOk(what: string, response: IReadResponse) {
  if (response.status >= 300) throw new Error(`${what}: ${response.status} ${response.text}`);
}

export async function createWebFixture(): Promise<IWebFixture> {
  const setup = await startTestRegistry({
    label: 'web',
    users: {
      admin: { password: PASSWORDS.admin, scopes: ['*'] },
      reader: { password: PASSWORDS.reader, scopes: ['npm:package:@team/*:read'] },
      padder: { password: PASSWORDS.padder, scopes: ['npm:package:web-left-pad:read'] },
    },
    config: {
      npm: { enabled: true, basePath: '/npm' },
      pypi: { enabled: true, basePath: '/pypi', anonymousRead: true },
      cargo: { enabled: true, basePath: '/cargo' },
      maven: { enabled: true, basePath: '/maven' },
      oci: { enabled: true, basePath: '/oci' },
      composer: { enabled: true, basePath: '/composer' },
      rubygems: { enabled: true, basePath: '/rubygems' },
      web: { enabled: true, basePath: '/' },
    },
  });
  const request = (method: string, path: string, options: ITestRequest = {}) => sendRequest(setup.registry, method, path, options);
  const admin = { authorization: basic('admin') };

  for (const [name, version, readme, extra] of [
    ['web-left-pad', '1.0.0', '# web-left-pad\n\nPads strings **on the left**.', { dependencies: { '@team/secret': '^2.0.0' } }],
    ['web-left-pad', '1.1.0', '# web-left-pad\n\nPads strings **on the left**.', { dependencies: { '@team/secret': '^2.0.0' } }],
    ['web-hostile', '0.1.0', HOSTILE_README, {}],
    ['@team/secret', '2.0.0', '# Secret\n\nOnly the team may read this.', {}],
  ] as const) {
    const { body } = await publishBody(name, version, { manifest: { readme, ...extra } });
    (body as Record<string, unknown>).readme = readme;
    expectOk(`npm publish ${name}`, await request('PUT', `/npm/${name.replace('/', '%2f')}`, { headers: admin, body }));
  }
  expectOk('npm deprecate', await deprecate(request, admin));

  const wheel = await makeWheel('web-demo', '0.3.0');
  const fields = await uploadFields('web-demo', '0.3.0', wheel, [
    ['description', '# web-demo\n\nA *PyPI* project with a Markdown description.'],
    ['description_content_type', 'text/markdown'],
  ]);
  expectOk('pypi upload', await request('POST', '/pypi/', { headers: { ...admin, 'content-type': MULTIPART_TYPE }, body: multipartBody(fields, wheel) }));

  const crate = await makeCrate('web-crate', '0.2.0');
  expectOk('cargo publish', await request('PUT', '/cargo/api/v1/crates/new', { headers: admin, body: frame(JSON.stringify(publishMetadata('web-crate', '0.2.0', { readme: CRATE_README })), crate) }));

  const jar = Buffer.from('not really a jar, but bytes');
  // A POM with a description and dependencies: one on another artifact here, one not here, one for tests only.
  const pom = pomOf('com.example', 'web-lib', '1.2.0').replace(
    '</project>',
    [
      '  <description>A library for the web page tests &amp; their readers.</description>',
      '  <dependencies>',
      '    <dependency><groupId>com.example</groupId><artifactId>web-base</artifactId><version>[1.0,2.0)</version></dependency>',
      '    <dependency><groupId>org.elsewhere</groupId><artifactId>other</artifactId><version>3.1</version><optional>true</optional></dependency>',
      '    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>',
      '  </dependencies>',
      '</project>',
    ].join('\n'),
  );
  const basePom = pomOf('com.example', 'web-base', '1.0.0');
  expectOk('maven base pom', await request('PUT', '/maven/com/example/web-base/1.0.0/web-base-1.0.0.pom', { headers: admin, body: Buffer.from(basePom) }));
  expectOk('maven jar', await request('PUT', '/maven/com/example/web-lib/1.2.0/web-lib-1.2.0.jar', { headers: admin, body: jar }));
  expectOk('maven pom', await request('PUT', '/maven/com/example/web-lib/1.2.0/web-lib-1.2.0.pom', { headers: admin, body: Buffer.from(pom) }));

  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = crypto.randomBytes(2048);
  for (const blob of [config, layer]) {
    expectOk('oci blob', await request('POST', `/v2/web/app/blobs/uploads/?digest=${sha256(blob)}`, { headers: { ...admin, 'content-type': 'application/octet-stream' }, body: blob }));
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  expectOk('oci manifest', await request('PUT', '/v2/web/app/manifests/1.0', { headers: { ...admin, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest }));
  await pushIndexWithSignature(request, admin);

  for (const [label, extra] of [
    ['1.0.0', { require: { php: '>=8.1', 'web/helpers': '^2.0' }, 'require-dev': { 'web/testing': '^1.0' } }],
    ['1.1.0-beta1', {}],
    ['dev-main', {}],
  ] as const) {
    const zip = await makePackageZip('web/greeter', label, { extra: { description: 'Greets people from the web page tests', ...extra } });
    expectOk(`composer upload ${label}`, await request('PUT', '/composer/packages/web/greeter', { headers: { ...admin, 'content-type': 'application/zip' }, body: zip }));
  }

  const described = (yaml: string) => `${yaml}description: Gems for the web page, described at length.\n`;
  for (const [version, platform] of [['0.9.0', 'ruby'], ['1.0.0', 'ruby'], ['1.0.0', 'x86_64-linux']] as const) {
    const gem = await makeGem(described(gemspecYaml('web-gem', version, { platform, dependencies: { 'web-base': ['>= 1.0'] } })));
    expectOk(`gem push ${version}-${platform}`, await request('POST', '/rubygems/api/v1/gems', { headers: { ...admin, 'content-type': 'application/octet-stream' }, body: gem }));
  }
  expectOk(
    'gem yank',
    await request('DELETE', '/rubygems/api/v1/gems/yank', { headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'gem_name=web-gem&version=0.9.0' }),
  );

  return { ...setup, request };
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** The cosign signature artifact type, as `cosign sign` pushes it to a registry with the referrers API. */
export const SIGNATURE_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/**
 * `web/app:2.0` as a multi-platform image (linux/amd64 and linux/arm64/v8, each a manifest with its
 * own layer) and a signature referring to the index, as `docker buildx --push` and `cosign sign` make them.
 */
async function pushIndexWithSignature(request: IWebFixture['request'], headers: Record<string, string>) {
  const putBlob = async (blob: Buffer) =>
    expectOk('oci blob', await request('POST', `/v2/web/app/blobs/uploads/?digest=${sha256(blob)}`, { headers: { ...headers, 'content-type': 'application/octet-stream' }, body: blob }));
  const putManifest = async (reference: string, document: object, mediaType: string) => {
    const bytes = Buffer.from(JSON.stringify(document));
    expectOk(`oci manifest ${reference}`, await request('PUT', `/v2/web/app/manifests/${reference}`, { headers: { ...headers, 'content-type': mediaType }, body: bytes }));
    return { mediaType, digest: sha256(bytes), size: bytes.length };
  };
  const platforms = [
    { os: 'linux', architecture: 'amd64', layerSize: 3000 },
    { os: 'linux', architecture: 'arm64', variant: 'v8', layerSize: 5000 },
  ];
  const children = [];
  for (const { layerSize, ...platform } of platforms) {
    const config = Buffer.from(JSON.stringify({ architecture: platform.architecture, os: platform.os }));
    const layer = crypto.randomBytes(layerSize);
    await putBlob(config);
    await putBlob(layer);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    };
    children.push({ ...(await putManifest(sha256(JSON.stringify(manifest)), manifest, OCI_MANIFEST)), platform });
  }
  const index = await putManifest('2.0', { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }, OCI_INDEX);
  const empty = Buffer.from('{}');
  const signature = Buffer.from('{"critical":{}}');
  await putBlob(empty);
  await putBlob(signature);
  const signatureManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGNATURE_TYPE,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(signature), size: signature.length }],
    subject: { mediaType: OCI_INDEX, digest: index.digest, size: index.size },
    annotations: { 'org.opencontainers.image.created': '2026-12-01T09:00:00Z' },
  };
  await putManifest(sha256(JSON.stringify(signatureManifest)), signatureManifest, OCI_MANIFEST);
}

/** `npm deprecate web-left-pad@1.0.0`: the packument sent back with the message on that version. */
async function deprecate(request: IWebFixture['request'], headers: Record<string, string>): Promise<IReadResponse> {
  const current = await request('GET', '/npm/web-left-pad', { headers });
  const doc = current.json as { versions: Record<string, Record<string, unknown>>; _rev: string };
  doc.versions['1.0.0'].deprecated = 'use 1.1.0';
  return request('PUT', '/npm/web-left-pad', { headers, body: doc });
}
