/**
 * The write column of the access matrix (issue 16) through the real clients: npm publish, skopeo copy,
 * cargo publish, twine upload, mvn deploy, an HTTP PUT for Composer (it has no upload command; curl
 * sends it) and gem push, each once per principal against the registry on a loopback socket. A client
 * succeeds exactly where the matrix allows writing; where it fails, storage is as it was.
 *
 * Each client gets its own HOME and configuration in a temp directory and talks to nothing but us.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { listen, type IRunningServer } from '../../ts/cli/server.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { clientMissing, envWithout, runClient, type IClientRun } from '../helpers/clients.js';
import { makePackageZip } from '../composer/fixtures.js';
import { makeWheel } from '../pypi/fixtures.js';
import { gemspecYaml, makeGem } from '../rubygems/fixtures.js';
import { PROTOCOLS, startAllProtocols, type IAllProtocolsRegistry } from './protocolactions.js';
import { EXPECTED_PRIVATE, PRINCIPALS, principalTokens } from './principals.js';

const CLIENTS: Record<TRegistryProtocol, [command: string, args: string[]]> = {
  npm: ['npm', ['--version']],
  oci: ['skopeo', ['--version']],
  cargo: ['cargo', ['--version']],
  pypi: ['/usr/bin/twine', ['--version']],
  maven: ['mvn', ['--version']],
  composer: ['curl', ['--version']],
  rubygems: ['gem', ['--version']],
};
const missing = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, clientMissing(...CLIENTS[protocol])])) as Record<TRegistryProtocol, boolean>;


/** The parent's environment without anything a client would take configuration or credentials from. */
const cleanEnv = (home: string, extra: NodeJS.ProcessEnv = {}) =>
  envWithout(/^(npm_|NODE_AUTH_TOKEN|NPM_TOKEN|GEM_|BUNDLE_|RUBY|TWINE_|CARGO_(?!HOME$)|REGISTRY_AUTH_FILE|DOCKER_)/i, { HOME: home, NO_COLOR: '1', ...extra });

