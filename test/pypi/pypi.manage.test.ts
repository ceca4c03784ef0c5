import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPypiRegistry, makeSdist, makeWheel, type IPypiTestRegistry } from './fixtures.js';

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

describe('pypi: yank, delete, search, authentication', () => {
  let r: IPypiTestRegistry;
  before(async () => {
    r = await createPypiRegistry();
    for (const version of ['1.0', '2.0', '3.0b1']) {
      assert.equal((await r.upload('yank-me', version, await makeWheel('yank-me', version))).status, 200);
    }
    assert.equal((await r.upload('yank-me', '2.0', await makeSdist('yank-me', '2.0'))).status, 200);
    assert.equal((await r.upload('bob-tools', '0.1', await makeWheel('bob-tools', '0.1'), { token: r.tokens.bob })).status, 200);
  });
  after(() => r.close());

  const files = async (project: string) => (await r.request('GET', `/pypi/simple/${project}/`, { headers: { accept: JSON_TYPE } })).json.files;
  const html = async (project: string) => (await r.request('GET', `/pypi/simple/${project}/`, { headers: { accept: 'text/html' } })).text;

  it('yanks a release with a reason, in both index forms and the JSON API; unyank undoes it', async () => {
    const before = await r.request('GET', '/pypi/simple/yank-me/', { headers: { accept: JSON_TYPE } });
    const yank = await r.request('POST', '/pypi/pypi/yank-me/2.0/yank', { body: { reason: 'broken <build> & "bad"' }, headers: { 'content-type': 'application/json' } });
    assert.equal(yank.status, 200, yank.text);
    assert.deepEqual(yank.json, { project: 'yank-me', version: '2.0', yanked: true, reason: 'broken <build> & "bad"' });
    const yanked = (await files('yank-me')).filter((file: any) => file.filename.includes('-2.0'));
    assert.equal(yanked.length, 2);
    for (const file of yanked) assert.equal(file.yanked, 'broken <build> & "bad"');
    assert.ok((await files('yank-me')).filter((file: any) => !file.filename.includes('-2.0')).every((file: any) => file.yanked === false));
    assert.match(await html('yank-me'), /data-yanked="broken &lt;build&gt; &amp; &quot;bad&quot;"[^>]*>yank_me-2.0-py3-none-any.whl</);
    const again = await r.request('GET', '/pypi/simple/yank-me/', { headers: { accept: JSON_TYPE, 'if-none-match': before.headers.etag } });
    assert.equal(again.status, 200, 'the ETag changes with the yank');
    const api = (await r.request('GET', '/pypi/pypi/yank-me/2.0/json')).json;
    assert.equal(api.info.yanked, true);
    assert.equal(api.info.yanked_reason, 'broken <build> & "bad"');
    assert.equal(api.urls[0].yanked, true);
    assert.equal((await r.request('GET', '/pypi/pypi/yank-me/json')).json.info.version, '1.0', 'the latest release skips yanked and pre-releases');

    const unyank = await r.request('POST', '/pypi/pypi/yank-me/2.0/unyank');
    assert.equal(unyank.status, 200);
    assert.ok((await files('yank-me')).every((file: any) => file.yanked === false));
    assert.ok(!(await html('yank-me')).includes('data-yanked'));
    assert.equal((await r.request('GET', '/pypi/pypi/yank-me/json')).json.info.version, '2.0');
  });

  it('a yank without a reason is `true` in JSON and an empty attribute in HTML', async () => {
    assert.equal((await r.request('POST', '/pypi/pypi/yank-me/1.0/yank')).status, 200);
    assert.equal((await files('yank-me')).find((file: any) => file.filename === 'yank_me-1.0-py3-none-any.whl').yanked, true);
    assert.match(await html('yank-me'), /data-yanked=""[^>]*>yank_me-1.0-py3-none-any.whl</);
    assert.equal((await r.request('POST', '/pypi/pypi/yank-me/1.0/unyank')).status, 200);
  });

  it('yank refuses bad input and unknown releases, and needs write', async () => {
    assert.equal((await r.request('POST', '/pypi/pypi/yank-me/9.9/yank')).status, 404);
    assert.equal((await r.request('POST', '/pypi/pypi/nothing/1.0/yank')).status, 404);
    const badBody = await r.request('POST', '/pypi/pypi/yank-me/2.0/yank', { body: { reason: 42 } });
    assert.equal(badBody.status, 400);
    assert.match(badBody.json.message, /reason/);
    const keys = await r.keys();
    assert.equal((await r.request('POST', '/pypi/pypi/yank-me/2.0/yank', { token: r.tokens.readonly })).status, 403);
    assert.equal((await r.request('POST', '/pypi/pypi/yank-me/2.0/yank', { token: null })).status, 401);
    assert.deepEqual(await r.keys(), keys);
  });

  it('deletes a file, then a release, with the delete scope only', async () => {
    const wheelKeysBefore = (await r.keys()).filter((key) => key.startsWith('pypi/projects/yank-me/files/'));
    // bob may write his own projects but has no delete on others; alice's read-only token neither.
    for (const token of [r.tokens.bob, r.tokens.readonly]) {
      assert.equal((await r.request('DELETE', '/pypi/packages/yank-me/yank_me-2.0.tar.gz', { token })).status, 403);
    }
    const removed = await r.request('DELETE', '/pypi/packages/yank-me/yank_me-2.0.tar.gz');
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.json, { deleted: ['yank_me-2.0.tar.gz'] });
    assert.equal((await r.request('GET', '/pypi/packages/yank-me/yank_me-2.0.tar.gz')).status, 404);
    assert.equal((await r.keys()).filter((key) => key.startsWith('pypi/projects/yank-me/files/')).length, wheelKeysBefore.length - 1);
    assert.equal((await r.request('DELETE', '/pypi/packages/yank-me/yank_me-2.0.tar.gz')).status, 404);

    const release = await r.request('DELETE', '/pypi/pypi/yank-me/2.0');
    assert.equal(release.status, 200);
    assert.deepEqual(release.json, { deleted: ['yank_me-2.0-py3-none-any.whl'] });
    const doc = (await r.request('GET', '/pypi/simple/yank-me/', { headers: { accept: JSON_TYPE } })).json;
    assert.deepEqual(doc.versions, ['1.0', '3.0b1']);
    assert.equal((await r.request('GET', '/pypi/pypi/yank-me/2.0/json')).status, 404);
    assert.equal((await r.keys()).filter((key) => key.startsWith('pypi/projects/yank-me/files/')).length, 2);
    assert.equal((await r.request('DELETE', '/pypi/pypi/yank-me/2.0')).status, 404);
  });

  it('deleting the last release removes the project from the index and from search', async () => {
    assert.equal((await r.request('DELETE', '/pypi/pypi/yank-me/1.0')).status, 200);
    assert.equal((await r.request('DELETE', '/pypi/pypi/yank-me/3.0b1')).status, 200);
    assert.equal((await r.request('GET', '/pypi/simple/yank-me/')).status, 404);
    assert.deepEqual((await r.request('GET', '/pypi/simple/', { headers: { accept: JSON_TYPE } })).json.projects, [{ name: 'bob-tools' }]);
    assert.deepEqual((await r.keys()).filter((key) => key.startsWith('pypi/projects/yank-me/')), []);
    assert.equal((await r.request('GET', '/pypi/search?q=yank')).json.total, 0);
  });

  it('searches projects by name, summary and keywords', async () => {
    const byName = await r.request('GET', '/pypi/search?q=bob');
    assert.equal(byName.status, 200);
    assert.equal(byName.json.total, 1);
    assert.deepEqual(byName.json.results[0], {
      name: 'bob-tools',
      version: '0.1',
      summary: 'bob-tools test project',
      keywords: 'smartregistry,testing',
      url: 'http://registry.example.com/pypi/simple/bob-tools/',
    });
    assert.equal((await r.request('GET', '/pypi/search?q=tools project')).json.total, 1, 'by name part and summary word');
    assert.equal((await r.request('GET', '/pypi/search?q=smartregistry')).json.total, 1, 'by keyword');
    assert.equal((await r.request('GET', '/pypi/search?q=nothing-like-it')).json.total, 0);
    assert.equal((await r.request('GET', '/pypi/search')).status, 400);
  });

  it('authenticates Basic __token__, Basic user/password, Bearer; anonymous and bad credentials get 401', async () => {
    const path = '/pypi/simple/bob-tools/';
    assert.equal((await r.request('GET', path)).status, 200, 'Basic __token__');
    assert.equal((await r.request('GET', path, { authorization: `Bearer ${r.tokens.alice}` })).status, 200);
    assert.equal((await r.request('GET', path, { authorization: `Basic ${Buffer.from('alice:alice-password').toString('base64')}` })).status, 200);
    const anonymous = await r.request('GET', path, { token: null });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers['www-authenticate'], /^Basic realm=/);
    assert.equal((await r.request('GET', path, { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` })).status, 401);
    assert.equal((await r.request('GET', path, { authorization: `Basic ${Buffer.from('__token__:nope').toString('base64')}` })).status, 401);
    // A user/password upload acts with the user's scopes.
    const upload = await r.upload('bob-more', '1.0', await makeWheel('bob-more', '1.0'), { authorization: `Basic ${Buffer.from('bob:bob-password').toString('base64')}` });
    assert.equal(upload.status, 200, upload.text);
    const denied = await r.upload('alice-only', '1.0', await makeWheel('alice-only', '1.0'), { authorization: `Basic ${Buffer.from('bob:bob-password').toString('base64')}` });
    assert.equal(denied.status, 403);
  });

  it('treats equal PEP 440 versions as one release (2.0 is 2.0.0) for uploads, yank, the JSON API and delete', async () => {
    assert.equal((await r.upload('bob-tools', '2.0', await makeWheel('bob-tools', '2.0'))).status, 200);
    assert.equal((await r.upload('bob-tools', '2.0.0', await makeSdist('bob-tools', '2.0.0'))).status, 200);
    const doc = (await r.request('GET', '/pypi/simple/bob-tools/', { headers: { accept: JSON_TYPE } })).json;
    assert.deepEqual(doc.versions, ['0.1', '2.0']);
    assert.equal((await r.request('POST', '/pypi/pypi/bob-tools/2.0.0/yank')).status, 200);
    assert.ok((await files('bob-tools')).filter((file: any) => file.filename.includes('-2.0')).every((file: any) => file.yanked === true));
    assert.equal((await r.request('GET', '/pypi/pypi/bob-tools/2.0.0/json')).json.urls.length, 2);
    const removed = await r.request('DELETE', '/pypi/pypi/bob-tools/2');
    assert.deepEqual(removed.json.deleted.sort(), ['bob_tools-2.0-py3-none-any.whl', 'bob_tools-2.0.0.tar.gz']);
  });

  it('refuses invalid project names in paths with 400 before storage', async () => {
    for (const path of ['/pypi/simple/-bad-/', '/pypi/pypi/a%20b/json', '/pypi/packages/_x_/file.whl']) {
      const res = await r.request('GET', path);
      assert.equal(res.status, 400, path);
      assert.match(res.json.message, /invalid project name/);
    }
    assert.equal((await r.request('GET', '/pypi/packages/bob-tools/..%2f..%2fadmin.json')).status, 400);
  });
});

describe('pypi: anonymous read when configured', () => {
  let r: IPypiTestRegistry;
  before(async () => {
    r = await createPypiRegistry({ pypi: { anonymousRead: true } });
    assert.equal((await r.upload('open-pkg', '1.0', await makeWheel('open-pkg', '1.0'))).status, 200);
  });
  after(() => r.close());

  it('serves the index and files without credentials, never uploads', async () => {
    assert.equal((await r.request('GET', '/pypi/simple/open-pkg/', { token: null })).status, 200);
    assert.equal((await r.request('GET', '/pypi/packages/open-pkg/open_pkg-1.0-py3-none-any.whl', { token: null })).status, 200);
    assert.equal((await r.upload('open-pkg', '2.0', await makeWheel('open-pkg', '2.0'), { token: null })).status, 401);
    assert.equal((await r.request('POST', '/pypi/pypi/open-pkg/1.0/yank', { token: null })).status, 401);
  });
});
