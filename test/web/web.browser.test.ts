/**
 * The web page in a real browser: Debian's chromium driven by playwright-core, headless, against the
 * registry served by node:http on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
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
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await fixture?.close();
  });

  it('searches, opens a package, shows its readme, and the copy button copies the install snippet', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORDS.admin } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    // Signing in is the browser answering the page's Basic challenge; it then sends the credentials on its own.
    await page.goto(`${origin}/sign-in`);
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
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORDS.admin } });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${origin}/sign-in`);
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

    const signedIn = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORDS.admin } });
    const again = await signedIn.newPage();
    await again.goto(`${origin}/sign-in`);
    assert.equal(new URL(again.url()).pathname, '/');
    assert.match((await again.textContent('nav')) ?? '', /Signed in as admin/);
    assert.equal((await again.goto(`${origin}/packages/npm/web-left-pad`))?.status(), 200);
    await signedIn.close();
  });
});
