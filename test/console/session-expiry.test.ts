/**
 * A console session ends after PERENNIAL_SESSION_TTL: here three seconds, after which the next page
 * load lands on the sign-in form, and the old cookie opens nothing even when sent by hand.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';
import { eventually, screenshot, sessionCookie, signIn, useBrowser } from '../helpers/browser';

const browser = useBrowser();
let t: TestPlatform;
let viewer: string;
before(async () => {
  if (browser.skip) return;
  t = await startTestPlatform({ PERENNIAL_SESSION_TTL: '3s' });
  viewer = await t.createKey('vera', 'viewer');
});
after(async () => { await t?.stop(); });

test('a session ends after PERENNIAL_SESSION_TTL: the next page load lands on the sign-in form', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, viewer);
  assert.equal(new URL(page.url()).pathname, '/ui');
  await page.getByText('vera (viewer)').waitFor();
  const cookie = (await page.context().cookies()).find((c) => c.name === 'perennial_session')!;
  const lifetime = cookie.expires - Date.now() / 1000;
  assert.ok(lifetime > 0 && lifetime <= 4, `the cookie's Max-Age follows the TTL: it lives ${lifetime} s`);
  const header = await sessionCookie(page);

  // the server ends it too: the same cookie, sent by hand once the TTL has passed, opens nothing
  await eventually('the session to expire on the server', async () => {
    const res = await fetch(`${t.url}/ui/approvals`, { headers: { cookie: header }, redirect: 'manual' });
    return res.status !== 200 && new URL(res.headers.get('location') ?? '', t.url).pathname === '/ui/sign-in';
  }, 30_000);
  await page.goto(`${t.url}/ui/approvals`);
  assert.equal(new URL(page.url()).pathname, '/ui/sign-in');
  await page.getByLabel('API token').waitFor();
  await screenshot(page, 'expired');
});
