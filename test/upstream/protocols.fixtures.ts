/**
 * One row per protocol for the proxy tests that run the same case for all seven: how a package is named,
 * where its metadata and artifact are (below the protocol's mount, the same path at the upstream), how
 * a version is published to an upstream SmartRegistry, how a metadata answer shows that version, and
 * the protocol's shape of a 502.
 */
import assert from 'node:assert/strict';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { indexPathOf } from '../../ts/cargo/helpers.cargo.js';
import { sendRequest, type IReadResponse } from '../helpers/requests.js';
import { publishBody, type IPublishOptions } from '../npm/fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip, sha1 } from '../composer/fixtures.js';
import { MULTIPART_TYPE, makeWheel, multipartBody, uploadFields } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { pomOf } from '../maven/maven.fixtures.js';
import { zipBuffer } from '../core/archive/zipwriter.js';
import { ADMIN, pushImage } from './oci.fixtures.js';

/** A version published to an upstream. */
export interface IPublished {
  /** The artifact's path below the protocol's mount. */
  artifact: string;
  bytes: Buffer;
  /** Does this metadata answer list the version? */
  listedIn(metadata: IReadResponse): boolean;
}

export interface IProtocolRow {
  protocol: TRegistryProtocol;
  /** The protocol's name for the package `stem` (`corp-lib` → `com.example:corp-lib`, `acme/corp-lib` …). */
  name(stem: string): string;
  /** The path of a package's metadata below the protocol's mount. */
  metadata(name: string): string;
  metadataHeaders?: Record<string, string>;
  /** Where the protocol is mounted on a SmartRegistry from `test/upstream/helpers.upstream.ts`: `/npm`, and `` for OCI (`/v2`). */
  upstreamMount: string;
  /** The upstream `url` of a SmartRegistry at `base`. */
  upstreamUrl(base: string): string;
  publish(registry: SmartRegistry, name: string, version: string): Promise<IPublished>;
  /** Checks a 502 is in the protocol's own error shape. */
  assertBadGateway(answer: IReadResponse): void;
}

export async function publishNpm(registry: SmartRegistry, name: string, version: string, options: IPublishOptions = {}): Promise<IPublished> {
  const token = await registry.getAuthManager().createNpmToken('admin', false);
  const { body, tarball } = await publishBody(name, version, options);
  const response = await sendRequest(registry, 'PUT', `/npm/${name.replace('/', '%2f')}`, { headers: { authorization: `Bearer ${token}` }, body });
  assert.equal(response.status, 201, response.text);
  const file = `${name.slice(name.indexOf('/') + 1)}-${version}.tgz`;
  return { artifact: `/${name}/-/${file}`, bytes: tarball, listedIn: (metadata) => Object.hasOwn(metadata.json?.versions ?? {}, version) };
}

/** An image tagged `latest` (each publish moves the tag); its first layer is the artifact. */
export async function publishOci(registry: SmartRegistry, name: string): Promise<IPublished> {
  const image = await pushImage(registry, name, 'latest', [2048]);
  return { artifact: `/v2/${name}/blobs/${image.blobs[1]}`, bytes: image.layers[0], listedIn: (metadata) => metadata.bytes.equals(image.manifest) };
}

/** A jar and its pom; `name` is `groupId:artifactId`. */
export async function publishMaven(registry: SmartRegistry, name: string, version: string): Promise<IPublished> {
  const [groupId, artifactId] = name.split(':');
  const jar = await zipBuffer([{ name: 'META-INF/MANIFEST.MF', data: Buffer.from(`Manifest-Version: 1.0\r\nImplementation-Version: ${version}\r\n\r\n`), method: 'deflate' }]);
  const base = `/${groupId.split('.').join('/')}/${artifactId}/${version}/${artifactId}-${version}`;
  for (const [file, body] of [[`${base}.jar`, jar], [`${base}.pom`, Buffer.from(pomOf(groupId, artifactId, version))]] as const) {
    const response = await sendRequest(registry, 'PUT', `/maven${file}`, { headers: ADMIN, body });
    assert.ok(response.status === 201 || response.status === 200, `${file}: ${response.status} ${response.text}`);
  }
  return { artifact: `${base}.jar`, bytes: jar, listedIn: (metadata) => metadata.text.includes(`<version>${version}</version>`) };
}

export async function publishCargo(registry: SmartRegistry, name: string, version: string): Promise<IPublished> {
  const token = await registry.getAuthManager().createCargoToken('admin', false);
  const crate = await makeCrate(name, version);
  const response = await sendRequest(registry, 'PUT', '/cargo/api/v1/crates/new', { headers: { authorization: token }, body: frame(JSON.stringify(publishMetadata(name, version)), crate) });
  assert.equal(response.status, 200, response.text);
  return { artifact: `/api/v1/crates/${name}/${version}/download`, bytes: crate, listedIn: (metadata) => metadata.text.includes(`"vers":"${version}"`) };
}

