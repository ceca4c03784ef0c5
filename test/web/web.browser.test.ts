/**
 * The web page in a real browser: Debian's chromium driven by playwright-core, headless, against the
 * registry served by node:http on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing } from '../helpers/clients.js';
import { createWebFixture, PASSWORDS, type IWebFixture } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
/** Resolved when the accessibility test runs: without the devDependency only that test fails. */
const axeScript = () => createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** A package of each of the seven protocols, as the fixture published them. */
const SEVEN_PACKAGES = [
  '/packages/npm/web-left-pad',
  '/packages/pypi/web-demo',
  '/packages/cargo/web-crate',
  '/packages/maven/com.example%3Aweb-lib',
  '/packages/oci/web/app',
  '/packages/composer/web/greeter',
  '/packages/rubygems/web-gem',
];
const missing = clientMissing(CHROMIUM, ['--version']);

describe('web page in chromium', { skip: missing }, () => {
  let fixture: IWebFixture;
  let server: http.Server;
  let browser: Browser;
  let origin: string;

  before(async () => {
    fixture = await createWebFixture();
    server = http.createServer(createNodeHandler(fixture.registry));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  /** Signs in with the page's form, as a person does. */
  const signIn = async (page: Page, password: string = PASSWORDS.admin) => {
    await page.goto(`${origin}/sign-in`);
    await page.fill('#username', 'admin');
    await page.fill('#password', password);
    await Promise.all([page.waitForURL((url) => url.pathname !== '/sign-in' || password !== PASSWORDS.admin), page.click('form.sign-in button[type=submit]')]);
  };

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await fixture?.close();
  });

  it('searches, opens a package, shows its readme, and the copy button copies the install snippet', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    await signIn(page);
    assert.equal(new URL(page.url()).pathname, '/');
    await page.fill('#q', 'left pad');
    await page.press('#q', 'Enter');
    await page.waitForURL(/\/search\?q=left\+pad/);
    await page.click('a[href="/packages/npm/web-left-pad"]');
    await page.waitForURL(/\/packages\/npm\/web-left-pad$/);
    assert.equal((await page.textContent('h1'))?.trim(), 'web-left-pad 1.1.0');
    assert.match((await page.textContent('.readme')) ?? '', /Pads strings on the left\./);
    const snippet = 'npm install web-left-pad@1.1.0 --registry=http://127.0.0.1:' + new URL(origin).port + '/npm/';
    assert.equal((await page.textContent('#install-0'))?.trim(), snippet);
    const button = page.locator('button[data-copy="install-0"]');
    assert.ok(await button.isVisible(), 'the script shows the copy button');
    await button.click();
    await page.waitForFunction(() => document.querySelector('button[data-copy="install-0"]')?.textContent === 'Copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);

    // Each of the seven protocols' packages is found by one search, typed into the box.
    await page.fill('#q', 'web');
    await Promise.all([page.waitForURL(/\/search\?q=web$/), page.press('#q', 'Enter')]);
    for (const href of SEVEN_PACKAGES) assert.equal(await page.locator(`main a[href="${href}"]`).count(), 1, href);

    // Search as you type: the results replace the page while typing, without Enter.
    await page.goto(`${origin}/`);
    await page.locator('#q').pressSequentially('greet', { delay: 30 });
    await page.waitForURL(/\/search\?q=greet$/);
    await page.locator('main a[href="/packages/composer/web/greeter"]').waitFor();
    assert.equal(await page.locator('main a[href="/packages/npm/web-left-pad"]').count(), 0);
    assert.equal(await page.title(), 'Search greet · smartregistry');

    // A crate's page: the readme cargo sent, rendered, and its install snippet.
    await page.goto(`${origin}/search?q=web`);
    await page.click('main a[href="/packages/cargo/web-crate"]');
    await page.waitForURL(/\/packages\/cargo\/web-crate$/);
    assert.match((await page.textContent('.readme')) ?? '', /A crate whose readme cargo publish sent, with a link\./);
    assert.equal((await page.textContent('#install-0'))?.trim(), 'cargo add web-crate@0.2.0 --registry smartregistry');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
    await context.close();
  });

  it('has no serious or critical accessibility violations (axe-core) on the home, search, package and sign-in pages, light and dark', async () => {
    // Only here the page's CSP is bypassed: axe is injected as a script of the test's own.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await signIn(page);
    const pages = ['/', '/search?q=web', '/packages/npm/web-left-pad', '/packages/oci/web/app', '/packages/rubygems/web-gem', '/packages/composer/web/greeter', '/sign-in'];
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const path of pages) {
        await page.goto(`${origin}${path}`);
        await page.addScriptTag({ path: axeScript() });
        const violations = await page.evaluate(async () => {
          const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
          return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, nodes: violation.nodes.length }));
        });
        const grave = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
        assert.deepEqual(grave, [], `${colorScheme} ${path}`);
      }
    }
    await context.close();
  });

  it('follows the system colour scheme and fits a phone-width screen', async () => {
    const backgrounds: Record<string, string> = {};
    for (const colorScheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ colorScheme, viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      await signIn(page);
      backgrounds[colorScheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      for (const path of ['/', '/search?q=web', '/packages/npm/web-left-pad', '/packages/oci/web/app', '/packages/maven/com.example:web-lib']) {
        await page.goto(`${origin}${path}`);
        const width = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
        assert.ok(width.page <= width.screen, `${path}: ${width.page}px wide on a ${width.screen}px screen`);
        assert.ok(await page.locator('#q').isVisible(), `${path}: the search box is on screen`);
      }
      await context.close();
    }
    assert.deepEqual(backgrounds, { light: 'rgb(255, 255, 255)', dark: 'rgb(13, 17, 23)' });
  });

  it('runs nothing from a hostile readme', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn(page);
    await page.goto(`${origin}/packages/npm/web-hostile`);
    await page.click('text=raw link').catch(() => undefined);
    await page.click('text=styled');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('.readme script, .readme iframe, .readme form, .readme [onerror], .readme [onclick]').count(), 0);
    await context.close();
  });

  it('hides a private package from an anonymous visitor and shows it after sign-in', async () => {
    const anonymous = await browser.newContext();
    const page = await anonymous.newPage();
    const response = await page.goto(`${origin}/packages/npm/web-left-pad`);
    assert.equal(response?.status(), 404);
    await page.goto(`${origin}/search?q=web`);
    for (const href of SEVEN_PACKAGES) assert.equal(await page.locator(`main a[href="${href}"]`).count(), href.includes('/pypi/') ? 1 : 0, href);
    await anonymous.close();

    const signedIn = await browser.newContext();
    const again = await signedIn.newPage();
    await signIn(again, 'wrong-password');
    assert.equal(await again.textContent('[role=alert]'), 'Wrong user name or password.');
    // From the private package's 404, the page's own "Sign in" link leads back to it once signed in.
    assert.equal((await again.goto(`${origin}/packages/npm/web-left-pad`))?.status(), 404);
    await Promise.all([again.waitForURL(/\/sign-in\?next=/), again.click('nav a')]);
    await again.fill('#username', 'admin');
    await again.fill('#password', PASSWORDS.admin);
    await Promise.all([again.waitForURL(`${origin}/packages/npm/web-left-pad`), again.click('form.sign-in button[type=submit]')]);
    assert.match((await again.textContent('nav')) ?? '', /Signed in as admin/);
    const [cookie] = await signedIn.cookies();
    assert.equal(cookie.name, 'smartregistry_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(await again.evaluate(() => document.cookie), '', 'the page script cannot read the session');
    assert.equal((await again.goto(`${origin}/packages/npm/web-left-pad`))?.status(), 200);
    assert.equal((await again.textContent('h1'))?.trim(), 'web-left-pad 1.1.0');
    await Promise.all([again.waitForURL(`${origin}/`), again.click('nav button[type=submit]')]);
    assert.match((await again.textContent('nav')) ?? '', /Sign in/);
    assert.equal((await again.goto(`${origin}/packages/npm/web-left-pad`))?.status(), 404, 'hidden again after signing out');
    await signedIn.close();
  });
});
