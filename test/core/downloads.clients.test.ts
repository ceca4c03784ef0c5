/**
 * Real clients follow the download redirects (issue 19): `smartregistry serve --redirect-downloads` on Ceph
 * RGW, every request through a recording proxy that counts the body bytes the registry sent. skopeo, npm,
 * pnpm, mvn, pip, cargo, composer, gem and bundler fetch their artifacts from the bucket, get exactly the
 * published bytes (their own digest checks pass), and the registry sends no byte of any artifact.
 *
 * The bucket's public URL names `localhost` while the clients reach the registry at 127.0.0.1: clients drop
 * their registry credentials on a redirect to another host name, but npm keeps its token for the same host
 * on another port, and Ceph refuses a presigned URL that comes with an Authorization header (400).
 * No client reaches the internet: each has its own home, configuration and cache in a temp directory.
 * pnpm is not a Debian package: the test installs a pinned version from the npm registry into its temp directory
 * (a devDependency would put a second package manager into every checkout for this one test).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../helpers/ceph.js';
import { clientMissing, envWithout, runClient } from '../helpers/clients.js';
import { startRecordingProxy, type IProxiedAnswer, type IRecordingProxy } from '../helpers/recordingproxy.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';
import { frame, makeCrate, publishMetadata } from '../cargo/fixtures.js';
import { makeWheel, multipartBody, uploadFields, MULTIPART_TYPE } from '../pypi/fixtures.js';
import { zipBuffer } from './archive/zipwriter.js';
import { composerMissing, runComposer } from '../composer/client.js';
import { makePackageZip, sha1 } from '../composer/fixtures.js';
import { rubyEnv } from '../rubygems/client.js';

const sha256Hex = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

const skopeoMissing = clientMissing('skopeo', ['--version']);
const npmMissing = clientMissing('npm', ['--version']);
const pipMissing = clientMissing('python3', ['-m', 'pip', '--version']);
const cargoMissing = clientMissing('cargo', ['--version']);
const mvnMissing = clientMissing('mvn', ['--version']);
const gemMissing = clientMissing('gem', ['--version']) || clientMissing('bundle', ['--version']);
/** The pnpm the test installs with npm (pinned: a new major may change how it follows redirects). */
const PNPM_VERSION = '12.23.0';
/** Plugin versions Debian ships in /usr/share/maven-repo, where a private settings.xml sends every other repository. */
const MAVEN_PLUGINS = { resources: '3.3.0', compiler: '3.10.1' };

/** An OCI image layout with one image of `layers` (gzip streams: skopeo would compress anything else on push). */
async function writeImageLayout(dir: string, tag: string, layers: Buffer[]): Promise<{ blobs: string[] }> {
  await fsp.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const writeBlob = async (bytes: Buffer) => {
    await fsp.writeFile(path.join(dir, 'blobs', 'sha256', sha256Hex(bytes)), bytes);
    return { digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length };
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDescriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', ...(await writeBlob(config)) };
  const layerDescriptors = [];
  for (const layer of layers) layerDescriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...(await writeBlob(layer)) });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: layerDescriptors }));
  const manifestDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...(await writeBlob(manifest)), annotations: { 'org.opencontainers.image.ref.name': tag } };
  await fsp.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifestDescriptor] }));
  return { blobs: [configDescriptor.digest, ...layerDescriptors.map((layer) => layer.digest)] };
}

