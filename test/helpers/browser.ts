/**
 * Browser tests of the console: Debian's chromium driven by playwright-core (Playwright's own
 * browser download is not used). One browser per test file, a fresh context (cookies, storage) per
 * test, screenshots in the test's own temporary folder. Without chromium the tests skip, saying how
 * to install it; .ci/run installs it, so CI runs them.
 *
 *   const browser = useBrowser();
 *   test('...', { skip: browser.skip }, async (t) => {
 *     const page = await browser.page(t);
 *     await signIn(page, platform.url, token);
 *     await screenshot(page, 'approvals');
 *   });
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PERENNIAL_CHROMIUM ?? '/usr/bin/chromium';

/** why the browser tests skip (chromium is missing), or false when they can run */
export function chromiumMissing(): string | false {
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
    return false;
  } catch {
    return `chromium is not installed at ${CHROMIUM_PATH}: apt-get install chromium (or set PERENNIAL_CHROMIUM)`;
  }
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}

export const VIEWPORT = { width: 1200, height: 800 };

export interface BrowserSuite {
  /** the `skip` option for each browser test: a message when chromium is missing */
  skip: string | false;
  /** a page in a fresh context, closed when the test ends */
  page(t: TestContext): Promise<Page>;
  /** the browser itself, once `before` has run */
  browser(): Browser;
}

/** One browser for this test file: launched in `before`, closed in `after`. Call at the top level. */
export function useBrowser(): BrowserSuite {
  const skip = chromiumMissing();
  let browser: Browser | undefined;
  before(async () => { if (!skip) browser = await launchChromium(); });
  after(async () => { await browser?.close(); });
  return {
    skip,
    browser() {
      if (!browser) throw new Error('the browser is not launched: call useBrowser() at the top level of the test file');
      return browser;
    },
    async page(t) {
      const context = await this.browser().newContext({ viewport: VIEWPORT });
      t.after(() => context.close());
      const page = await context.newPage();
      pages.set(page, { t, context });
      return page;
    },
  };
}

const pages = new WeakMap<Page, { t: TestContext; context: BrowserContext; dir?: string }>();

/**
 * Saves a PNG of the page in the test's own temporary folder (made on the first screenshot and
 * left behind for a person to look at) and prints its path as a diagnostic of the test.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const owner = pages.get(page);
  if (!owner) throw new Error('screenshot: the page was not made by useBrowser().page(t)');
  const slug = owner.t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
  owner.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), `perennial-console-${slug}-`));
  const file = path.join(owner.dir, `${name.replace(/[^A-Za-z0-9_-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  owner.t.diagnostic(`screenshot: ${file}`);
  return file;
}

/** Signs in on the console's sign-in page with an API token, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/sign-in`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

/** The console's session cookie in the page's context, as a `cookie` header value. */
export async function sessionCookie(page: Page): Promise<string> {
  const owner = pages.get(page);
  const context = owner?.context ?? page.context();
  const cookie = (await context.cookies()).find((c) => c.name === 'perennial_session');
  if (!cookie) throw new Error('no perennial_session cookie: not signed in');
  return `${cookie.name}=${cookie.value}`;
}

/**
 * Polls `check` until it returns something truthy: a guard against a hung test (two minutes by
 * default), not a timing assertion.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, guardMs = 120_000): Promise<T> {
  const deadline = Date.now() + guardMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} never happened${lastError ? `; last error: ${lastError instanceof Error ? lastError.message : lastError}` : ''}`);
}
