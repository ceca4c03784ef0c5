/**
 * The Maven proxy: maven-metadata.xml (revalidated), checksum files and artifacts (checked against the
 * upstream's .sha1 while they stream into the cache), the cache served with the upstream stopped (a
 * plain-text 502 for misses), and a real `mvn compile` resolving a dependency only the upstream has.
 * The resilience cases every protocol shares are in resilience.protocols.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing, runClient } from '../helpers/clients.js';
import { sendRequest } from '../helpers/requests.js';
import { startHttp } from '../adapters/helpers.http.js';
import { zipBuffer } from '../core/archive/zipwriter.js';
import { publishMaven } from './protocols.fixtures.js';
import { ADMIN } from './oci.fixtures.js';
import { oneUpstream, startFaultServer, startProxyRegistry, startUpstreamRegistry, type IUpstreamRegistry } from './helpers.upstream.js';

const mvnMissing = clientMissing('mvn', ['--version']);
const sha1 = (bytes: Buffer) => crypto.createHash('sha1').update(bytes).digest('hex');
const DIR = 'com/example/mirror/lib/1.0.0';

describe('maven upstream proxy', () => {
  let upstream: IUpstreamRegistry;
  let jar: Buffer;

  before(async () => {
    upstream = await startUpstreamRegistry();
    jar = (await publishMaven(upstream.registry, 'com.example.mirror:lib', '1.0.0')).bytes;
  });
  after(() => upstream.stop());

  it('serves metadata, checksums and files from the upstream, files checked against its .sha1, then from the cache', async () => {
    const proxy = await startProxyRegistry(oneUpstream('maven', `${upstream.url}/maven`));
    try {
      const metadata = await sendRequest(proxy.registry, 'GET', '/maven/com/example/mirror/lib/maven-metadata.xml');
      assert.equal(metadata.status, 200, metadata.text);
      assert.match(metadata.text, /<version>1\.0\.0<\/version>/);
      assert.equal(metadata.headers['x-cache'], 'MISS');

      const got = await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0.jar`);
      assert.equal(got.status, 200, got.text);
      assert.ok(got.bytes.equals(jar));
      assert.equal(got.headers['x-cache'], 'MISS');
      assert.equal(upstream.count(`/maven/${DIR}/lib-1.0.0.jar.sha1`), 1, 'the checksum was read first');
      const checksum = await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0.jar.sha1`);
      assert.equal(checksum.text.trim(), sha1(jar));
      assert.equal(checksum.headers['x-cache'], 'HIT');
      const again = await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0.jar`);
      assert.equal(again.headers['x-cache'], 'HIT');
      assert.equal(upstream.count(`/maven/${DIR}/lib-1.0.0.jar`), 1);
      assert.equal((await proxy.keys('upstream/maven/up/artifacts/')).length, 2, 'the jar and its record');
      assert.equal((await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0-sources.jar`)).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('a local artifact wins over the upstream one: its files and its metadata', async () => {
    const proxy = await startProxyRegistry(oneUpstream('maven', `${upstream.url}/maven`));
    try {
      const local = await zipBuffer([{ name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\r\nCreated-By: the proxy\r\n\r\n'), method: 'deflate' }]);
      const put = await sendRequest(proxy.registry, 'PUT', `/maven/${DIR}/lib-1.0.0.jar`, { headers: ADMIN, body: local });
      assert.ok(put.status === 201 || put.status === 200, put.text);
      const got = await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0.jar`);
      assert.ok(got.bytes.equals(local));
      assert.ok(!got.bytes.equals(jar));
      assert.equal(got.headers['x-cache'], undefined, 'the local file, not the cache');
      const checksum = await sendRequest(proxy.registry, 'GET', `/maven/${DIR}/lib-1.0.0.jar.sha1`);
      assert.equal(checksum.text.trim(), sha1(local));
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a file that does not match the upstream .sha1 and caches nothing', async () => {
    const lying = await startFaultServer((req) =>
      req.url!.endsWith('.sha1') ? { kind: 'reply', status: 200, body: `${'0'.repeat(40)}\n` } : { kind: 'reply', status: 200, body: 'tampered' },
    );
    const proxy = await startProxyRegistry(oneUpstream('maven', lying.url));
    try {
      const response = await proxy.registry.handleRequest({ method: 'GET', path: `/maven/${DIR}/lib-1.0.0.jar`, headers: {}, query: {} });
      await assert.rejects(async () => {
        for await (const _ of response.body!) {
          // read until the stream fails
        }
      });
      await proxy.registry.getRegistry('maven')!.getUpstreamProxy().destroy();
      assert.deepEqual(await proxy.keys('upstream/maven/up/artifacts/'), []);
    } finally {
      await proxy.stop();
      await lying.close();
    }
  });

  it('serves the cache with the upstream stopped; a miss is a plain-text 502', async () => {
    const own = await startUpstreamRegistry();
    const bytes = (await publishMaven(own.registry, 'com.example.offline:tool', '2.0')).bytes;
    const proxy = await startProxyRegistry(oneUpstream('maven', `${own.url}/maven/`, { cache: { enabled: true, metadataTtl: 0, staleWhileRevalidate: false } }));
    try {
      assert.equal((await sendRequest(proxy.registry, 'GET', '/maven/com/example/offline/tool/maven-metadata.xml')).status, 200);
      assert.equal((await sendRequest(proxy.registry, 'GET', '/maven/com/example/offline/tool/2.0/tool-2.0.jar')).status, 200);
      await own.stop();
      const metadata = await sendRequest(proxy.registry, 'GET', '/maven/com/example/offline/tool/maven-metadata.xml');
      assert.equal(metadata.headers['x-cache'], 'STALE');
      const got = await sendRequest(proxy.registry, 'GET', '/maven/com/example/offline/tool/2.0/tool-2.0.jar');
      assert.ok(got.bytes.equals(bytes));
      const missing = await sendRequest(proxy.registry, 'GET', '/maven/com/example/offline/tool/2.0/tool-2.0.pom');
      assert.equal(missing.status, 502);
      assert.match(missing.text, /bad gateway/);
      assert.match(missing.headers['content-type'], /text\/plain/);
    } finally {
      await proxy.stop();
    }
  });

  it('mvn compile through the proxy resolves a dependency that only the upstream has', { skip: mvnMissing, timeout: 600_000 }, async () => {
    const proxy = await startProxyRegistry(oneUpstream('maven', `${upstream.url}/maven`));
    const server = await startHttp(createNodeHandler(proxy.registry));
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-upstream-mvn-'));
    try {
      const repositoryUrl = `${server.url}/maven/`;
      const settings = path.join(root, 'settings.xml');
      await fsp.writeFile(
        settings,
        `<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <localRepository>${path.join(root, 'm2')}</localRepository>
  <mirrors><mirror><id>debian</id><mirrorOf>*,!proxy</mirrorOf><url>file:///usr/share/maven-repo</url></mirror></mirrors>
  <profiles><profile><id>proxy</id><repositories><repository><id>proxy</id><url>${repositoryUrl}</url></repository></repositories></profile></profiles>
  <activeProfiles><activeProfile>proxy</activeProfile></activeProfiles>
</settings>
`,
      );
      const app = path.join(root, 'app');
      await fsp.mkdir(path.join(app, 'src/main/java/app'), { recursive: true });
      await fsp.writeFile(
        path.join(app, 'pom.xml'),
        `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>app</groupId><artifactId>app</artifactId><version>1.0</version><packaging>jar</packaging>
  <properties><maven.compiler.source>11</maven.compiler.source><maven.compiler.target>11</maven.compiler.target><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies><dependency><groupId>com.example.mirror</groupId><artifactId>lib</artifactId><version>1.0.0</version></dependency></dependencies>
  <build><plugins>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-resources-plugin</artifactId><version>3.3.0</version></plugin>
    <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-compiler-plugin</artifactId><version>3.10.1</version></plugin>
  </plugins></build>
</project>
`,
      );
      await fsp.writeFile(path.join(app, 'src/main/java/app/App.java'), 'package app;\npublic class App {}\n');
      const result = await runClient('mvn', ['-B', '-s', settings, '-gs', settings, 'compile'], { cwd: app, env: { ...process.env, HOME: root, MAVEN_OPTS: '-Xmx256m' } });
      assert.equal(result.code, 0, `mvn compile failed:\n${result.output}`);
      const resolved = await fsp.readFile(path.join(root, 'm2', DIR, 'lib-1.0.0.jar'));
      assert.ok(resolved.equals(jar));
      assert.equal(upstream.count(`/maven/${DIR}/lib-1.0.0.jar`) >= 1, true);
      assert.ok((await proxy.keys('upstream/maven/up/artifacts/')).length >= 4, 'the jar and the pom, with their records');
    } finally {
      await server.close();
      await proxy.stop();
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
