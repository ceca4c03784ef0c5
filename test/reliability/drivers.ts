/**
 * One small driver per protocol for the reliability tests and the soak bench: publish the i-th version of one
 * package the way the protocol's client does, read every index form that lists versions, download the i-th
 * version, and (where the protocol has them) delete, yank and tag. Artifacts come from each protocol's own
 * test fixtures; a driver only knows the protocol's requests.
 */
import { sha256 } from '../oci/oci.fixtures.js';
import { publishBody } from '../npm/fixtures.js';
import { hex, pomOf } from '../maven/maven.fixtures.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip, sha1 } from '../composer/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem, readVersionsFile } from '../rubygems/fixtures.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import type { IReadResponse, ITestRequest } from '../helpers/requests.js';
import type { TCall } from './cluster.js';

export interface IDownload {
  what: string;
  answer: IReadResponse;
  expected: Buffer;
}

export interface IProtocolDriver {
  protocol: TRegistryProtocol;
  /** The package every version belongs to, as the protocol names it. */
  name: string;
  version(i: number): string;
  /** The message of an error answer, read from the protocol's own error shape (undefined: not that shape). */
  errorText(answer: IReadResponse): string | undefined;
  /** Every answer of the client's publish requests, in order; the publish stops at the first refused one. */
  publish(call: TCall, i: number): Promise<IReadResponse[]>;
  /** The versions each index form lists (yanked ones included where the form shows them as yanked). */
  listings(call: TCall): Promise<Record<string, string[]>>;
  download(call: TCall, i: number): Promise<IDownload[]>;
  /** Takes the i-th version away for good (the client's own flow, retried as the client would on a conflict). */
  remove?(call: TCall, i: number): Promise<IReadResponse[]>;
  yank?(call: TCall, i: number): Promise<IReadResponse[]>;
  /** Takes a yank back: the version is listed and installable again. */
  unyank?(call: TCall, i: number): Promise<IReadResponse[]>;
  /** Versions the index marks yanked; undefined when yanked versions simply drop out of the listings. */
  yanked?(call: TCall): Promise<string[] | undefined>;
  /** Points a movable name (dist-tag, tag) at the i-th version; `tagged` reads where it points. */
  tag?(call: TCall, tag: string, i: number): Promise<IReadResponse[]>;
  tagged?(call: TCall, tag: string): Promise<string | undefined>;
}

const ok = (answer: IReadResponse) => answer.status >= 200 && answer.status < 300;

/** Runs a client's requests in order, stopping at the first refused one; every answer is kept. */
async function steps(...requests: (() => Promise<IReadResponse>)[]): Promise<IReadResponse[]> {
  const answers: IReadResponse[] = [];
  for (const request of requests) {
    const answer = await request();
    answers.push(answer);
    if (!ok(answer)) break;
  }
  return answers;
}

/** Memoised per index: every instance and every check compares against the same bytes. */
function memo<T>(make: (i: number) => Promise<T>): (i: number) => Promise<T> {
  const made = new Map<number, Promise<T>>();
  return (i) => {
    if (!made.has(i)) made.set(i, make(i));
    return made.get(i)!;
  };
}

/** The text of a listing; an error answer lists nothing. */
const listed = (answer: IReadResponse) => (answer.status === 200 ? answer.text : '');

/** Maven and RubyGems answer errors as one line of plain text. */
const plainText = (answer: IReadResponse) => (answer.headers['content-type']?.startsWith('text/plain') ? answer.text.trim() : undefined);

