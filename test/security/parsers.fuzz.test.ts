/**
 * Property tests for every upload parser (issue 16): npm publish bodies, cargo framing, gem tar and YAML,
 * wheel and sdist file names and multipart bodies, composer zips, OCI manifests and Content-Range, Maven
 * paths and metadata. fast-check builds hostile bodies from valid ones (cut, bit-flipped, spliced, fields
 * replaced by any JSON) and from nothing (random bytes). Whatever arrives, the answer is never a 5xx or a
 * hang; a refusal is a 4xx in the protocol's shape with storage as it was. Inputs that cannot be valid
 * (random bytes, cut bodies, traversal in names) must be refused. The seed is fixed so a failure reproduces.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { sendRequest, type IReadResponse } from '../helpers/requests.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makePackageZip } from '../composer/fixtures.js';
import { zipBuffer } from '../core/archive/zipwriter.js';
import { pomOf } from '../maven/maven.fixtures.js';
import { publishBody } from '../npm/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE, BOUNDARY } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { errorMessage, startAllProtocols, type IAllProtocolsRegistry } from './protocolactions.js';

const SEED = 160017;
const RUNS = 60;
/** One run never takes this long unless something hangs (a guard, not a timing assertion). */
const RUN_TIMEOUT_MS = 15_000;

const garbage = fc.uint8Array({ maxLength: 4096 }).map((bytes) => Buffer.from(bytes));
/** A valid body cut short anywhere (never whole). */
const cutShort = (valid: Buffer) => fc.nat({ max: valid.length - 1 }).map((at) => valid.subarray(0, at));
/** A valid body with one byte changed. */
const flipped = (valid: Buffer) =>
  fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
    const copy = Buffer.from(valid);
    copy[at] ^= mask;
    return copy;
  });
/** A valid body with random bytes put in somewhere. */
const spliced = (valid: Buffer) =>
  fc.tuple(fc.nat({ max: valid.length }), garbage).map(([at, bytes]) => Buffer.concat([valid.subarray(0, at), bytes, valid.subarray(at)]));

/** A copy of a JSON document with the value at `path` replaced. */
function replaceAt(document: unknown, path: string[], value: unknown): unknown {
  const copy = structuredClone(document) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return copy;
}
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, '', -1, 1e308, '../../etc/passwd', '__proto__', { __proto__: { polluted: true } }, [], {}));

interface IRequestShape {
  method: string;
  path: string;
  headers?: Record<string, string>;
}

