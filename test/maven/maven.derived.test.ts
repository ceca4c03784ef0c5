/**
 * maven-metadata.xml as derived documents: written on every deploy (not on read), served with the
 * checksums of the bytes served, and derived again on read when a write was lost.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createMavenRegistry, hex, pomOf, type IMavenTestRegistry } from './maven.fixtures.js';

const LIB = '/maven/com/example/lib';
const SNAP = `${LIB}/2.0-SNAPSHOT`;
const PLUGINS = '/maven/com/example/tools';
const ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha512'];

describe('maven: metadata documents derived from the truth', () => {
  let r: IMavenTestRegistry;
  const refused = new Set<string>();
  const puts: string[] = [];
  before(async () => {
    r = await createMavenRegistry({
      storageHooks: {
        beforePut: (ctx) => ([...refused].some((suffix) => ctx.key.endsWith(suffix)) ? { allowed: false, reason: 'refused' } : undefined),
        afterPut: (ctx) => void puts.push(ctx.key),
      },
    });
  });
  after(() => r.close());

  const assertChecksumsMatch = async (path: string) => {
    const xml = await r.request('GET', path);
    assert.equal(xml.status, 200, path);
    for (const algorithm of ALGORITHMS) {
      const checksum = await r.request('GET', `${path}.${algorithm}`);
      assert.equal(checksum.status, 200, `${path}.${algorithm}`);
      assert.equal(checksum.text.trim(), hex(algorithm, xml.bytes), `${path}.${algorithm}`);
    }
    return xml;
  };

  it('writes the metadata documents on deploy; reads write nothing', async () => {
    assert.equal((await r.deploy(`${LIB}/1.0/lib-1.0.pom`, pomOf('com.example', 'lib', '1.0'))).status, 201);
    assert.equal((await r.deploy(`${SNAP}/lib-2.0-20261126.101010-1.jar`, 'snap one')).status, 201);
    assert.equal((await r.deploy(`${PLUGINS}/tool-maven-plugin/1.0/tool-maven-plugin-1.0.pom`, pomOf('com.example.tools', 'tool-maven-plugin', '1.0', 'maven-plugin', 'Tool'))).status, 201);
    const keys = await r.keys();
    for (const key of ['maven/artifacts/com/example/lib/@metadata.json', 'maven/artifacts/com/example/tools/@plugins.json', 'maven/artifacts/com/example/tools/@group-metadata.json']) {
      assert.ok(keys.includes(key), key);
    }
    puts.length = 0;
    const artifact = await assertChecksumsMatch(`${LIB}/maven-metadata.xml`);
    assert.match(artifact.text, /<version>1\.0<\/version>\s*<version>2\.0-SNAPSHOT<\/version>/);
    const snapshot = await assertChecksumsMatch(`${SNAP}/maven-metadata.xml`);
    assert.match(snapshot.text, /<value>2\.0-20261126\.101010-1<\/value>/);
    const group = await assertChecksumsMatch(`${PLUGINS}/maven-metadata.xml`);
    assert.match(group.text, /<prefix>tool<\/prefix>/);
    assert.deepEqual(puts, []);
    const again = await r.request('GET', `${LIB}/maven-metadata.xml`, { headers: { 'if-none-match': artifact.headers.etag } });
    assert.equal(again.status, 304);
  });

  it('keeps the metadata current on every deploy, version-level metadata too', async () => {
    r.clock.now = new Date('2026-11-27T09:00:00Z');
    assert.equal((await r.deploy(`${SNAP}/lib-2.0-20261127.090000-2.jar`, 'snap two')).status, 201);
    assert.match((await assertChecksumsMatch(`${SNAP}/maven-metadata.xml`)).text, /<buildNumber>2<\/buildNumber>/);
    assert.match((await assertChecksumsMatch(`${LIB}/maven-metadata.xml`)).text, /<lastUpdated>20261127090000<\/lastUpdated>/);
  });

  it('answers a deploy whose metadata write failed, and derives the metadata again on the next read', async () => {
    refused.add('/@metadata.json');
    assert.equal((await r.deploy(`${LIB}/1.1/lib-1.1.pom`, pomOf('com.example', 'lib', '1.1'))).status, 201);
    await r.registry.getStorage().settled();
    refused.clear();
    const xml = await assertChecksumsMatch(`${LIB}/maven-metadata.xml`);
    assert.match(xml.text, /<release>1\.1<\/release>/);
  });

  it('derives a missing metadata document again from the truth', async () => {
    const storage = r.registry.getStorage();
    const before = (await r.request('GET', `${LIB}/maven-metadata.xml`)).text;
    await storage.deleteObject('maven/artifacts/com/example/lib/@metadata.json', { protocol: 'maven' });
    await storage.deleteObject('maven/artifacts/com/example/tools/@group-metadata.json', { protocol: 'maven' });
    assert.equal((await r.request('GET', `${LIB}/maven-metadata.xml`)).text, before);
    assert.match((await assertChecksumsMatch(`${PLUGINS}/maven-metadata.xml`)).text, /<artifactId>tool-maven-plugin<\/artifactId>/);
    assert.ok((await r.keys()).includes('maven/artifacts/com/example/lib/@metadata.json'));
  });

  it('keeps the group plugins when the group metadata write failed, and a deleted plugin leaves them', async () => {
    refused.add('/@group-metadata.json');
    const base = `${PLUGINS}/other-maven-plugin/1.0/other-maven-plugin-1.0.pom`;
    assert.equal((await r.deploy(base, pomOf('com.example.tools', 'other-maven-plugin', '1.0', 'maven-plugin'))).status, 201);
    await r.registry.getStorage().settled();
    refused.clear();
    assert.match((await assertChecksumsMatch(`${PLUGINS}/maven-metadata.xml`)).text, /<prefix>other<\/prefix>/);
    assert.equal((await r.request('DELETE', `${PLUGINS}/tool-maven-plugin/`)).status, 204);
    const group = await assertChecksumsMatch(`${PLUGINS}/maven-metadata.xml`);
    assert.doesNotMatch(group.text, /tool-maven-plugin/);
    assert.equal((await r.request('DELETE', `${PLUGINS}/other-maven-plugin/`)).status, 204);
    assert.equal((await r.request('GET', `${PLUGINS}/maven-metadata.xml`)).status, 404);
    assert.ok(!(await r.keys()).some((key) => key.startsWith('maven/artifacts/com/example/tools/')));
  });

  it('serves group plugins only to who may read the whole group', async () => {
    const base = `${PLUGINS}/third-maven-plugin/1.0/third-maven-plugin-1.0.pom`;
    assert.equal((await r.deploy(base, pomOf('com.example.tools', 'third-maven-plugin', '1.0', 'maven-plugin'))).status, 201);
    assert.equal((await r.request('GET', `${PLUGINS}/maven-metadata.xml`, { token: r.tokens.deleter })).status, 404);
    assert.equal((await r.request('GET', `${PLUGINS}/maven-metadata.xml`, { token: r.tokens.admin })).status, 200);
  });
});
