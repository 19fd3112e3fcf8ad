/**
 * The console's front door, in a real browser on a real platform: `/` leads to it, a page without a
 * session leads to the sign-in form, a bad token is refused, a good one opens a session in an
 * HttpOnly, SameSite=Strict cookie, and a form that did not come from the console is refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';
import { screenshot, sessionCookie, signIn, useBrowser } from '../helpers/browser';
import type { Page } from 'playwright-core';

const browser = useBrowser();
let t: TestPlatform;
let operator: string;
before(async () => {
  if (browser.skip) return;
  t = await startTestPlatform();
  operator = await t.createKey('olga', 'operator');
});
after(async () => { await t?.stop(); });

const FORM_EXPIRED = 'The form expired or did not come from this site.';

/** the action (absolute) and fields of the form that holds the named button */
async function formOf(page: Page, button: string) {
  const form = page.getByRole('button', { name: button }).locator('xpath=ancestor::form[1]');
  // runs in the page (the project's tsconfig has no DOM types)
  return form.evaluate((f: any) => ({
    action: f.action as string,
    method: String(f.getAttribute('method') ?? 'get').toLowerCase(),
    fields: Object.fromEntries([...new (globalThis as any).FormData(f).entries()].map(([k, v]: [string, unknown]) => [k, String(v)])) as Record<string, string>,
  }));
}

test('/ leads to the console, and a console page without a session leads to the sign-in form', { skip: browser.skip }, async (t_) => {
  const root = await fetch(`${t.url}/`, { redirect: 'manual' });
  assert.ok([301, 302, 303, 307, 308].includes(root.status), `/ answered ${root.status}`);
  assert.equal(new URL(root.headers.get('location')!, t.url).pathname, '/ui');
  for (const route of ['/ui', '/ui/approvals', '/ui/models', '/ui/audit']) {
    const res = await fetch(`${t.url}${route}`, { redirect: 'manual' });
    assert.ok([302, 303, 307].includes(res.status), `${route} answered ${res.status}`);
    assert.equal(new URL(res.headers.get('location')!, t.url).pathname, '/ui/sign-in', route);
  }
  const page = await browser.page(t_);
  await page.goto(`${t.url}/`);
  assert.equal(new URL(page.url()).pathname, '/ui/sign-in');
  await page.getByLabel('API token').waitFor();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await screenshot(page, 'sign-in');
});

test('a bad token is refused on the sign-in page with 401 and no session', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await page.goto(`${t.url}/ui/sign-in`);
  await page.getByLabel('API token').fill('not-a-token-at-all');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  assert.equal(answer.status(), 401);
  await page.getByText('That token is not valid.').waitFor();
  assert.equal((await page.context().cookies()).find((c) => c.name === 'perennial_session'), undefined);
  await screenshot(page, 'bad-token');
});

test('a good token opens a session: an HttpOnly, SameSite=Strict cookie on /ui for 8 hours, the person in the header, every section in the nav', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, operator);
  assert.equal(new URL(page.url()).pathname, '/ui');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'perennial_session');
  assert.ok(cookie, 'a perennial_session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/ui');
  const lifetime = cookie.expires - Date.now() / 1000;
  assert.ok(lifetime > 8 * 3600 - 120 && lifetime <= 8 * 3600 + 5, `the cookie lives ${lifetime} s, not 8 h`);
  assert.equal(await page.evaluate(() => String((globalThis as any).document.cookie).includes('perennial_session')), false, 'scripts cannot read it');

  await page.getByText('olga (operator)').waitFor();
  const nav = ['Overview', 'Approvals', 'Pipelines', 'Models', 'Schedules', 'Audit log'];
  for (const name of nav) await page.getByRole('link', { name, exact: true }).first().waitFor();
  await screenshot(page, 'overview');

  // every section opens, signed in
  for (const name of nav) {
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === 'GET'),
      page.getByRole('link', { name, exact: true }).first().click(),
    ]);
    assert.equal(answer.status(), 200, `${name}: ${answer.url()}`);
    await page.waitForLoadState();
    assert.notEqual(new URL(page.url()).pathname, '/ui/sign-in', name);
  }
  await page.getByRole('link', { name: 'Audit log', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.getByRole('table').first().waitFor();
  await screenshot(page, 'audit');
});

test('sign out ends the session: the console leads to the sign-in form again', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, operator);
  const cookie = await sessionCookie(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForLoadState();
  assert.equal(new URL(page.url()).pathname, '/ui/sign-in');
  await page.goto(`${t.url}/ui/approvals`);
  assert.equal(new URL(page.url()).pathname, '/ui/sign-in');
  // the old cookie, replayed, opens nothing either
  const replayed = await fetch(`${t.url}/ui`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(new URL(replayed.headers.get('location') ?? '', t.url).pathname, '/ui/sign-in', `answered ${replayed.status}`);
  await screenshot(page, 'signed-out');
});

test('every form carries a CSRF token, and a POST without it or with a wrong one is refused 403', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, operator);
  const cookie = await sessionCookie(page);
  const signOut = await formOf(page, 'Sign out');
  assert.equal(signOut.method, 'post');
  assert.ok(signOut.fields._csrf, 'the sign-out form has a _csrf field');
  assert.equal(await page.locator('form input[type="hidden"][name="_csrf"]').count(), await page.locator('form[method="post" i]').count(),
    'every POST form on the page has one');

  const post = (fields: Record<string, string>) => fetch(signOut.action, {
    method: 'POST', redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
    body: new URLSearchParams(fields).toString(),
  });
  const { _csrf, ...rest } = signOut.fields;
  for (const [why, fields] of [['no _csrf', rest], ['a wrong _csrf', { ...rest, _csrf: 'x'.repeat(_csrf.length) }]] as const) {
    const res = await post(fields);
    assert.equal(res.status, 403, why);
    assert.match(await res.text(), new RegExp(FORM_EXPIRED.replace(/\./g, '\\.')), why);
  }
  // refused, the session is still open
  await page.reload();
  assert.equal(new URL(page.url()).pathname, '/ui');
  await page.getByText('olga (operator)').waitFor();
  await screenshot(page, 'still-signed-in');
});

test('the audit log shows a page of entries in a table, and "Next page" leads to older ones', { skip: browser.skip }, async (t_) => {
  // more audited actions than one page holds: keys made by the admin
  for (let i = 0; i < 55; i++) await t.createKey(`audit-filler-${String(i).padStart(2, '0')}`, 'viewer');
  const page = await browser.page(t_);
  await signIn(page, t.url, operator);
  await page.getByRole('link', { name: 'Audit log', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  const table = page.getByRole('table').first();
  const firstPage = await table.locator('tbody tr').allInnerTexts();
  assert.ok(firstPage.length > 1 && firstPage.length < 57, `${firstPage.length} rows on the first page`);
  assert.match(firstPage[0], /audit-filler-54/, 'newest first');
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  const secondPage = await page.getByRole('table').first().locator('tbody tr').allInnerTexts();
  assert.ok(secondPage.length >= 1);
  assert.equal(secondPage.filter((row) => firstPage.includes(row)).length, 0, 'the next page holds other entries');
  assert.ok(secondPage.some((row) => /audit-filler-00/.test(row)), 'the oldest keys are on the next page');
  await screenshot(page, 'audit-next-page');
});
