/**
 * The real `mvn` against `smartregistry serve`: deploy a release and a SNAPSHOT (twice), build a
 * consumer that depends on both from our repository only, and see a wrong password and a release
 * redeploy fail. Offline: a private settings.xml mirrors every other repository to Debian's
 * /usr/share/maven-repo (plugins pinned to the versions Debian ships there).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { clientMissing, runClient, type IClientRun } from '../helpers/clients.js';
import { startServe, type IServeInstance } from '../helpers/serve.js';

const mvnMissing = clientMissing('mvn', ['--version']);

const PLUGINS = { resources: '3.3.0', compiler: '3.10.1', jar: '3.3.0', deploy: '3.0.0' };
const REPO_ID = 'smartregistry';

describe('mvn against smartregistry serve', { skip: mvnMissing, timeout: 600_000 }, () => {
  let server: IServeInstance;
  let root: string;
  let repositoryUrl: string;

  const settings = (password: string, localRepository: string) => `<?xml version="1.0" encoding="UTF-8"?>
<settings>
  <localRepository>${localRepository}</localRepository>
  <servers>
    <server><id>${REPO_ID}</id><username>admin</username><password>${password}</password></server>
  </servers>
  <mirrors>
    <mirror><id>debian</id><mirrorOf>*,!${REPO_ID}</mirrorOf><url>file:///usr/share/maven-repo</url></mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>${REPO_ID}</id>
      <repositories>
        <repository><id>${REPO_ID}</id><url>${repositoryUrl}</url></repository>
      </repositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>${REPO_ID}</activeProfile></activeProfiles>
</settings>
`;

  const pluginsXml = () =>
    Object.entries(PLUGINS)
      .map(([name, version]) => `<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-${name}-plugin</artifactId><version>${version}</version></plugin>`)
      .join('\n      ');

  const pom = (artifactId: string, version: string, dependencies = '') => `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example.mvntest</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.source>11</maven.compiler.source>
    <maven.compiler.target>11</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>${dependencies}</dependencies>
  <distributionManagement>
    <repository><id>${REPO_ID}</id><url>${repositoryUrl}</url></repository>
    <snapshotRepository><id>${REPO_ID}</id><url>${repositoryUrl}</url></snapshotRepository>
  </distributionManagement>
  <build>
    <plugins>
      ${pluginsXml()}
    </plugins>
  </build>
</project>
`;

  const writeProject = async (dir: string, artifactId: string, version: string, javaClass: string, source: string, dependencies = '') => {
    await fsp.rm(dir, { recursive: true, force: true });
    const packageDir = path.join(dir, 'src/main/java/com/example/mvntest');
    await fsp.mkdir(packageDir, { recursive: true });
    await fsp.writeFile(path.join(dir, 'pom.xml'), pom(artifactId, version, dependencies));
    await fsp.writeFile(path.join(packageDir, `${javaClass}.java`), source);
    return dir;
  };

  const mvn = (cwd: string, settingsFile: string, args: string[]): Promise<IClientRun> =>
    runClient('mvn', ['-B', '-s', settingsFile, '-gs', settingsFile, ...args], { cwd, env: { ...process.env, HOME: root, MAVEN_OPTS: '-Xmx256m' } });

  const ok = (run: IClientRun, what: string) => assert.equal(run.code, 0, `${what} failed:\n${run.output}`);
  const DEPLOY = ['compile', 'jar:jar', 'deploy:deploy'];

  let goodSettings: string;

  before(async () => {
    server = await startServe();
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'smartregistry-mvn-'));
    repositoryUrl = `${server.url}/maven/`;
    goodSettings = path.join(root, 'settings.xml');
    await fsp.writeFile(goodSettings, settings(server.tokens.maven, path.join(root, 'm2-producer')));
  });

  after(async () => {
    await server?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  const libSource = (text: string) => `package com.example.mvntest;\npublic class Lib { public static String text() { return "${text}"; } }\n`;
  const snapSource = (text: string) => `package com.example.mvntest;\npublic class Snap { public static String text() { return "${text}"; } }\n`;

  it('deploys a release', async () => {
    const dir = await writeProject(path.join(root, 'lib'), 'lib', '1.0', 'Lib', libSource('release 1.0'));
    ok(await mvn(dir, goodSettings, DEPLOY), 'deploy lib 1.0');
    const metadata = await fetch(`${repositoryUrl}com/example/mvntest/lib/maven-metadata.xml`, { headers: { authorization: `Bearer ${server.tokens.maven}` } });
    assert.equal(metadata.status, 200);
    const xml = await metadata.text();
    assert.match(xml, /<release>1\.0<\/release>/);
    assert.match(xml, /<version>1\.0<\/version>/);
  });

  it('deploys a SNAPSHOT twice; the second build is the newest', async () => {
    const dir = path.join(root, 'snap');
    await writeProject(dir, 'snap', '2.0-SNAPSHOT', 'Snap', snapSource('first build'));
    ok(await mvn(dir, goodSettings, DEPLOY), 'deploy snap first');
    await writeProject(dir, 'snap', '2.0-SNAPSHOT', 'Snap', snapSource('second build'));
    ok(await mvn(dir, goodSettings, DEPLOY), 'deploy snap second');
    const res = await fetch(`${repositoryUrl}com/example/mvntest/snap/2.0-SNAPSHOT/maven-metadata.xml`, { headers: { authorization: `Bearer ${server.tokens.maven}` } });
    assert.equal(res.status, 200);
    const xml = await res.text();
    assert.match(xml, /<buildNumber>2<\/buildNumber>/);
    assert.match(xml, /<value>2\.0-\d{8}\.\d{6}-2<\/value>/);
  });

  it('builds a consumer that depends on both from our repository only', async () => {
    const dependencies = ['lib:1.0', 'snap:2.0-SNAPSHOT']
      .map((coordinates) => coordinates.split(':'))
      .map(([artifactId, version]) => `<dependency><groupId>com.example.mvntest</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`)
      .join('');
    const dir = await writeProject(
      path.join(root, 'consumer'),
      'consumer',
      '1.0',
      'Consumer',
      'package com.example.mvntest;\npublic class Consumer { public static String text() { return Lib.text() + Snap.text(); } }\n',
      dependencies,
    );
    const consumerSettings = path.join(root, 'settings-consumer.xml');
    await fsp.writeFile(consumerSettings, settings(server.tokens.maven, path.join(root, 'm2-consumer')));
    ok(await mvn(dir, consumerSettings, ['compile']), 'consumer compile');
    const snapDir = path.join(root, 'm2-consumer/com/example/mvntest/snap/2.0-SNAPSHOT');
    const jars = (await fsp.readdir(snapDir)).filter((name) => /^snap-2\.0-\d{8}\.\d{6}-2\.jar$/.test(name));
    assert.equal(jars.length, 1, 'the newest SNAPSHOT build was resolved');
    assert.ok((await fsp.stat(path.join(root, 'm2-consumer/com/example/mvntest/lib/1.0/lib-1.0.jar'))).size > 0);
  });

  it('refuses a deploy with a wrong password', async () => {
    const wrongSettings = path.join(root, 'settings-wrong.xml');
    await fsp.writeFile(wrongSettings, settings('not-the-token', path.join(root, 'm2-wrong')));
    const dir = await writeProject(path.join(root, 'wrong'), 'wrong', '1.0', 'Lib', libSource('never stored'));
    const run = await mvn(dir, wrongSettings, DEPLOY);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /401/);
    const res = await fetch(`${repositoryUrl}com/example/mvntest/wrong/1.0/wrong-1.0.jar`, { headers: { authorization: `Bearer ${server.tokens.maven}` } });
    assert.equal(res.status, 404);
  });

  it('refuses a redeploy of a release', async () => {
    const dir = await writeProject(path.join(root, 'lib'), 'lib', '1.0', 'Lib', libSource('changed release'));
    const run = await mvn(dir, goodSettings, DEPLOY);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /409/);
  });
});
