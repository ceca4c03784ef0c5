import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { buildRegistryConfig } from '../../ts/cli/config.js';
import { sendRequest } from '../helpers/requests.js';
import { basic, createWebFixture, PASSWORDS, type IWebFixture } from './fixtures.js';

/** The links of the home page's "Recently published" list, in order. */
function recentOf(page: string): string[] {
  const start = page.indexOf('<section aria-labelledby="recent">');
  if (start === -1) return [];
  const section = page.slice(start, page.indexOf('</section>', start));
  return [...section.matchAll(/<a href="([^"]+)">/g)].map((match) => match[1].replaceAll('&amp;', '&'));
}

describe('web page over HTTP', () => {
  let fixture: IWebFixture;
  before(async () => {
    fixture = await createWebFixture();
  });
  after(() => fixture?.close());

  const get = (path: string, authorization?: string) => fixture.request('GET', path, { headers: authorization ? { authorization } : {} });

  it('serves the home page as HTML with a strict Content-Security-Policy and no caching', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    const csp = page.headers['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/, 'search as you type fetches this page only');
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(page.text, /<script>|<style>| style=| on[a-z]+=/, 'no inline script, style or handlers');
  });

  it('shows an anonymous visitor only what anonymous may read: public PyPI, none of the private protocols', async () => {
    const home = await get('/');
    assert.match(home.text, /href="\/packages\/pypi\/web-demo"/);
    for (const hidden of ['web-left-pad', '@team/secret', 'web-crate', 'web-lib', 'web/app', 'web/greeter', 'web-gem']) assert.ok(!home.text.includes(hidden), `${hidden} is not on the page`);
    assert.match(home.text, /PyPI <span class="muted">\(1\)<\/span>/, 'a count where everything is readable');
    assert.doesNotMatch(home.text, /npm <span class="muted">/, 'no count that would tell how many private packages exist');
    const search = await get('/search?q=web');
    assert.equal(search.status, 200);
    assert.match(search.text, /web-demo/);
    assert.ok(!search.text.includes('web-left-pad') && !search.text.includes('web-crate'));
  });

  it('answers a private package exactly like a missing one (404, same page), until the visitor may read it', async () => {
    const privatePage = await get('/packages/npm/web-left-pad');
    const missingPage = await get('/packages/npm/no-such-package');
    assert.equal(privatePage.status, 404);
    assert.equal(missingPage.status, 404);
    // The same page, but for the address each names (its sign-in link comes back to it).
    assert.equal(privatePage.text.replaceAll('web-left-pad', 'NAME'), missingPage.text.replaceAll('no-such-package', 'NAME'));
    for (const path of ['/packages/cargo/web-crate', '/packages/maven/com.example:web-lib', '/packages/oci/web/app', '/packages/composer/web/greeter', '/packages/rubygems/web-gem', '/packages/nosuch/x']) {
      assert.equal((await get(path)).status, 404, path);
    }
    const shown = await get('/packages/npm/web-left-pad', basic('admin'));
    assert.equal(shown.status, 200);
    assert.match(shown.text, /<h1>web-left-pad <span class="muted">1\.1\.0<\/span>/);
    assert.match(shown.headers.vary, /Authorization/);
  });

  it('gives a user with a narrow scope exactly their packages, in search and as pages', async () => {
    const reader = basic('reader');
    const search = await get('/search?q=secret', reader);
    assert.match(search.text, /href="\/packages\/npm\/%40team\/secret"/);
    const home = await get('/', reader);
    assert.match(home.text, /@team\/secret/);
    assert.ok(!home.text.includes('web-left-pad'), 'not a package the reader may not read');
    assert.match(home.text, /Signed in as <strong>reader<\/strong>/);
    assert.equal((await get('/packages/npm/%40team/secret', reader)).status, 200);
    assert.equal((await get('/packages/npm/web-left-pad', reader)).status, 404);
  });

  it('refuses wrong credentials with a 401 challenge, and signs in with right ones', async () => {
    const wrong = await get('/', basic('admin', 'wrong-password'));
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate'], /^Basic realm="smartregistry"/);
    assert.match(wrong.headers['content-type'], /text\/html/);
    const signedIn = await get('/sign-in', basic('admin'));
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/');
  });

  it('signs a person in with the form: an HttpOnly SameSite session cookie that every instance accepts, refused from other sites, signed out again', async () => {
    const form = await get('/sign-in');
    assert.equal(form.status, 200);
    assert.match(form.text, /<form class="sign-in" action="\/sign-in" method="post">/);
    assert.match(form.text, /<input id="password" name="password" type="password" autocomplete="current-password" required>/);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fixture.request('POST', '/sign-in', { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://registry.example.com', ...headers }, body });
    const credentials = `username=admin&password=${encodeURIComponent(PASSWORDS.admin)}`;

    const wrong = await post('username=admin&password=wrong');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /role="alert">Wrong user name or password\./);
    assert.match(wrong.text, /value="admin"/, 'the user name is kept');
    assert.equal(wrong.headers['www-authenticate'], undefined, 'no Basic dialog for a form');
    assert.equal(wrong.headers['set-cookie'], undefined);
    assert.equal((await post('username=admin')).status, 400);
    const crossSites: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
    for (const crossSite of crossSites) {
      const refused = await post(credentials, crossSite);
      assert.equal(refused.status, 403, JSON.stringify(crossSite));
      assert.equal(refused.headers['set-cookie'], undefined);
    }

    // From a page (a private package answers 404 until then), signing in comes back to it; never to another site.
    const missing = await get('/packages/npm/web-left-pad?version=1.0.0');
    assert.match(missing.text, /<a href="\/sign-in\?next=%2Fpackages%2Fnpm%2Fweb-left-pad%3Fversion%3D1\.0\.0">Sign in<\/a>/);
    const formWithNext = await get('/sign-in?next=%2Fpackages%2Fnpm%2Fweb-left-pad%3Fversion%3D1.0.0');
    assert.match(formWithNext.text, /<input type="hidden" name="next" value="\/packages\/npm\/web-left-pad\?version=1\.0\.0">/);
    const back = await post(`${credentials}&next=${encodeURIComponent('/packages/npm/web-left-pad?version=1.0.0')}`);
    assert.equal(back.headers.location, '/packages/npm/web-left-pad?version=1.0.0');
    for (const elsewhere of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'packages/npm/web-left-pad']) {
      assert.equal((await post(`${credentials}&next=${encodeURIComponent(elsewhere)}`)).headers.location, '/', elsewhere);
    }

    const signedIn = await post(credentials);
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.location, '/');
    const cookie = signedIn.headers['set-cookie'];
    assert.match(cookie, /^smartregistry_session=[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/);
    const session = cookie.split(';')[0];
    const withCookie = (path: string, value = session) => fixture.request('GET', path, { headers: { cookie: `other=1; ${value}` } });
    const page = await withCookie('/packages/npm/web-left-pad');
    assert.equal(page.status, 200);
    assert.match(page.text, /Signed in as <strong>admin<\/strong><\/span> <form class="inline" action="\/sign-out" method="post">/);
    assert.match(page.headers.vary, /Cookie/);
    assert.equal((await withCookie('/sign-in')).status, 303, 'signed in already');
    const forged = session.replace(/smartregistry_session=[^.]+/, `smartregistry_session=${Buffer.from('reader').toString('base64url')}`);
    assert.equal((await withCookie('/packages/npm/web-left-pad', forged)).status, 404, 'another user name under the same signature is anonymous');
    assert.equal((await withCookie('/packages/npm/web-left-pad', `${session}x`)).status, 404);

    // Another instance on the same storage takes the cookie (the signing key is in storage).
    const other = new SmartRegistry({
      storage: { type: 'filesystem', path: fixture.dir },
      auth: { tokenStore: 'memory', users: { admin: { password: PASSWORDS.admin, scopes: ['*'] } } },
      logging: { level: 'silent' },
      npm: { enabled: true, basePath: '/npm' },
      web: { enabled: true, basePath: '/' },
    });
    await other.init();
    try {
      assert.equal((await sendRequest(other, 'GET', '/packages/npm/web-left-pad', { headers: { cookie: session } })).status, 200);
    } finally {
      await other.destroy();
    }

    // Guessing is throttled like every login: past the free failures for a user name, 429 before any hashing.
    const guesses = [];
    for (let i = 0; i < 7; i++) guesses.push(await post(`username=ghost&password=guess-${i}`));
    assert.deepEqual(guesses.map((guess) => guess.status), [401, 401, 401, 401, 401, 401, 429]);
    assert.match(guesses[6].headers['retry-after'], /^\d+$/);

    const signedOut = await fixture.request('POST', '/sign-out', { headers: { origin: 'http://registry.example.com', cookie: session } });
    assert.equal(signedOut.status, 303);
    assert.match(signedOut.headers['set-cookie'], /^smartregistry_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/);
    assert.equal((await fixture.request('POST', '/sign-out', { headers: { origin: 'https://evil.example', cookie: session } })).status, 403);
  });

  it('renders each person signed in with the form their own page: the same address, one after the other, shows each only what they may read', async () => {
    const sessionOf = async (user: keyof typeof PASSWORDS) => {
      const signedIn = await fixture.request('POST', '/sign-in', {
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://registry.example.com' },
        body: `username=${user}&password=${encodeURIComponent(PASSWORDS[user])}`,
      });
      assert.equal(signedIn.status, 303);
      return { cookie: signedIn.headers['set-cookie'].split(';')[0] };
    };
    const padder = await sessionOf('padder');
    const reader = await sessionOf('reader');
    for (let round = 0; round < 2; round++) {
      const asPadder = await fixture.request('GET', '/packages/npm/web-left-pad', { headers: padder });
      assert.equal(asPadder.status, 200);
      assert.match(asPadder.text, /Signed in as <strong>padder<\/strong>/);
      const asReader = await fixture.request('GET', '/packages/npm/web-left-pad', { headers: reader });
      assert.equal(asReader.status, 404, 'not a page the reader may read, even right after the padder saw it');
      const home = await fixture.request('GET', '/', { headers: reader });
      assert.match(home.text, /Signed in as <strong>reader<\/strong>/);
      assert.ok(!home.text.includes('web-left-pad'));
      assert.equal((await get('/packages/npm/web-left-pad')).status, 404, 'nor an anonymous visitor');
    }
  });

  it('finds a package of each of the seven protocols in one search (admin), with counts', async () => {
    const search = await get('/search?q=web', basic('admin'));
    for (const link of ['/packages/npm/web-left-pad', '/packages/pypi/web-demo', '/packages/cargo/web-crate', '/packages/maven/com.example%3Aweb-lib', '/packages/oci/web/app', '/packages/composer/web/greeter', '/packages/rubygems/web-gem']) {
      assert.ok(search.text.includes(`href="${link}"`), link);
    }
    assert.match(search.text, /npm <span class="muted">\(2\)<\/span>/);
  });

  it('renders a hostile readme inert: no script, handlers, javascript: links, frames, forms or styles', async () => {
    const page = await get('/packages/npm/web-hostile', basic('admin'));
    assert.equal(page.status, 200);
    const readme = page.text.slice(page.text.indexOf('<section class="readme"'));
    assert.match(readme, /<h1>Hostile readme<\/h1>/);
    assert.match(readme, /<a href="https:\/\/registry\.example\.com\/docs" rel="nofollow noopener noreferrer">good link<\/a>/);
    assert.doesNotMatch(readme, /<script|<iframe|<form|onerror=|onclick=|style=|href="javascript:/i);
    assert.doesNotMatch(page.text, /<script>/);
  });

  it('escapes what visitors and packages write: the search query is text, never markup', async () => {
    const page = await get(`/search?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!page.text.includes('<script>alert(1)'));
  });

  it('shows versions with dates, dist-tags and deprecations, dependencies, files with digests and install snippets', async () => {
    const admin = basic('admin');
    const npm = await get('/packages/npm/web-left-pad', admin);
    assert.match(npm.text, /<span class="badge">latest<\/span>/);
    assert.match(npm.text, /href="\/packages\/npm\/web-left-pad\?version=1\.0\.0">1\.0\.0<\/a><\/td><td>\d{4}-\d\d-\d\d<\/td><td><span class="badge warn" title="use 1\.1\.0">deprecated<\/span>/);
    assert.match(npm.text, /<a href="\/packages\/npm\/%40team\/secret">@team\/secret<\/a> <code>\^2\.0\.0<\/code>/);
    assert.match(npm.text, /npm install web-left-pad@1\.1\.0 --registry=http:\/\/registry\.example\.com\/npm\//);
    assert.match(npm.text, /integrity: sha512-/);
    const padder = await get('/packages/npm/web-left-pad', basic('padder'));
    assert.match(padder.text, /<li>@team\/secret <code>\^2\.0\.0<\/code><\/li>/, 'no link to a package this visitor may not read');
    const older = await get('/packages/npm/web-left-pad?version=1.0.0', admin);
    assert.match(older.text, /Deprecated: use 1\.1\.0/);
    assert.equal((await get('/packages/npm/web-left-pad?version=9.9.9', admin)).status, 404);

    const pypi = await get('/packages/pypi/web-demo');
    assert.match(pypi.text, /<p>A <em>PyPI<\/em> project with a Markdown description\.<\/p>/);
    assert.match(pypi.text, /pip install --index-url http:\/\/registry\.example\.com\/pypi\/simple\/ web-demo==0\.3\.0/);
    assert.match(pypi.text, /web_demo-0\.3\.0-py3-none-any\.whl<\/td><td>\d+ B<\/td><td class="digest">sha256: [0-9a-f]{64}/);

    const cargo = await get('/packages/cargo/web-crate', admin);
    const crateReadme = cargo.text.slice(cargo.text.indexOf('<section class="readme"'));
    assert.match(crateReadme, /<h1>web-crate<\/h1>\n<p>A crate whose readme <code>cargo publish<\/code> sent, with a <a href="https:\/\/registry\.example\.com\/crate" rel="nofollow noopener noreferrer">link<\/a>\.<\/p>/);
    assert.doesNotMatch(crateReadme, /<script/);
    assert.match(cargo.text, /cargo add web-crate@0\.2\.0 --registry smartregistry/);
    assert.match(cargo.text, /index = &quot;sparse\+http:\/\/registry\.example\.com\/cargo\/&quot;/);

    const maven = await get('/packages/maven/com.example:web-lib', admin);
    assert.match(maven.text, /&lt;artifactId&gt;web-lib&lt;\/artifactId&gt;\n  &lt;version&gt;1\.2\.0&lt;\/version&gt;/);
    assert.match(maven.text, /web-lib-1\.2\.0\.jar<\/td><td>27 B<\/td>/);
    assert.match(maven.text, /<p>A library for the web page tests &amp; their readers\.<\/p>/, "the POM's description");
    assert.match(maven.text, /<li><a href="\/packages\/maven\/com\.example%3Aweb-base">com\.example:web-base<\/a> <code>\[1\.0,2\.0\)<\/code><\/li>/);
    assert.match(maven.text, /<li>org\.elsewhere:other <code>3\.1<\/code> <span class="badge">optional<\/span><\/li>/);
    assert.match(maven.text, /<li>junit:junit <code>4\.13\.2<\/code> <span class="badge">test<\/span><\/li>/);

    const oci = await get('/packages/oci/web/app', admin);
    assert.match(oci.text, /docker pull registry\.example\.com\/web\/app:1\.0/);
    assert.match(oci.text, /application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip<\/td><td>2\.0 KiB<\/td>/);
  });

  it('shows a Composer package: description, tagged versions and dev branches, requirements, the dist shasum, composer require with the repository', async () => {
    const admin = basic('admin');
    assert.equal((await get('/packages/composer/web/greeter')).status, 404, 'private to anonymous');
    const page = await get('/packages/composer/web/greeter', admin);
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>web\/greeter <span class="muted">1\.0\.0<\/span>/, 'the newest stable version, not the beta or the branch');
    assert.match(page.text, /<p>Greets people from the web page tests<\/p>/);
    assert.match(page.text, /License: MIT/);
    const versions = [...page.text.matchAll(/\?version=([^"]+)">/g)].map((match) => decodeURIComponent(match[1]));
    assert.deepEqual(versions, ['1.1.0-beta1', '1.0.0', 'dev-main']);
    assert.match(page.text, /dev-main<\/a><\/td><td>\d{4}-\d\d-\d\d<\/td><td><span class="badge">dev branch<\/span>/);
    // Requirements that are no package here are names, not links to a 404.
    assert.match(page.text, /<li>web\/helpers <code>\^2\.0<\/code><\/li>/);
    assert.match(page.text, /<li>web\/testing <code>\^1\.0<\/code> <span class="badge">dev<\/span><\/li>/);
    assert.ok(!page.text.includes('/packages/composer/php'), 'platform requirements have no page');
    assert.match(page.text, /composer config repositories\.smartregistry composer http:\/\/registry\.example\.com\/composer\ncomposer require web\/greeter:1\.0\.0/);
    assert.match(page.text, /&quot;url&quot;: &quot;http:\/\/registry\.example\.com\/composer&quot;/);
    const metadata = await fixture.request('GET', '/composer/p2/web/greeter.json', { headers: { authorization: admin } });
    const stable = (metadata.json.packages['web/greeter'] as { version: string; dist: { shasum: string } }[]).find((entry) => entry.version === '1.0.0')!;
    assert.match(page.text, new RegExp(`${stable.dist.shasum}\\.zip</td><td>\\d+ B</td><td class="digest">sha1: ${stable.dist.shasum}`));
    const branch = await get('/packages/composer/web/greeter?version=dev-main', admin);
    assert.match(branch.text, /composer require web\/greeter:dev-main/);
    assert.equal((await get('/packages/composer/web/greeter?version=9.9.9', admin)).status, 404);
    assert.equal((await get('/packages/composer/Web/Greeter', admin)).status, 404, 'not a Composer name');
  });

  it('shows a gem: summary and description, versions with platforms, a yanked version marked, files, gem install and a Gemfile source block', async () => {
    const admin = basic('admin');
    assert.equal((await get('/packages/rubygems/web-gem')).status, 404, 'private to anonymous');
    const page = await get('/packages/rubygems/web-gem', admin);
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>web-gem <span class="muted">1\.0\.0<\/span><\/h1>/);
    assert.match(page.text, /<p>web-gem for tests<\/p>/, 'the summary');
    assert.match(page.text, /<pre class="readme-text">Gems for the web page, described at length\.<\/pre>/, 'the description');
    assert.match(page.text, /1\.0\.0<\/a><\/td><td>\d{4}-\d\d-\d\d<\/td><td><span class="badge">ruby<\/span><span class="badge">x86_64-linux<\/span><\/td>/);
    assert.match(page.text, /0\.9\.0<\/a><\/td><td>\d{4}-\d\d-\d\d<\/td><td><span class="badge">ruby<\/span><span class="badge warn" title="">yanked<\/span>/);
    assert.match(page.text, /<th scope="row">Platforms<\/th><td class="digest">ruby, x86_64-linux<\/td>/);
    assert.match(page.text, /web-gem-1\.0\.0\.gem<\/td><td>[\d.]+ (B|KiB)<\/td><td class="digest">sha256: [0-9a-f]{64}/);
    assert.match(page.text, /web-gem-1\.0\.0-x86_64-linux\.gem<\/td>/);
    assert.match(page.text, /<li>web-base <code>&gt;= 1\.0<\/code><\/li>/);
    assert.match(page.text, /gem install web-gem -v 1\.0\.0 --clear-sources --source http:\/\/registry\.example\.com\/rubygems\//);
    assert.match(page.text, /source &quot;http:\/\/registry\.example\.com\/rubygems&quot; do\n  gem &quot;web-gem&quot;, &quot;1\.0\.0&quot;\nend/);
    const yanked = await get('/packages/rubygems/web-gem?version=0.9.0', admin);
    assert.match(yanked.text, /<h1>web-gem <span class="muted">0\.9\.0<\/span><span class="badge warn" title="">yanked<\/span><\/h1>/);
    assert.match(yanked.text, /web-gem-0\.9\.0\.gem \(yanked\)/);
  });

  it('lists recent publishes of all seven protocols and counts per ecosystem on the home page, each visitor only what they may read', async () => {
    const admin = basic('admin');
    // Publishes reach the list in the background (and an anonymous page may be a second old): wait until the last one is there.
    const settledHome = async (authorization?: string) => {
      let home = await get('/', authorization);
      for (let tries = 0; tries < 100 && !recentOf(home.text).some((entry) => entry.startsWith(authorization ? '/packages/rubygems/' : '/packages/pypi/')); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        home = await get('/', authorization);
      }
      return home;
    };
    const home = await settledHome(admin);
    assert.deepEqual(recentOf(home.text), [
      '/packages/rubygems/web-gem?version=1.0.0',
      '/packages/rubygems/web-gem?version=0.9.0',
      '/packages/composer/web/greeter?version=dev-main',
      '/packages/composer/web/greeter?version=1.1.0-beta1',
      '/packages/composer/web/greeter?version=1.0.0',
      '/packages/oci/web/app?version=2.0',
      '/packages/oci/web/app?version=1.0',
      '/packages/maven/com.example%3Aweb-lib?version=1.2.0',
      '/packages/maven/com.example%3Aweb-base?version=1.0.0',
      '/packages/cargo/web-crate?version=0.2.0',
      '/packages/pypi/web-demo?version=0.3.0',
      '/packages/npm/%40team/secret?version=2.0.0',
      '/packages/npm/web-hostile?version=0.1.0',
      '/packages/npm/web-left-pad?version=1.1.0',
      '/packages/npm/web-left-pad?version=1.0.0',
    ]);
    assert.match(home.text, /<a href="#section-npm">npm<\/a> <strong>3<\/strong>/);
    assert.match(home.text, /<a href="#section-rubygems">RubyGems<\/a> <strong>1<\/strong>/);
    assert.equal([...home.text.matchAll(/<a href="#section-/g)].length, 7, 'a count for each of the seven');

    const anonymous = await settledHome();
    assert.deepEqual(recentOf(anonymous.text), ['/packages/pypi/web-demo?version=0.3.0']);
    assert.deepEqual([...anonymous.text.matchAll(/<a href="#section-(\w+)">/g)].map((match) => match[1]), ['pypi'], 'no count of private ecosystems');
    const reader = await get('/', basic('reader'));
    assert.deepEqual(recentOf(reader.text), ['/packages/pypi/web-demo?version=0.3.0', '/packages/npm/%40team/secret?version=2.0.0']);
  });

  it('shows an OCI repository: tags, the platforms of an index with sizes linked to their manifests, layer sizes, and referrers', async () => {
    const admin = basic('admin');
    const index = await get('/packages/oci/web/app?version=2.0', admin);
    assert.equal(index.status, 200);
    const tags = [...index.text.matchAll(/<td><a href="\/packages\/oci\/web\/app\?version=([^"]+)">/g)].map((match) => match[1]);
    assert.deepEqual(tags, ['1.0', '2.0']);
    assert.match(index.text, /<th scope="row">Media type<\/th><td class="digest">application\/vnd\.oci\.image\.index\.v1\+json<\/td>/);
    const platforms = [...index.text.matchAll(/<th scope="row">Platform ([^<]+)<\/th><td class="digest"><a href="\/packages\/oci\/web\/app\?version=(sha256%3A[0-9a-f]{64})">(sha256:[0-9a-f]{64})<\/a>/g)];
    assert.deepEqual(platforms.map((match) => match[1].replace(/\d+ bytes/, 'N bytes')), ['linux/amd64 (N bytes)', 'linux/arm64/v8 (N bytes)']);
    const referrer = /<th scope="row">Referrer application\/vnd\.dev\.cosign\.artifact\.sig\.v1\+json<\/th><td class="digest"><a href="\/packages\/oci\/web\/app\?version=(sha256%3A[0-9a-f]{64})">sha256:[0-9a-f]{64} \(\d+ bytes, 2026-12-01T09:00:00Z\)<\/a>/.exec(index.text);
    assert.ok(referrer, 'the signature is listed as a referrer of the index');
    assert.match(index.text, /docker pull registry\.example\.com\/web\/app:2\.0/);

    // A platform's own manifest, by digest: its layer with its size, pulled by digest.
    const arm = await get(`/packages/oci/web/app?version=${platforms[1][2]}`, admin);
    assert.equal(arm.status, 200);
    assert.match(arm.text, /application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip<\/td><td>4\.9 KiB<\/td>/);
    assert.match(arm.text, new RegExp(`docker pull registry\\.example\\.com/web/app@${platforms[1][3]}`));
    // The signature's page names what it signs.
    const signature = await get(`/packages/oci/web/app?version=${referrer![1]}`, admin);
    assert.match(signature.text, /<th scope="row">Artifact type<\/th><td class="digest">application\/vnd\.dev\.cosign\.artifact\.sig\.v1\+json<\/td>/);
    assert.match(signature.text, /<th scope="row">Refers to<\/th><td class="digest"><a href="\/packages\/oci\/web\/app\?version=sha256%3A/);
    assert.equal((await get(`/packages/oci/web/app?version=sha256%3A${'0'.repeat(64)}`, admin)).status, 404);
    assert.equal((await get('/packages/oci/web/app?version=bad%20tag', admin)).status, 404);
  });

  it('keeps an anonymous page for its own public host only', async () => {
    const here = await get('/packages/pypi/web-demo');
    const there = await fixture.request('GET', '/packages/pypi/web-demo', { headers: { host: 'mirror.example.com' } });
    assert.match(here.text, /--index-url http:\/\/registry\.example\.com\/pypi\/simple\//);
    assert.match(there.text, /--index-url http:\/\/mirror\.example\.com\/pypi\/simple\//);
    const signedIn = await get('/packages/pypi/web-demo', basic('admin'));
    assert.match(signedIn.text, /Signed in as <strong>admin<\/strong>/, 'never an anonymous page for a signed-in visitor');
  });

  it('serves its stylesheet and script, and answers unknown pages and methods in HTML', async () => {
    const css = await get('/-/assets/web.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const js = await get('/-/assets/copy.js');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(js.text, /navigator\.clipboard\.writeText/);
    const search = await get('/-/assets/search.js');
    assert.equal(search.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(search.text, /history\.replaceState/);
    const missing = await get('/-/assets/other.js');
    assert.equal(missing.status, 404);
    assert.equal((await get('/no/such/page')).status, 404);
    const post = await fixture.request('POST', '/search', { body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    // The protocols keep their own answers beside the page.
    const npmMissing = await fixture.request('GET', '/npm/no-such-package', { headers: { authorization: basic('admin') } });
    assert.equal(npmMissing.status, 404);
    assert.match(npmMissing.headers['content-type'], /application\/json/);
  });
});

describe('web page configuration', () => {
  it('refuses a web basePath that a protocol uses too', () => {
    assert.throws(
      () => new SmartRegistry({ storage: { type: 'filesystem', path: '/tmp/unused' }, auth: {}, npm: { enabled: true, basePath: '/npm' }, web: { enabled: true, basePath: '/npm/' } }),
      /web and npm share the basePath '\/npm'/,
    );
  });

  it('is mounted at / by smartregistry serve', () => {
    const config = buildRegistryConfig({ dataDir: '/tmp/unused' } as Parameters<typeof buildRegistryConfig>[0]);
    assert.deepEqual(config.web, { enabled: true, basePath: '/' });
  });
});