const json = (body: unknown): ITestRequest => ({ body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' } });

function npmDriver(name: string): IProtocolDriver {
  const version = (i: number) => `1.0.${i}`;
  const body = memo((i) => publishBody(name, version(i)));
  const CORGI = 'application/vnd.npm.install-v1+json';
  return {
    protocol: 'npm',
    name,
    version,
    errorText: (answer) => answer.json?.error,
    publish: async (call, i) => steps(async () => call('PUT', `/npm/${name}`, { body: (await body(i)).body })),
    async listings(call) {
      const full = await call('GET', `/npm/${name}`);
      const abbreviated = await call('GET', `/npm/${name}`, { headers: { accept: CORGI } });
      return { packument: Object.keys(full.json?.versions ?? {}), abbreviated: Object.keys(abbreviated.json?.versions ?? {}) };
    },
    download: async (call, i) => [
      { what: 'tarball', answer: await call('GET', `/npm/${name}/-/${name}-${version(i)}.tgz`), expected: (await body(i)).tarball },
    ],
    // npm unpublish: read the document for writing, PUT it back without the version under its revision; a
    // 409 means someone wrote in between, so read again.
    async remove(call, i) {
      const answers: IReadResponse[] = [];
      for (;;) {
        const current = await call('GET', `/npm/${name}?write=true`);
        answers.push(current);
        if (!ok(current)) return answers;
        delete current.json.versions[version(i)];
        const put = await call('PUT', `/npm/${name}/-rev/${current.json._rev}`, json(current.json));
        answers.push(put);
        if (put.status !== 409) return answers;
      }
    },
    tag: (call, tag, i) => steps(() => call('PUT', `/npm/-/package/${name}/dist-tags/${tag}`, json(version(i)))),
    tagged: async (call, tag) => (await call('GET', `/npm/-/package/${name}/dist-tags`)).json?.[tag],
  };
}

function ociDriver(name: string): IProtocolDriver {
  const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
  const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const version = (i: number) => `v${i}`;
  const layer = (i: number) => Buffer.from(`layer of ${name}:${version(i)}`);
  const manifest = (i: number) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer(i)), size: layer(i).length }],
      }),
    );
  const pushBlob = (call: TCall, bytes: Buffer) => call('POST', `/v2/${name}/blobs/uploads/?digest=${sha256(bytes)}`, { body: bytes });
  const pushManifest = (call: TCall, reference: string, i: number) =>
    call('PUT', `/v2/${name}/manifests/${reference}`, { body: manifest(i), headers: { 'content-type': MANIFEST } });
  return {
    protocol: 'oci',
    name,
    version,
    errorText: (answer) => answer.json?.errors?.[0]?.message,
    publish: (call, i) =>
      steps(
        () => pushBlob(call, configBytes),
        () => pushBlob(call, layer(i)),
        () => pushManifest(call, version(i), i),
      ),
    async listings(call) {
      const list = await call('GET', `/v2/${name}/tags/list?n=10000`);
      // Tags that name versions; movable tags (latest) are not versions.
      return { 'tags/list': ((list.json?.tags ?? []) as string[]).filter((tag) => /^v\d+$/.test(tag)) };
    },
    download: async (call, i) => [
      { what: 'manifest by tag', answer: await call('GET', `/v2/${name}/manifests/${version(i)}`, { headers: { accept: MANIFEST } }), expected: manifest(i) },
      { what: 'manifest by digest', answer: await call('GET', `/v2/${name}/manifests/${sha256(manifest(i))}`, { headers: { accept: MANIFEST } }), expected: manifest(i) },
      { what: 'layer', answer: await call('GET', `/v2/${name}/blobs/${sha256(layer(i))}`), expected: layer(i) },
    ],
    // Deleting by digest takes the manifest and every tag on it (other tags of the same bytes too).
    remove: (call, i) => steps(() => call('DELETE', `/v2/${name}/manifests/${sha256(manifest(i))}`)),
    tag: (call, tag, i) => steps(() => pushManifest(call, tag, i)),
    async tagged(call, tag) {
      const answer = await call('GET', `/v2/${name}/manifests/${tag}`, { headers: { accept: MANIFEST } });
      if (!ok(answer)) return undefined;
      const digest = answer.headers['docker-content-digest'];
      // The version whose manifest it is: layers name their tag.
      const layerDigest = answer.json?.layers?.[0]?.digest as string | undefined;
      const blob = layerDigest ? await call('GET', `/v2/${name}/blobs/${layerDigest}`) : undefined;
      return digest && blob && ok(blob) ? blob.text.split(':').pop() : undefined;
    },
  };
}

