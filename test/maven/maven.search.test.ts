/** `GET /api/search` on the core search index: words of groupId and artifactId, ranked, paged, filtered by scope. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createMavenRegistry, pomOf, type IMavenTestRegistry } from './maven.fixtures.js';

describe('maven: search', () => {
  let r: IMavenTestRegistry;
  before(async () => {
    r = await createMavenRegistry({ maven: { searchRevalidateMs: 0 } });
    const artifacts: [string, string, string[]][] = [
      ['com.example', 'json-utils', ['1.0', '1.10', '1.2', '2.0-SNAPSHOT']],
      ['com.example', 'json', ['3.0']],
      ['com.example.web', 'json-server', ['0.1']],
      ['org.other', 'json', ['1.0']],
      ['org.other', 'xml-tools', ['1.0']],
    ];
    for (const [groupId, artifactId, versions] of artifacts) {
      for (const version of versions) {
        const path = `/maven/${groupId.split('.').join('/')}/${artifactId}/${version}/${artifactId}-${version}.pom`;
        assert.equal((await r.deploy(path, pomOf(groupId, artifactId, version))).status, 201, path);
      }
    }
  });
  after(() => r.close());

  const names = (res: { json: any }) => res.json.results.map((x: any) => `${x.groupId}:${x.artifactId}`);

  it('finds artifacts by words of groupId and artifactId, exact names first', async () => {
    const res = await r.request('GET', '/maven/api/search?q=json');
    assert.equal(res.status, 200);
    assert.equal(res.json.total, 4);
    assert.deepEqual(names(res).slice(0, 2).sort(), ['com.example:json', 'org.other:json']);
    assert.deepEqual(names(await r.request('GET', '/maven/api/search?q=example:json-utils')), ['com.example:json-utils']);
    assert.deepEqual(names(await r.request('GET', '/maven/api/search?q=web')), ['com.example.web:json-server']);
    assert.deepEqual(names(await r.request('GET', '/maven/api/search?q=nomatch')), []);
  });

  it('answers versions in Maven order with latest and release', async () => {
    const [entry] = (await r.request('GET', '/maven/api/search?q=json-utils')).json.results;
    assert.deepEqual(entry, {
      groupId: 'com.example',
      artifactId: 'json-utils',
      packaging: 'jar',
      latest: '2.0-SNAPSHOT',
      release: '1.10',
      versions: ['1.0', '1.2', '1.10', '2.0-SNAPSHOT'],
      versionCount: 4,
      lastUpdated: '20261126101010',
    });
  });

  it('pages with size and from', async () => {
    const all = names(await r.request('GET', '/maven/api/search?q=json&size=100'));
    const first = await r.request('GET', '/maven/api/search?q=json&size=2');
    const second = await r.request('GET', '/maven/api/search?q=json&size=2&from=2');
    assert.deepEqual([...names(first), ...names(second)], all);
    assert.equal(second.json.total, 4);
  });

  it('shows a scoped token only what it may read', async () => {
    const res = await r.request('GET', '/maven/api/search?q=json', { token: r.tokens.reader });
    assert.equal(res.status, 200);
    assert.deepEqual(names(res).sort(), ['com.example:json', 'com.example:json-utils']);
    assert.equal(res.json.total, 2);
  });

  it('follows deletes, refuses an empty query and asks anonymous clients to sign in', async () => {
    assert.equal((await r.request('DELETE', '/maven/org/other/xml-tools/')).status, 204);
    assert.deepEqual(names(await r.request('GET', '/maven/api/search?q=xml')), []);
    assert.equal((await r.request('GET', '/maven/api/search')).status, 400);
    assert.equal((await r.request('GET', '/maven/api/search?q=json', { token: null })).status, 401);
  });
});