describe('downloads: real clients follow the redirects to Ceph RGW', { skip: skipWithoutCeph('the download redirect client tests') }, () => {
  let ceph: ICephS3;
  let server: IServeInstance;
  let proxy: IRecordingProxy;
  let root: string;
  let host: string;

  const must = async (command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
    const result = await runClient(command, args, { cwd: options.cwd ?? root, env: options.env });
    assert.equal(result.code, 0, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result;
  };

  /** What the registry answered from `from` on, for requests whose path matches. */
  const answersSince = (from: number, pathPattern: RegExp): IProxiedAnswer[] => proxy.answers.slice(from).filter((answer) => pathPattern.test(answer.path));
  /** The artifact GETs were all redirected to the public origin and carried no body; everything else stayed small. */
  const assertRedirectedOnly = (from: number, artifactPath: RegExp, expectedArtifacts: number) => {
    // mvn sends its credentials only once challenged: its first GET of each file is a 401 without artifact bytes.
    const artifactGets = answersSince(from, artifactPath).filter((answer) => answer.method === 'GET' && answer.status !== 401);
    assert.equal(artifactGets.length, expectedArtifacts, `artifact GETs: ${JSON.stringify(artifactGets)}`);
    for (const answer of artifactGets) {
      assert.equal(answer.status, 307, answer.path);
      assert.equal(new URL(answer.location!).host, `localhost:${ceph.descriptor.port}`, answer.path);
      assert.equal(answer.bodyBytes, 0, `${answer.path}: the registry sent no artifact bytes`);
    }
  };
  const bytesSentSince = (from: number) => proxy.answers.slice(from).reduce((sum, answer) => sum + answer.bodyBytes, 0);

  before(async () => {
    ceph = await startCephS3();
    const { endpoint, port, accessKey, accessSecret } = ceph.descriptor;
    server = await startServe({
      args: [
        '--s3-endpoint', endpoint, '--s3-port', String(port), '--s3-bucket', ceph.bucketName,
        '--s3-access-key', accessKey, '--s3-secret-key', accessSecret,
        '--redirect-downloads', '--downloads-public-url', `http://localhost:${port}`,
      ],
    });
    proxy = await startRecordingProxy(server.url);
    host = new URL(proxy.url).host;
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-downloads-clients-'));
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
    await ceph?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  it('skopeo copies an image out of the registry with every blob from the bucket', { skip: skopeoMissing }, async () => {
    const work = path.join(root, 'skopeo');
    const config = path.join(work, 'config');
    await fsp.mkdir(path.join(config, 'registries.d'), { recursive: true });
    await fsp.mkdir(path.join(work, 'tmp'));
    await fsp.writeFile(path.join(config, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await fsp.writeFile(path.join(config, 'registries.conf'), 'unqualified-search-registries = []\n');
    await fsp.writeFile(path.join(config, 'containers.conf'), '');
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      CONTAINERS_REGISTRIES_CONF: path.join(config, 'registries.conf'),
      CONTAINERS_CONF: path.join(config, 'containers.conf'),
      REGISTRY_AUTH_FILE: path.join(config, 'auth.json'),
      TMPDIR: path.join(work, 'tmp'),
    };
    const skopeo = (args: string[]) =>
      must('skopeo', ['--policy', path.join(config, 'policy.json'), '--registries.d', path.join(config, 'registries.d'), '--tmpdir', path.join(work, 'tmp'), ...args], { env });
    const source = path.join(work, 'source');
    const { blobs } = await writeImageLayout(source, 'v1', [zlib.gzipSync(crypto.randomBytes(8 * 1024 * 1024), { level: 1 }), zlib.gzipSync(crypto.randomBytes(64 * 1024), { level: 1 })]);
    const creds = `admin:${server.adminPassword}`;
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${source}:v1`, `docker://${host}/redirect/app:v1`]);

    const from = proxy.answers.length;
    const pulled = path.join(work, 'pulled');
    await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/redirect/app:v1`, `oci:${pulled}:v1`]);
    for (const digest of blobs) {
      const hex = digest.slice('sha256:'.length);
      assert.equal(sha256Hex(await fsp.readFile(path.join(pulled, 'blobs', 'sha256', hex))), hex, `${digest} arrived intact`);
    }
    assertRedirectedOnly(from, /\/blobs\/sha256:/, blobs.length);
    assert.ok(bytesSentSince(from) < 16 * 1024, `the registry sent ${bytesSentSince(from)} bytes for an 8 MiB image`);
  });

  /** An npm environment of its own under `work`, with the registry's token for the proxy's host. */
  const npmEnv = async (work: string) => {
    const home = path.join(work, 'home');
    await fsp.mkdir(home, { recursive: true });
    await fsp.writeFile(path.join(home, '.npmrc'), `//${host}/npm/:_authToken=${server.tokens.npm}\n`);
    return envWithout(/^npm_|^NODE_AUTH_TOKEN$|^NPM_TOKEN$|^PNPM/i, {
      HOME: home,
      npm_config_userconfig: path.join(home, '.npmrc'),
      npm_config_globalconfig: path.join(home, 'global-npmrc'),
      npm_config_cache: path.join(work, 'cache'),
      npm_config_registry: `${proxy.url}/npm/`,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    });
  };
  /** Publishes `name@1.0.0` holding `data.bin` with npm, and makes a project under `work` that depends on it. */
  const publishAndConsumer = async (work: string, env: NodeJS.ProcessEnv, name: string, data: Buffer) => {
    const pkg = path.join(work, 'pkg');
    await fsp.mkdir(pkg, { recursive: true });
    await fsp.writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', files: ['data.bin'] }));
    await fsp.writeFile(path.join(pkg, 'data.bin'), data);
    await must('npm', ['publish', `--registry=${proxy.url}/npm/`], { cwd: pkg, env });
    const consumer = path.join(work, 'consumer');
    await fsp.mkdir(consumer);
    await fsp.writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', dependencies: { [name]: '1.0.0' } }));
    return consumer;
  };

  it('npm installs a published tarball from the bucket', { skip: npmMissing }, async () => {
    const work = path.join(root, 'npm');
    const env = await npmEnv(work);
    const data = crypto.randomBytes(1024 * 1024);
    const consumer = await publishAndConsumer(work, env, 'redirect-demo', data);

    const from = proxy.answers.length;
    // A cache of its own: publishing left the tarball in the first one.
    await must('npm', ['install', `--registry=${proxy.url}/npm/`], { cwd: consumer, env: { ...env, npm_config_cache: path.join(work, 'install-cache') } });
    assert.ok((await fsp.readFile(path.join(consumer, 'node_modules', 'redirect-demo', 'data.bin'))).equals(data));
    assertRedirectedOnly(from, /\.tgz$/, 1);
    assert.ok(bytesSentSince(from) < 16 * 1024, `the registry sent ${bytesSentSince(from)} bytes for a 1 MiB tarball`);
  });

  it('pnpm installs a published tarball from the bucket, checked against the packument integrity', { skip: npmMissing, timeout: 300_000 }, async () => {
    const work = path.join(root, 'pnpm');
    const env = await npmEnv(work);
    const tool = path.join(work, 'tool');
    await fsp.mkdir(tool, { recursive: true });
    // From the npm registry itself, not ours: the proxy records only what the consumer's install asks.
    await must('npm', ['install', '--prefix', tool, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `pnpm@${PNPM_VERSION}`], {
      env: { ...process.env, npm_config_cache: path.join(work, 'tool-cache') },
    });
    const pnpm = path.join(tool, 'node_modules', '.bin', 'pnpm');
    assert.equal((await must(pnpm, ['--version'], { env })).stdout.trim(), PNPM_VERSION);
    const data = crypto.randomBytes(1024 * 1024);
    const consumer = await publishAndConsumer(work, env, 'redirect-pnpm', data);

    const from = proxy.answers.length;
    await must(pnpm, ['install', `--registry=${proxy.url}/npm/`, '--store-dir', path.join(work, 'store'), '--cache-dir', path.join(work, 'pnpm-cache'), '--config.manage-package-manager-versions=false'], { cwd: consumer, env });
    assert.ok((await fsp.readFile(path.join(consumer, 'node_modules', 'redirect-pnpm', 'data.bin'))).equals(data));
    assertRedirectedOnly(from, /\.tgz$/, 1);
    assert.ok(bytesSentSince(from) < 16 * 1024, `the registry sent ${bytesSentSince(from)} bytes for a 1 MiB tarball`);
  });

  it('pip downloads a wheel from the bucket, checked against the index hash', { skip: pipMissing }, async () => {
    const work = path.join(root, 'pip');
    const wheel = await makeWheel('redirect-demo', '1.0.0', { extraEntries: [{ name: 'redirect_demo/data.bin', data: crypto.randomBytes(512 * 1024) }] });
    const form = multipartBody(await uploadFields('redirect-demo', '1.0.0', wheel), wheel);
    const uploaded = await fetch(`${server.url}/pypi/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`__token__:${server.tokens.pypi}`).toString('base64')}`, 'content-type': MULTIPART_TYPE },
      body: new Uint8Array(form),
    });
    assert.equal(uploaded.status, 200, await uploaded.text());

    const from = proxy.answers.length;
    const env = envWithout(/^(PIP_|PYTHON|VIRTUAL_ENV)/i, {
      HOME: work,
      PIP_CONFIG_FILE: os.devNull,
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1',
      PIP_NO_CACHE_DIR: '1',
      PYTHONNOUSERSITE: '1',
    });
    const indexUrl = `${proxy.url.replace('http://', `http://__token__:${server.tokens.pypi}@`)}/pypi/simple/`;
    const into = path.join(work, 'downloads');
    await must('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary', ':all:', '-d', into, '--index-url', indexUrl, 'redirect-demo==1.0.0'], { env });
    assert.ok((await fsp.readFile(path.join(into, wheel.filename))).equals(wheel.bytes));
    assertRedirectedOnly(from, /\.whl$/, 1);
  });

  it('cargo fetches a crate from the bucket, checked against the index checksum', { skip: cargoMissing }, async () => {
    const work = path.join(root, 'cargo');
    const crate = await makeCrate('redirect_demo', '0.1.0', { extraBytes: 256 * 1024 });
    const published = await fetch(`${server.url}/cargo/api/v1/crates/new`, {
      method: 'PUT',
      headers: { authorization: server.tokens.cargo },
      body: new Uint8Array(frame(JSON.stringify(publishMetadata('redirect_demo', '0.1.0')), crate)),
    });
    assert.equal(published.status, 200, await published.text());

    const home = path.join(work, 'home');
    await fsp.mkdir(home, { recursive: true });
    await fsp.writeFile(
      path.join(home, 'config.toml'),
      [
        '[registries.smartreg]',
        `index = "sparse+${proxy.url}/cargo/"`,
        '[registry]',
        'global-credential-providers = ["cargo:token"]',
        '[source.crates-io]',
        'replace-with = "smartreg"',
        '[net]',
        'retry = 0',
        '',
      ].join('\n'),
    );
    await fsp.writeFile(path.join(home, 'credentials.toml'), `[registries.smartreg]\ntoken = "${server.tokens.cargo}"\n`);
    const consumer = path.join(work, 'consumer');
    await fsp.mkdir(path.join(consumer, 'src'), { recursive: true });
    await fsp.writeFile(path.join(consumer, 'Cargo.toml'), '[package]\nname = "consumer"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nredirect_demo = "0.1"\n');
    await fsp.writeFile(path.join(consumer, 'src', 'main.rs'), 'fn main() {}\n');
    const env = envWithout(/^CARGO_/, { CARGO_HOME: home, CARGO_TERM_COLOR: 'never', CARGO_NET_OFFLINE: 'false', CARGO_HTTP_TIMEOUT: '60' });

    const from = proxy.answers.length;
    await must('cargo', ['fetch'], { cwd: consumer, env });
    const cached = await fsp.readdir(path.join(home, 'registry', 'cache'));
    const file = path.join(home, 'registry', 'cache', cached[0]!, 'redirect_demo-0.1.0.crate');
    assert.equal(sha256Hex(await fsp.readFile(file)), sha256Hex(crate));
    assertRedirectedOnly(from, /\/download$/, 1);
  });

  it('mvn resolves a jar from the bucket, checked against the registry\'s checksums', { skip: mvnMissing, timeout: 300_000 }, async () => {
    const work = path.join(root, 'mvn');
    await fsp.mkdir(work, { recursive: true });
    const repositoryUrl = `${proxy.url}/maven/`;
    const jar = await zipBuffer([
      { name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\r\n\r\n') },
      { name: 'data.bin', data: crypto.randomBytes(256 * 1024) },
    ]);
    const libPom = '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>com.example.redirect</groupId><artifactId>lib</artifactId><version>1.0</version></project>';
    for (const [file, bytes] of [['lib-1.0.pom', Buffer.from(libPom)], ['lib-1.0.jar', jar]] as const) {
      const put = await fetch(`${server.url}/maven/com/example/redirect/lib/1.0/${file}`, { method: 'PUT', headers: { authorization: `Bearer ${server.tokens.maven}` }, body: new Uint8Array(bytes) });
      assert.equal(put.status, 201, await put.text());
    }
    const settings = path.join(work, 'settings.xml');
    await fsp.writeFile(
      settings,
      `<settings><localRepository>${path.join(work, 'm2')}</localRepository>
  <servers><server><id>smartregistry</id><username>admin</username><password>${server.tokens.maven}</password></server></servers>
  <mirrors><mirror><id>debian</id><mirrorOf>*,!smartregistry</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors>
  <profiles><profile><id>smartregistry</id><repositories><repository><id>smartregistry</id><url>${repositoryUrl}</url><releases><checksumPolicy>fail</checksumPolicy></releases></repository></repositories></profile></profiles>
  <activeProfiles><activeProfile>smartregistry</activeProfile></activeProfiles></settings>`,
    );
    const plugins = Object.entries(MAVEN_PLUGINS)
      .map(([name, version]) => `<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-${name}-plugin</artifactId><version>${version}</version></plugin>`)
      .join('');
    const consumer = path.join(work, 'consumer');
    await fsp.mkdir(path.join(consumer, 'src', 'main', 'java'), { recursive: true });
    await fsp.writeFile(
      path.join(consumer, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>com.example.redirect</groupId><artifactId>consumer</artifactId><version>1.0</version>
  <properties><maven.compiler.source>11</maven.compiler.source><maven.compiler.target>11</maven.compiler.target><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies><dependency><groupId>com.example.redirect</groupId><artifactId>lib</artifactId><version>1.0</version></dependency></dependencies>
  <build><plugins>${plugins}</plugins></build></project>`,
    );
    await fsp.writeFile(path.join(consumer, 'src', 'main', 'java', 'Consumer.java'), 'public class Consumer {}\n');

    const from = proxy.answers.length;
    await must('mvn', ['-B', '-s', settings, '-gs', settings, 'compile'], { cwd: consumer, env: { ...process.env, HOME: work, MAVEN_OPTS: '-Xmx256m' } });
    assert.ok((await fsp.readFile(path.join(work, 'm2', 'com', 'example', 'redirect', 'lib', '1.0', 'lib-1.0.jar'))).equals(jar));
    assertRedirectedOnly(from, /\.(jar|pom)$/, 2);
  });

  it('composer installs a dist zip from the bucket, checked against its shasum', { skip: composerMissing(), timeout: 300_000 }, async () => {
    const work = path.join(root, 'composer');
    const name = 'acme/redirect';
    const data = crypto.randomBytes(256 * 1024);
    const zip = await makePackageZip(name, '1.0.0', { extraEntries: [{ name: 'acme-redirect-1.0.0/data.bin', data }] });
    const uploaded = await fetch(`${server.url}/composer/packages/${name}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.tokens.composer}`, 'content-type': 'application/zip' },
      body: new Uint8Array(zip),
    });
    assert.equal(uploaded.status, 201, await uploaded.text());
    const home = path.join(work, 'home');
    await fsp.mkdir(home, { recursive: true });
    await fsp.writeFile(path.join(home, 'auth.json'), JSON.stringify({ 'http-basic': { [host]: { username: 'token', password: server.tokens.composer } } }));
    const app = path.join(work, 'app');
    await fsp.mkdir(app);
    await fsp.writeFile(
      path.join(app, 'composer.json'),
      JSON.stringify({ name: 'test/app', type: 'project', repositories: [{ type: 'composer', url: `${proxy.url}/composer` }, { packagist: false }], config: { 'secure-http': false } }),
    );

    const from = proxy.answers.length;
    const required = await runComposer(['require', `${name}:1.0.0`, '--no-audit', '--no-progress'], home, app);
    assert.equal(required.code, 0, `composer require\n${required.stdout}\n${required.stderr}`);
    const installed = JSON.parse(await fsp.readFile(path.join(app, 'vendor', 'composer', 'installed.json'), 'utf8')) as { packages: { name: string; dist: { shasum: string } }[] };
    assert.equal(installed.packages.find((pkg) => pkg.name === name)?.dist.shasum, sha1(zip));
    assert.ok((await fsp.readFile(path.join(app, 'vendor', name, 'data.bin'))).equals(data));
    assertRedirectedOnly(from, /\/dists\/.*\.zip$/, 1);
  });

  it('gem install and bundle install fetch a gem from the bucket, bundler checked against the compact index', { skip: gemMissing, timeout: 300_000 }, async () => {
    const work = path.join(root, 'gem');
    const src = path.join(work, 'src');
    await fsp.mkdir(path.join(src, 'lib'), { recursive: true });
    const data = crypto.randomBytes(256 * 1024);
    await fsp.writeFile(path.join(src, 'lib', 'data.bin'), data);
    await fsp.writeFile(
      path.join(src, 'redirect-demo.gemspec'),
      "Gem::Specification.new do |s|\n  s.name = 'redirect-demo'\n  s.version = '1.0.0'\n  s.summary = 'redirect test'\n  s.authors = ['smartregistry']\n  s.license = 'MIT'\n  s.files = ['lib/data.bin']\nend\n",
    );
    const home = path.join(work, 'home');
    await fsp.mkdir(home, { recursive: true });
    const sourceUrl = `${proxy.url}/rubygems`;
    const authedSource = `${proxy.url.replace('http://', `http://admin:${server.tokens.rubygems}@`)}/rubygems/`;
    await fsp.writeFile(path.join(home, '.gemrc'), `---\n:sources:\n- ${authedSource}\n:update_sources: false\n`);
    // Bundler's credentials are for the proxy's host name.
    const env = (label: string) =>
      rubyEnv({ home, dir: work, label, apiKey: server.tokens.rubygems, bundleCredentials: `admin:${server.tokens.rubygems}` });
    await must('gem', ['build', 'redirect-demo.gemspec'], { cwd: src, env: env('build') });
    const gemFile = await fsp.readFile(path.join(src, 'redirect-demo-1.0.0.gem'));
    await must('gem', ['push', path.join(src, 'redirect-demo-1.0.0.gem'), '--host', sourceUrl], { env: env('push') });

    let from = proxy.answers.length;
    await must('gem', ['install', 'redirect-demo', '-v', '1.0.0', '--clear-sources', '--source', authedSource, '--no-document'], { env: env('install') });
    assert.ok((await fsp.readFile(path.join(work, 'gems-install', 'gems', 'redirect-demo-1.0.0', 'lib', 'data.bin'))).equals(data));
    assert.ok((await fsp.readFile(path.join(work, 'gems-install', 'cache', 'redirect-demo-1.0.0.gem'))).equals(gemFile));
    assertRedirectedOnly(from, /\.gem$/, 1);

    const app = path.join(work, 'app');
    await fsp.mkdir(app);
    await fsp.writeFile(path.join(app, 'Gemfile'), `source ${JSON.stringify(sourceUrl)}\ngem 'redirect-demo', '1.0.0'\n`);
    from = proxy.answers.length;
    await must('bundle', ['install'], { cwd: app, env: env('bundle') });
    const installed = await fsp.readdir(path.join(work, 'bundle-path-bundle'), { recursive: true });
    const dataFile = installed.find((entry) => entry.endsWith(path.join('redirect-demo-1.0.0', 'lib', 'data.bin')));
    assert.ok(dataFile, `bundle installed redirect-demo: ${installed.join(', ')}`);
    assert.ok((await fsp.readFile(path.join(work, 'bundle-path-bundle', dataFile))).equals(data));
    assertRedirectedOnly(from, /\.gem$/, 1);
  });
});
