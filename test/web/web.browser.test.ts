/**
 * The web page in a real browser: Debian's chromium driven by playwright-core, headless, against the
 * registry served by node:http on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNodeHandler } from '../../ts/adapters/node.js';
import { clientMissing } from '../helpers/clients.js';
import { createWebFixture, PASSWORDS, type IWebFixture } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
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

    // Each protocol's package is found by one search.
    await page.goto(`${origin}/search?q=web`);
    for (const href of ['/packages/npm/web-left-pad', '/packages/pypi/web-demo', '/packages/cargo/web-crate', '/packages/maven/com.example%3Aweb-lib', '/packages/oci/web/app']) {
      assert.equal(await page.locator(`a[href="${href}"]`).count(), 1, href);
    }
    await context.close();
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
    assert.equal(await page.locator('a[href="/packages/npm/web-left-pad"]').count(), 0);
    assert.equal(await page.locator('a[href="/packages/pypi/web-demo"]').count(), 1);
    await anonymous.close();

    const signedIn = await browser.newContext();
    const again = await signedIn.newPage();
    await signIn(again, 'wrong-password');
    assert.equal(await again.textContent('[role=alert]'), 'Wrong user name or password.');
    await signIn(again);
    assert.equal(new URL(again.url()).pathname, '/');
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