describe('every upload parser refuses hostile bodies with a 4xx and stores nothing', () => {
  let r: IAllProtocolsRegistry;
  let keys: string[];
  const counts: Record<string, number> = {};

  before(async () => {
    r = await startAllProtocols({ limits: { maxArtifactBytes: 256 * 1024 } });
    keys = await r.keys();
  });
  after(async () => {
    await r.close();
    console.log(`fuzz cases per parser: ${JSON.stringify(counts)}`);
  });

  const send = (protocol: TRegistryProtocol, shape: IRequestShape, body: Buffer) =>
    sendRequest(r.registry, shape.method, `/${protocol}${shape.path}`, {
      headers: { authorization: r.actions[protocol].authorization(r.adminTokens[protocol]), ...shape.headers },
      body,
    });

  /** A refusal: 4xx, the protocol's error shape, storage as it was. */
  const assertRefused = async (protocol: TRegistryProtocol, res: IReadResponse, what: string) => {
    assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(typeof errorMessage(protocol, res), 'string', `${what}: error shape: ${res.text.slice(0, 300)}`);
    assert.deepEqual(await r.keys(), keys, `${what}: storage unchanged`);
  };
  /** Either accepted (then storage moves on) or refused as above; never a 5xx. */
  const assertAnswered = async (protocol: TRegistryProtocol, res: IReadResponse, what: string) => {
    if (res.status >= 200 && res.status < 300) {
      keys = await r.keys();
      return;
    }
    await assertRefused(protocol, res, what);
  };

  /**
   * Send every input (made into a body by `toBody`, bytes as they are) to one request shape; `mustRefuse`
   * says whether an accepted body is a failure.
   */
  async function fuzz<T>(
    label: string,
    protocol: TRegistryProtocol,
    shape: IRequestShape | ((input: T) => IRequestShape),
    inputs: fc.Arbitrary<T>,
    mustRefuse: boolean,
    options: { runs?: number; toBody?: (input: T) => Buffer | Promise<Buffer> } = {},
  ) {
    const runs = options.runs ?? RUNS;
    counts[label] = (counts[label] ?? 0) + runs;
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        const body = options.toBody ? await options.toBody(input) : (input as Buffer);
        const request = typeof shape === 'function' ? shape(input) : shape;
        const res = await send(protocol, request, body);
        const what = `${label} ${request.method} ${request.path} ${JSON.stringify(request.headers ?? {})} (${body.length} bytes)`;
        await (mustRefuse ? assertRefused(protocol, res, what) : assertAnswered(protocol, res, what));
      }),
      { seed: SEED, numRuns: runs, timeout: RUN_TIMEOUT_MS },
    );
  }

  it('npm publish bodies', async () => {
    const { body } = await publishBody('fuzzed', '1.0.0');
    const valid = Buffer.from(JSON.stringify(body));
    const put = { method: 'PUT', path: '/fuzzed', headers: { 'content-type': 'application/json' } };
    await fuzz('npm publish: garbage or cut', 'npm', put, fc.oneof(garbage, cutShort(valid)), true);
    await fuzz('npm publish: flipped or spliced', 'npm', put, fc.oneof(flipped(valid), spliced(valid)), false);
    const fields = [
      ['name'],
      ['_id'],
      ['versions'],
      ['versions', '1.0.0'],
      ['versions', '1.0.0', 'name'],
      ['versions', '1.0.0', 'version'],
      ['versions', '1.0.0', 'dist'],
      ['versions', '1.0.0', 'dist', 'integrity'],
      ['versions', '1.0.0', 'dist', 'shasum'],
      ['dist-tags'],
      ['dist-tags', 'latest'],
      ['_attachments'],
      ['_attachments', 'fuzzed-1.0.0.tgz'],
      ['_attachments', 'fuzzed-1.0.0.tgz', 'data'],
      ['_attachments', 'fuzzed-1.0.0.tgz', 'length'],
    ];
    await fuzz(
      'npm publish: a field replaced by any JSON',
      'npm',
      put,
      fc.tuple(fc.constantFrom(...fields), anyJson).map(([path, value]) => Buffer.from(JSON.stringify(replaceAt(body, path, value)))),
      false,
      { runs: 120 },
    );
  });

  it('cargo publish framing', async () => {
    const metadata = publishMetadata('fuzzed', '1.0.0');
    const crate = await makeCrate('fuzzed', '1.0.0');
    const valid = frame(JSON.stringify(metadata), crate);
    const put = { method: 'PUT', path: '/api/v1/crates/new' };
    await fuzz('cargo framing: garbage or cut', 'cargo', put, fc.oneof(garbage, cutShort(valid)), true);
    await fuzz('cargo framing: flipped or spliced', 'cargo', put, fc.oneof(flipped(valid), spliced(valid)), false);
    await fuzz(
      'cargo framing: lying lengths',
      'cargo',
      put,
      fc
        .tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }))
        .filter(([json, crateLength]) => json !== JSON.stringify(metadata).length || crateLength !== crate.length)
        .map(([json, crateLength]) => frame(JSON.stringify(metadata), crate, { json, crate: crateLength })),
      true,
    );
    const fields = ['name', 'vers', 'deps', 'features', 'authors', 'keywords', 'categories', 'links', 'badges'];
    await fuzz(
      'cargo framing: a metadata field replaced by any JSON',
      'cargo',
      put,
      fc.tuple(fc.constantFrom(...fields), anyJson).map(([field, value]) => frame(JSON.stringify({ ...metadata, [field]: value }), crate)),
      false,
    );
  });

  it('gem tar and YAML', async () => {
    const valid = await makeGem(gemspecYaml('fuzzed', '1.0.0'));
    const push = { method: 'POST', path: '/api/v1/gems', headers: { 'content-type': 'application/octet-stream' } };
    await fuzz('gem: garbage or cut', 'rubygems', push, fc.oneof(garbage, cutShort(valid.subarray(0, valid.length - 1024))), true);
    await fuzz('gem: flipped or spliced', 'rubygems', push, fc.oneof(flipped(valid), spliced(valid)), false);
    // YAML made of the pieces hostile gemspecs use: foreign tags, anchors and aliases (billion laughs), merge keys.
    const yamlPiece = fc.constantFrom(
      '--- !ruby/object:Gem::Specification\n',
      'name: fuzzed\n',
      'version: !ruby/object:Gem::Version\n  version: 1.0.0\n',
      '!ruby/hash:Gem::Dependency {}\n',
      '!!js/function "function () {}"\n',
      '!!python/object/apply:os.system ["true"]\n',
      'a: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n',
      '<<: *undefined\n',
      'platform: ../../../etc\n',
      'name: ../evil\n',
      'dependencies: 7\n',
      '\t\t:\n',
      '- - -\n',
      '"\\u0000"\n',
    );
    const yamlText = fc.oneof(fc.array(yamlPiece, { minLength: 1, maxLength: 8 }).map((pieces) => pieces.join('')), fc.string({ maxLength: 300 }));
    await fuzz('gem: metadata YAML', 'rubygems', push, yamlText, true, { toBody: (yaml) => makeGem(yaml) });
    await fuzz('gem: metadata.gz that is not gzip', 'rubygems', push, garbage.filter((bytes) => bytes[0] !== 0x1f), true, {
      toBody: (bytes) => makeGem(null, { 'metadata.gz': bytes }),
    });
  });

  it('wheel and sdist file names and multipart bodies', async () => {
    const wheel = await makeWheel('fuzzed', '1.0.0');
    const fields = await uploadFields('fuzzed', '1.0.0', wheel);
    const valid = multipartBody(fields, wheel);
    const upload = { method: 'POST', path: '/', headers: { 'content-type': MULTIPART_TYPE } };
    await fuzz('pypi multipart: garbage or cut', 'pypi', upload, fc.oneof(garbage, cutShort(valid)), true);
    await fuzz('pypi multipart: flipped or spliced', 'pypi', upload, fc.oneof(flipped(valid), spliced(valid)), false);
    // File names: any text, and names that climb or hide a separator; the digests match the bytes, so only the name is wrong.
    const hostileName = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc
        .tuple(fc.constantFrom('../', '..\\', '/', 'C:', '%2e%2e%2f', 'fuzzed-1.0.0/../', '\u0000', ''), fc.constantFrom('fuzzed-1.0.0-py3-none-any.whl', 'fuzzed-1.0.0.tar.gz', 'fuzzed-1.0.0.zip', 'x.whl'))
        .map(([prefix, name]) => `${prefix}${name}`),
      fc.constantFrom('fuzzed-1.0.0-py3-none-any.whl.exe', 'fuzzed-1.0.0-py3-none-any', 'Fuzzed-1.0.0-py3-none-any.whl\r\nX: y', 'fuzzed-1.0.0-.whl', 'fuzzed-1.0.0-py3-none-any.tar.gz'),
    );
    await fuzz('pypi: wheel and sdist file names', 'pypi', upload, hostileName, true, {
      toBody: (filename) => multipartBody(fields, { filename: filename.replace(/"/g, ''), bytes: wheel.bytes }),
    });
    // Form fields replaced by any text: name, version, filetype, digests.
    const fieldNames = ['name', 'version', 'filetype', 'sha256_digest', 'md5_digest', 'blake2_256_digest', ':action', 'metadata_version', 'protocol_version'];
    await fuzz(
      'pypi: a form field replaced',
      'pypi',
      upload,
      fc.tuple(fc.constantFrom(...fieldNames), fc.string({ maxLength: 64 })),
      false,
      { toBody: ([field, value]) => multipartBody(fields.map(([name, old]) => [name, name === field ? value : old] as [string, string]), wheel) },
    );
    // Boundaries and part headers: a part without its closing boundary, a boundary inside a header, parts without names.
    const malformedParts = fc.constantFrom(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="fuzzed-1.0.0-py3-none-any.whl"\r\n\r\nPK`,
      `--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${BOUNDARY}--\r\n`,
      `--${BOUNDARY}\r\n\r\n\r\n--${BOUNDARY}--\r\n`,
      `--${BOUNDARY}--\r\n`,
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${'n'.repeat(100_000)}"\r\n\r\nx\r\n--${BOUNDARY}--\r\n`,
      `--${BOUNDARY}\r\n${'X-Header: y\r\n'.repeat(5000)}\r\nx\r\n--${BOUNDARY}--\r\n`,
    );
    await fuzz('pypi multipart: malformed parts', 'pypi', upload, malformedParts, true, { runs: 20, toBody: (text) => Buffer.from(text) });
    await fuzz('pypi multipart: a content type without a usable boundary', 'pypi', { ...upload, headers: { 'content-type': 'multipart/form-data' } }, fc.constant(valid), true, { runs: 5 });
  });

  it('composer zips: slip names, lying sizes, garbage', async () => {
    const valid = await makePackageZip('acme/fuzzed', '1.0.0');
    const upload = { method: 'PUT', path: '/packages/acme/fuzzed', headers: { 'content-type': 'application/zip' } };
    await fuzz('composer zip: garbage or cut', 'composer', upload, fc.oneof(garbage, cutShort(valid)), true);
    await fuzz('composer zip: flipped or spliced', 'composer', upload, fc.oneof(flipped(valid), spliced(valid)), false);
    const composerJson = { name: 'composer.json', data: Buffer.from('{"name":"acme/fuzzed","version":"2.0.0"}') };
    // Zip slip: every name climbs, starts at a root or a drive, or hides a backslash.
    const folders = fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 2 }).map((names) => names.map((name) => `${name}/`).join(''));
    const slipName = fc.oneof(
      fc.tuple(folders, fc.constantFrom('../', '..\\', '../../'), fc.stringMatching(/^[a-z0-9.]{1,8}$/)).map((parts) => parts.join('')),
      fc.tuple(fc.constantFrom('/', '\\', 'C:', 'c:\\', 'C:/'), fc.stringMatching(/^[a-z0-9.]{1,8}$/)).map((parts) => parts.join('')),
    );
    await fuzz('composer zip: slip names', 'composer', upload, slipName, true, {
      toBody: (name) => zipBuffer([composerJson, { name, data: Buffer.from('<?php\n') }]),
    });
    // Bombs: small members whose directory entries together declare more than the default 4 GiB unpacked limit.
    await fuzz(
      'composer zip: declared sizes past the unpacked limit',
      'composer',
      upload,
      fc.array(fc.integer({ min: 0x60000000, max: 0xffffffff }), { minLength: 3, maxLength: 8 }),
      true,
      { toBody: (sizes) => zipBuffer([composerJson, ...sizes.map((declaredSize, i) => ({ name: `pad${i}.bin`, data: Buffer.alloc(16), declaredSize }))]) },
    );
  });

  it('OCI manifests and Content-Range', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configDigest = `sha256:${crypto.createHash('sha256').update(config).digest('hex')}`;
    assert.equal((await send('oci', { method: 'POST', path: `/v2/fuzzed/blobs/uploads/?digest=${configDigest}` }, config)).status, 201);
    keys = await r.keys();
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [],
    };
    const put = { method: 'PUT', path: '/v2/fuzzed/manifests/v1', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } };
    const valid = Buffer.from(JSON.stringify(manifest));
    await fuzz('oci manifest: garbage or cut', 'oci', put, fc.oneof(garbage, cutShort(valid)), true);
    await fuzz('oci manifest: any JSON', 'oci', put, fc.jsonValue({ maxDepth: 4 }), true, { toBody: (value) => Buffer.from(JSON.stringify(value)) });
    const fields = [['schemaVersion'], ['mediaType'], ['config'], ['config', 'digest'], ['config', 'size'], ['config', 'mediaType'], ['layers'], ['subject'], ['manifests'], ['annotations']];
    await fuzz(
      'oci manifest: a field replaced by any JSON',
      'oci',
      put,
      fc.tuple(fc.constantFrom(...fields), anyJson),
      false,
      { runs: 120, toBody: ([path, value]) => Buffer.from(JSON.stringify(replaceAt(manifest, path, value))) },
    );
    await fuzz(
      'oci manifest: layers that are not in the repository',
      'oci',
      put,
      fc.array(fc.record({ digest: fc.oneof(fc.stringMatching(/^sha256:[0-9a-f]{64}$/), fc.string({ maxLength: 80 })), size: fc.integer() }), { minLength: 1, maxLength: 5 }),
      true,
      { toBody: (layers) => Buffer.from(JSON.stringify({ ...manifest, layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })) })) },
    );

    // Content-Range on a PATCH: anything that is not the next bytes of this upload is refused.
    const session = await send('oci', { method: 'POST', path: '/v2/fuzzed/blobs/uploads/' }, Buffer.alloc(0));
    assert.equal(session.status, 202, session.text);
    const location = new URL(session.headers.location, 'http://registry.example.com').pathname.replace(/^\/oci/, '');
    keys = await r.keys();
    const chunk = Buffer.from('0123456789');
    const rangeText = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.tuple(fc.integer({ min: -5, max: 1e12 }), fc.integer({ min: -5, max: 1e12 })).map(([start, end]) => `${start}-${end}`),
      fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })).map(([start, end]) => `bytes ${start}-${end}/*`),
      fc.constantFrom('0-', '-9', '9-0', '0-9-9', ' 0-9', '0x0-0x9', '1e1-2e1', '00000000000000000000001-2', '0-9007199254740993'),
    );
    await fuzz(
      'oci Content-Range',
      'oci',
      (range) => ({ method: 'PATCH', path: location, headers: { 'content-range': range, 'content-type': 'application/octet-stream' } }),
      rangeText.filter((range) => !/^\s*(bytes[ =])?0+-0*9(\/(\*|10))?\s*$/.test(range)).map((range) => range.replace(/[\r\n]/g, '')),
      true,
      { runs: 120, toBody: () => chunk },
    );
  });

  it('Maven paths and metadata', async () => {
    // Paths: coordinates of any shape, with the characters Maven layouts never hold.
    const segment = fc.oneof(
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.stringMatching(/^[0-9]{1,2}(\.[0-9]{1,2}){0,2}(-SNAPSHOT)?$/),
      fc.constantFrom('maven-metadata.xml', 'target-1.0.0.jar', 'target-1.0.0.pom.sha1', 'target-1.0.0.jar.md5', '~', '%20', ' ', ';x', '%3b', '*', '$', '.hidden', 'a..b', '-', '_', 'x.y.z'),
    );
    await fuzz('maven: paths', 'maven', (segments) => ({ method: 'PUT', path: `/${segments.join('/')}` }), fc.array(segment, { minLength: 1, maxLength: 7 }), false, {
      runs: 120,
      toBody: () => Buffer.from('maven fuzz body'),
    });
    // Metadata documents: XML pieces, entity expansion (billion laughs), a DOCTYPE with an external entity.
    const piece = fc.constantFrom(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<metadata>',
      '</metadata>',
      '<groupId>com.example</groupId>',
      '<artifactId>target</artifactId>',
      '<versioning><versions><version>1.0.0</version></versions></versioning>',
      '<plugins><plugin><name>x</name><prefix>p</prefix><artifactId>target</artifactId></plugin></plugins>',
      '<plugins><plugin><prefix>../../x</prefix><artifactId>../evil</artifactId></plugin></plugins>',
      '<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
      '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
      '&c;',
      '&x;',
      '<![CDATA[<metadata>]]>',
      '<',
      '>',
      '<a b="',
      '\u0000',
    );
    const document = fc.oneof(fc.array(piece, { minLength: 1, maxLength: 10 }).map((pieces) => pieces.join('')), fc.string({ maxLength: 200 }));
    await fuzz('maven: metadata documents', 'maven', { method: 'PUT', path: '/com/example/target/maven-metadata.xml' }, document, false, {
      runs: 120,
      toBody: (text) => Buffer.from(text),
    });
  });
});