describe('access matrix, write column, through the real clients', () => {
  let r: IAllProtocolsRegistry;
  let server: IRunningServer;
  let root: string;
  let host: string;
  let base: string;

  before(async () => {
    r = await startAllProtocols();
    server = await listen(r.registry, '127.0.0.1', 0);
    host = `127.0.0.1:${server.port}`;
    base = `http://${host}`;
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-access-clients-'));
  });
  after(async () => {
    await server?.close();
    await r?.close();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  /** A fresh directory for one client run. */
  const workDir = async (name: string) => {
    const dir = path.join(root, name);
    await fsp.mkdir(dir, { recursive: true });
    return dir;
  };

  /** Publish version `version` of the target package with the protocol's client; token null: no credentials. */
  const publishers: Record<TRegistryProtocol, (token: string | null, version: string) => Promise<IClientRun>> = {
    async npm(token, version) {
      const dir = await workDir(`npm-${version}`);
      const npmrc = [`registry=${base}/npm/`, 'update-notifier=false', 'fund=false', ...(token ? [`//${host}/npm/:_authToken=${token}`] : [])];
      await fsp.writeFile(path.join(dir, '.npmrc'), `${npmrc.join('\n')}\n`);
      await fsp.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'target', version, description: 'access matrix', license: 'MIT' }));
      await fsp.writeFile(path.join(dir, 'index.js'), 'module.exports = 1;\n');
      return runClient('npm', ['publish', `--registry=${base}/npm/`], {
        cwd: dir,
        env: cleanEnv(dir, { npm_config_userconfig: path.join(dir, '.npmrc'), npm_config_globalconfig: path.join(dir, 'global-npmrc'), npm_config_cache: path.join(root, 'npm-cache'), npm_config_loglevel: 'warn' }),
      });
    },

    async oci(token, version) {
      const dir = await workDir(`oci-${version}`);
      await fsp.writeFile(path.join(dir, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      await fsp.writeFile(path.join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
      await fsp.mkdir(path.join(dir, 'registries.d'));
      await writeOciLayout(path.join(dir, 'layout'), version);
      const env = cleanEnv(dir, { XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: path.join(dir, '.config'), CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'), REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'), TMPDIR: dir });
      // Basic credentials (a token as the password): skopeo then takes the token flow, as docker does.
      const credentials = token ? ['--dest-creds', `access:${token}`] : ['--dest-no-creds'];
      return runClient('skopeo', ['--policy', path.join(dir, 'policy.json'), '--registries.d', path.join(dir, 'registries.d'), 'copy', '--dest-tls-verify=false', ...credentials, `oci:${path.join(dir, 'layout')}:v`, `docker://${host}/target:v${version}`], { env });
    },

    async cargo(token, version) {
      const dir = await workDir(`cargo-${version}`);
      const home = path.join(dir, 'cargo-home');
      await fsp.mkdir(home);
      await fsp.writeFile(
        path.join(home, 'config.toml'),
        `[registries.smartreg]\nindex = "sparse+${base}/cargo/"\n\n[registry]\nglobal-credential-providers = ["cargo:token"]\n\n[net]\nretry = 0\n`,
      );
      if (token) await fsp.writeFile(path.join(home, 'credentials.toml'), `[registries.smartreg]\ntoken = "${token}"\n`);
      const crate = path.join(dir, 'crate');
      await fsp.mkdir(path.join(crate, 'src'), { recursive: true });
      await fsp.writeFile(path.join(crate, 'Cargo.toml'), `[package]\nname = "target"\nversion = "${version}"\nedition = "2021"\ndescription = "access matrix"\nlicense = "MIT"\n`);
      await fsp.writeFile(path.join(crate, 'src', 'lib.rs'), 'pub fn one() -> u32 { 1 }\n');
      return runClient('cargo', ['publish', '--registry', 'smartreg', '--no-verify', '--allow-dirty'], { cwd: crate, env: cleanEnv(process.env.HOME ?? dir, { CARGO_HOME: home, CARGO_TERM_COLOR: 'never', RUSTUP_HOME: process.env.RUSTUP_HOME ?? path.join(process.env.HOME ?? '', '.rustup') }) });
    },

    async pypi(token, version) {
      const dir = await workDir(`pypi-${version}`);
      const wheel = await makeWheel('target', version);
      await fsp.writeFile(path.join(dir, wheel.filename), wheel.bytes);
      const credentials = token ? ['-u', '__token__', '-p', token] : [];
      return runClient('/usr/bin/twine', ['upload', '--non-interactive', '--disable-progress-bar', '--repository-url', `${base}/pypi/`, ...credentials, path.join(dir, wheel.filename)], { env: cleanEnv(dir) });
    },

    async maven(token, version) {
      const dir = await workDir(`maven-${version}`);
      const server = token ? `<servers><server><id>smartreg</id><username>access</username><password>${token}</password></server></servers>` : '';
      await fsp.writeFile(
        path.join(dir, 'settings.xml'),
        `<?xml version="1.0" encoding="UTF-8"?>\n<settings><localRepository>${path.join(dir, 'm2')}</localRepository>${server}` +
          `<mirrors><mirror><id>debian</id><mirrorOf>*,!smartreg</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors></settings>\n`,
      );
      await fsp.writeFile(path.join(dir, 'target.jar'), Buffer.from(`access matrix ${version}`));
      return runClient(
        'mvn',
        [
          '-B', '-s', path.join(dir, 'settings.xml'), '-gs', path.join(dir, 'settings.xml'),
          'org.apache.maven.plugins:maven-deploy-plugin:3.0.0:deploy-file',
          `-Durl=${base}/maven/`, '-DrepositoryId=smartreg', `-Dfile=${path.join(dir, 'target.jar')}`,
          '-DgroupId=com.example', '-DartifactId=target', `-Dversion=${version}`, '-Dpackaging=jar', '-DgeneratePom=true',
        ],
        { cwd: dir, env: cleanEnv(dir, { MAVEN_OPTS: '-Xmx256m' }) },
      );
    },

    async composer(token, version) {
      const dir = await workDir(`composer-${version}`);
      await fsp.writeFile(path.join(dir, 'package.zip'), await makePackageZip('acme/target', version));
      const credentials = token ? ['-H', `Authorization: Bearer ${token}`] : [];
      return runClient('curl', ['--silent', '--show-error', '--fail', '-X', 'PUT', '-H', 'Content-Type: application/zip', ...credentials, '--data-binary', `@${path.join(dir, 'package.zip')}`, `${base}/composer/packages/acme/target`], { env: cleanEnv(dir) });
    },

    async rubygems(token, version) {
      const dir = await workDir(`rubygems-${version}`);
      const file = path.join(dir, `target-${version}.gem`);
      await fsp.writeFile(file, await makeGem(gemspecYaml('target', version)));
      const env = cleanEnv(dir, { GEMRC: path.join(dir, '.gemrc'), GEM_HOME: path.join(dir, 'gems'), ...(token ? { GEM_HOST_API_KEY: token } : {}) });
      return runClient('gem', ['push', file, '--host', `${base}/rubygems`], { env });
    },
  };

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: the client publishes exactly where the matrix allows writing`, { skip: missing[protocol] }, async () => {
      const tokens = await principalTokens(r, protocol);
      const outcomes: Record<string, 'ok' | 'refused'> = {};
      const expected: Record<string, 'ok' | 'refused'> = {};
      for (const [index, principal] of PRINCIPALS.entries()) {
        const keysBefore = await r.keys();
        const result = await publishers[protocol](tokens[principal], `2.0.${index}`);
        outcomes[principal] = result.code === 0 ? 'ok' : 'refused';
        expected[principal] = EXPECTED_PRIVATE[principal].write === 'ok' ? 'ok' : 'refused';
        if (outcomes[principal] !== expected[principal]) console.error(`${protocol} ${principal}: exit ${result.code}\n${result.output}`);
        if (result.code !== 0) assert.deepEqual(await r.keys(), keysBefore, `${protocol} ${principal}: a refused publish stores nothing`);
        else assert.notDeepEqual(await r.keys(), keysBefore, `${protocol} ${principal}: the client says it published, so storage holds the version`);
      }
      assert.deepEqual(outcomes, expected);
    });
  }
});

/** An OCI image layout with one small image tagged `v` (a config and one gzipped layer). */
async function writeOciLayout(dir: string, version: string): Promise<void> {
  await fsp.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const blob = async (bytes: Buffer) => {
    const hex = crypto.createHash('sha256').update(bytes).digest('hex');
    await fsp.writeFile(path.join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layerTar = Buffer.alloc(1024);
  const layer = await blob(zlib.gzipSync(layerTar));
  const diffId = `sha256:${crypto.createHash('sha256').update(layerTar).digest('hex')}`;
  const config = await blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: { Labels: { version } } })));
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const manifest = await blob(manifestBytes);
  await fsp.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v' } }] }),
  );
}