function mavenDriver(groupId: string, artifactId: string): IProtocolDriver {
  const dir = `/maven/${groupId.replace(/\./g, '/')}/${artifactId}`;
  const version = (i: number) => `1.${i}`;
  const pom = (i: number) => Buffer.from(pomOf(groupId, artifactId, version(i)));
  const file = (i: number) => `${dir}/${version(i)}/${artifactId}-${version(i)}.pom`;
  return {
    protocol: 'maven',
    name: `${groupId}:${artifactId}`,
    version,
    errorText: plainText,
    // mvn deploy: the file, then its checksums.
    publish: (call, i) =>
      steps(
        () => call('PUT', file(i), { body: pom(i) }),
        () => call('PUT', `${file(i)}.md5`, { body: hex('md5', pom(i)) }),
        () => call('PUT', `${file(i)}.sha1`, { body: hex('sha1', pom(i)) }),
      ),
    async listings(call) {
      const xml = listed(await call('GET', `${dir}/maven-metadata.xml`));
      const listing = listed(await call('GET', `${dir}/`));
      return {
        'maven-metadata.xml': [...xml.matchAll(/<version>([^<]+)<\/version>/g)].map((match) => match[1]!),
        'directory listing': [...listing.matchAll(/href="([^"/]+)\/"/g)].map((match) => match[1]!).filter((entry) => entry !== '..'),
      };
    },
    download: async (call, i) => [
      { what: 'pom', answer: await call('GET', file(i)), expected: pom(i) },
      // The registry serves the checksum it computed, as a line.
      { what: 'pom.sha1', answer: await call('GET', `${file(i)}.sha1`), expected: Buffer.from(`${hex('sha1', pom(i))}\n`) },
    ],
    remove: (call, i) => steps(() => call('DELETE', `${dir}/${version(i)}`)),
  };
}

function cargoDriver(name: string): IProtocolDriver {
  const version = (i: number) => `1.0.${i}`;
  const crate = memo((i) => makeCrate(name, version(i)));
  const indexPath = `/cargo/${name.slice(0, 2)}/${name.slice(2, 4)}/${name}`;
  const indexLines = async (call: TCall) =>
    listed(await call('GET', indexPath))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { vers: string; yanked: boolean });
  return {
    protocol: 'cargo',
    name,
    version,
    errorText: (answer) => answer.json?.errors?.[0]?.detail,
    publish: async (call, i) => steps(async () => call('PUT', '/cargo/api/v1/crates/new', { body: frame(JSON.stringify(publishMetadata(name, version(i))), await crate(i)) })),
    listings: async (call) => ({ 'sparse index': (await indexLines(call)).map((line) => line.vers) }),
    download: async (call, i) => [{ what: 'crate', answer: await call('GET', `/cargo/api/v1/crates/${name}/${version(i)}/download`), expected: await crate(i) }],
    yank: (call, i) => steps(() => call('DELETE', `/cargo/api/v1/crates/${name}/${version(i)}/yank`)),
    unyank: (call, i) => steps(() => call('PUT', `/cargo/api/v1/crates/${name}/${version(i)}/unyank`)),
    yanked: async (call) => (await indexLines(call)).filter((line) => line.yanked).map((line) => line.vers),
  };
}

function composerDriver(name: string): IProtocolDriver {
  const version = (i: number) => `1.0.${i}`;
  const zip = memo((i) => makePackageZip(name, version(i)));
  return {
    protocol: 'composer',
    name,
    version,
    errorText: (answer) => (answer.json?.status === 'error' ? answer.json.message : undefined),
    publish: async (call, i) => steps(async () => call('PUT', `/composer/packages/${name}`, { body: await zip(i), headers: { 'content-type': 'application/zip' } })),
    async listings(call) {
      const minified = ((await call('GET', `/composer/p2/${name}.json`)).json?.packages?.[name] ?? []) as { version?: string }[];
      // Composer's minified metadata carries a field only where it changes.
      let current: string | undefined;
      return { p2: minified.map((entry) => (current = entry.version ?? current)!) };
    },
    download: async (call, i) => [{ what: 'zip', answer: await call('GET', `/composer/dists/${name}/${sha1(await zip(i))}.zip`), expected: await zip(i) }],
    remove: (call, i) => steps(() => call('DELETE', `/composer/packages/${name}/${version(i)}`)),
  };
}