export async function publishComposer(registry: SmartRegistry, name: string, version: string): Promise<IPublished> {
  const token = await registry.getAuthManager().createComposerToken('admin', false);
  const zip = await makePackageZip(name, version);
  const response = await sendRequest(registry, 'PUT', `/composer/packages/${name}`, { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' }, body: zip });
  assert.equal(response.status, 201, response.text);
  return {
    artifact: `/dists/${name}/${sha1(zip)}.zip`,
    bytes: zip,
    listedIn: (metadata) => ((metadata.json?.packages?.[name] ?? []) as { version?: string }[]).some((entry) => entry.version === version),
  };
}

export async function publishPypi(registry: SmartRegistry, name: string, version: string): Promise<IPublished> {
  const token = await registry.getAuthManager().createPypiToken('admin', false);
  const wheel = await makeWheel(name, version);
  const response = await sendRequest(registry, 'POST', '/pypi/', {
    headers: { authorization: `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`, 'content-type': MULTIPART_TYPE },
    body: multipartBody(await uploadFields(name, version, wheel), wheel),
  });
  assert.equal(response.status, 200, response.text);
  return {
    artifact: `/packages/${name}/${wheel.filename}`,
    bytes: wheel.bytes,
    listedIn: (metadata) => ((metadata.json?.files ?? []) as { filename: string }[]).some((file) => file.filename === wheel.filename),
  };
}

export async function publishRubyGems(registry: SmartRegistry, name: string, version: string, dependencies: Record<string, string[]> = {}): Promise<IPublished> {
  const key = await registry.getAuthManager().createRubyGemsToken('admin');
  const gem = await makeGem(gemspecYaml(name, version, { dependencies }));
  const response = await sendRequest(registry, 'POST', '/rubygems/api/v1/gems', { headers: { authorization: key, 'content-type': 'application/octet-stream' }, body: gem });
  assert.equal(response.status, 200, response.text);
  return { artifact: `/gems/${name}-${version}.gem`, bytes: gem, listedIn: (metadata) => metadata.text.split('\n').some((line) => line.startsWith(`${version} `)) };
}

const mountedAt = (mount: string) => (base: string) => `${base}${mount}`;

export const PROTOCOL_ROWS: IProtocolRow[] = [
  {
    protocol: 'npm',
    name: (stem) => stem,
    metadata: (name) => `/${name}`,
    upstreamMount: '/npm',
    upstreamUrl: mountedAt('/npm'),
    publish: publishNpm,
    assertBadGateway: (answer) => assert.match(answer.json.error, /bad gateway/),
  },
  {
    protocol: 'oci',
    name: (stem) => `team/${stem}`,
    metadata: (name) => `/v2/${name}/manifests/latest`,
    metadataHeaders: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    upstreamMount: '',
    upstreamUrl: (base) => base,
    publish: publishOci,
    assertBadGateway: (answer) => assert.ok(Array.isArray(answer.json.errors) && answer.json.errors[0].code, answer.text),
  },
  {
    protocol: 'maven',
    name: (stem) => `com.example:${stem}`,
    metadata: (name) => {
      const [groupId, artifactId] = name.split(':');
      return `/${groupId.split('.').join('/')}/${artifactId}/maven-metadata.xml`;
    },
    upstreamMount: '/maven',
    upstreamUrl: mountedAt('/maven'),
    publish: publishMaven,
    assertBadGateway: (answer) => {
      assert.match(answer.headers['content-type'], /^text\/plain/);
      assert.match(answer.text, /bad gateway/);
    },
  },
  {
    protocol: 'cargo',
    name: (stem) => stem,
    metadata: (name) => `/${indexPathOf(name)}`,
    upstreamMount: '/cargo',
    upstreamUrl: mountedAt('/cargo'),
    publish: publishCargo,
    assertBadGateway: (answer) => assert.match(answer.json.errors[0].detail, /bad gateway/),
  },
  {
    protocol: 'composer',
    name: (stem) => `acme/${stem}`,
    metadata: (name) => `/p2/${name}.json`,
    upstreamMount: '/composer',
    upstreamUrl: mountedAt('/composer'),
    publish: publishComposer,
    assertBadGateway: (answer) => {
      assert.equal(answer.json.status, 'error');
      assert.match(answer.json.message, /bad gateway/);
    },
  },
  {
    protocol: 'pypi',
    name: (stem) => stem,
    metadata: (name) => `/simple/${name}/`,
    metadataHeaders: { accept: 'application/vnd.pypi.simple.v1+json' },
    upstreamMount: '/pypi',
    upstreamUrl: (base) => `${base}/pypi/simple`,
    publish: publishPypi,
    assertBadGateway: (answer) => assert.match(answer.json.message, /bad gateway/),
  },
  {
    protocol: 'rubygems',
    name: (stem) => stem,
    metadata: (name) => `/info/${name}`,
    upstreamMount: '/rubygems',
    upstreamUrl: mountedAt('/rubygems'),
    publish: publishRubyGems,
    assertBadGateway: (answer) => {
      assert.match(answer.headers['content-type'], /^text\/plain/);
      assert.match(answer.text, /bad gateway/);
    },
  },
];