function pypiDriver(name: string): IProtocolDriver {
  const version = (i: number) => `1.0.${i}`;
  const wheel = memo((i) => makeWheel(name, version(i)));
  const SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json';
  const simple = async (call: TCall) => (await call('GET', `/pypi/simple/${name}/`, { headers: { accept: SIMPLE_JSON } })).json;
  return {
    protocol: 'pypi',
    name,
    version,
    errorText: (answer) => answer.json?.message,
    async publish(call, i) {
      const file = await wheel(i);
      const body = multipartBody(await uploadFields(name, version(i), file), file);
      return steps(() => call('POST', '/pypi/', { body, headers: { 'content-type': MULTIPART_TYPE } }));
    },
    async listings(call) {
      const html = listed(await call('GET', `/pypi/simple/${name}/`, { headers: { accept: 'text/html' } }));
      const releases = (await call('GET', `/pypi/pypi/${name}/json`)).json?.releases ?? {};
      return {
        'simple JSON': (await simple(call))?.versions ?? [],
        'simple HTML': [...html.matchAll(/>[a-z0-9_]+-([^-]+)-py3-none-any\.whl</g)].map((match) => match[1]!),
        'JSON API': Object.keys(releases),
      };
    },
    download: async (call, i) => {
      const { filename, bytes } = await wheel(i);
      return [{ what: 'wheel', answer: await call('GET', `/pypi/packages/${name}/${filename}`), expected: bytes }];
    },
    remove: (call, i) => steps(() => call('DELETE', `/pypi/pypi/${name}/${version(i)}`)),
    yank: (call, i) => steps(() => call('POST', `/pypi/pypi/${name}/${version(i)}/yank`)),
    unyank: (call, i) => steps(() => call('POST', `/pypi/pypi/${name}/${version(i)}/unyank`)),
    async yanked(call) {
      const files = ((await simple(call))?.files ?? []) as { filename: string; yanked?: unknown }[];
      return files.filter((file) => file.yanked).map((file) => file.filename.split('-')[1]!);
    },
  };
}

function rubygemsDriver(name: string): IProtocolDriver {
  const version = (i: number) => `1.0.${i}`;
  const gem = memo((i) => makeGem(gemspecYaml(name, version(i))));
  const form = (i: number): ITestRequest => ({
    body: `gem_name=${name}&version=${version(i)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return {
    protocol: 'rubygems',
    name,
    version,
    errorText: plainText,
    publish: async (call, i) => steps(async () => call('POST', '/rubygems/api/v1/gems', { body: await gem(i), headers: { 'content-type': 'application/octet-stream' } })),
    async listings(call) {
      const info = listed(await call('GET', `/rubygems/info/${name}`));
      const versionsFile = listed(await call('GET', '/rubygems/versions'));
      const versions = readVersionsFile(versionsFile || '\n---\n');
      const answer = (await call('GET', `/rubygems/api/v1/versions/${name}.json`)).json;
      const api = (Array.isArray(answer) ? answer : []) as { number: string }[];
      return {
        '/info': info.split('\n').slice(1).filter(Boolean).map((line) => line.split(' ')[0]!),
        '/versions': [...(versions.get(name)?.versions ?? [])],
        'versions JSON': api.map((entry) => entry.number),
      };
    },
    download: async (call, i) => [{ what: 'gem', answer: await call('GET', `/rubygems/gems/${name}-${version(i)}.gem`), expected: await gem(i) }],
    // Yanked gems leave the compact index and the JSON API.
    yank: (call, i) => steps(() => call('DELETE', '/rubygems/api/v1/gems/yank', form(i))),
    unyank: (call, i) => steps(() => call('PUT', '/rubygems/api/v1/gems/unyank', form(i))),
    yanked: async () => undefined,
  };
}

/** One driver per protocol, each for a package called after `name` (a short lower-case word). */
export function protocolDrivers(name: string): IProtocolDriver[] {
  return [
    npmDriver(name),
    ociDriver(`${name}/app`),
    mavenDriver(`org.${name}`, 'lib'),
    cargoDriver(name),
    composerDriver(`acme/${name}`),
    pypiDriver(name),
    rubygemsDriver(name),
  ];
}
