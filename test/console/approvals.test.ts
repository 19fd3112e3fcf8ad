/**
 * Approvals and pipelines in the console, in a real browser on a real platform: an approver decides
 * from the approvals page and the pipeline goes on; the four-eyes rule and the roles decide which
 * buttons a person sees, and a form forged past a missing button is refused all the same.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { eventually, screenshot, sessionCookie, signIn, useBrowser } from '../helpers/browser';

const browser = useBrowser();
let t: TestPlatform;
let olivia: string; // operator: starts the pipelines
let oliviaApprover: string; // Olivia's second key, with the approver role: still Olivia for four-eyes
let alice: string; // approver
let bob: string; // approver
let vera: string; // viewer
let first: { id: string; version: number }; // MODEL, one approval
let pair: { id: string; version: number }; // PAIR, whose policy asks two approvals
// models of this file's own: workflow ids such as monitor-<model> are shared by every test file on the one Temporal server
const MODEL = 'console-approvals';
const PAIR = 'console-approvals-pair';

async function startAwaiting(model: string) {
  const started = await t.api('POST', '/v1/pipelines', { token: olivia, body: weatherRequest({ model, training: { epochs: 3, hiddenUnits: [8] } }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return started.body.id as string;
}

before(async () => {
  if (browser.skip) return;
  t = await startTestPlatform();
  olivia = await t.createKey('olivia', 'operator');
  oliviaApprover = await t.createKey('olivia-approvals', 'approver', 'olivia');
  alice = await t.createKey('alice', 'approver');
  bob = await t.createKey('bob', 'approver');
  vera = await t.createKey('vera', 'viewer');
  await t.setPolicy(PAIR, { approval: { approvals: 2 } });
  const ids = [await startAwaiting(MODEL), await startAwaiting(PAIR)];
  const [a, b] = await Promise.all(ids.map((id) => t.waitFor(id, (p) => p.status === 'awaiting_approval')));
  first = { id: a.id, version: a.modelVersion };
  pair = { id: b.id, version: b.modelVersion };
});
after(async () => { await t?.stop(); });

/** the approvals page's article for a model version */
async function approvalsArticle(page: Page, model: string, version: number) {
  await page.goto(`${t.url}/ui/approvals`);
  await page.getByRole('heading', { name: 'Approvals', exact: true }).waitFor();
  const article = page.getByRole('article').filter({ has: page.getByRole('heading', { name: `${model} v${version}`, exact: true }) });
  await article.waitFor();
  return article;
}

/** the form (action, fields) around the named button */
async function formOf(page: Page, button: string) {
  const form = page.getByRole('button', { name: button, exact: true }).locator('xpath=ancestor::form[1]');
  // runs in the page (the project's tsconfig has no DOM types)
  return form.evaluate((f: any) => ({
    action: f.action as string,
    fields: Object.fromEntries([...new (globalThis as any).FormData(f).entries()].map(([k, v]: [string, unknown]) => [k, String(v)])) as Record<string, string>,
  }));
}

test('the person who started a pipeline sees, even with an approver key, that another person must approve it, and no Approve button', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, oliviaApprover);
  await page.getByText('olivia-approvals (approver)').waitFor();
  const article = await approvalsArticle(page, MODEL, first.version);
  await article.getByText('You started this pipeline: another person must approve it.').waitFor();
  assert.equal(await article.getByRole('button', { name: 'Approve' }).count(), 0);
  await screenshot(page, 'four-eyes');
});

test('an operator and a viewer see what awaits approval, its metrics, its servability check and a link to Temporal, but no Approve or Reject', { skip: browser.skip }, async (t_) => {
  for (const [token, who] of [[olivia, 'olivia (operator)'], [vera, 'vera (viewer)']]) {
    const page = await browser.page(t_);
    await signIn(page, t.url, token);
    await page.getByText(who).waitFor();
    const article = await approvalsArticle(page, MODEL, first.version);
    await article.getByText(/accuracy/i).first().waitFor();
    await article.getByText('loaded as the API loads it, it answered 20 instances as it evaluated').waitFor();
    const temporal = article.getByRole('link', { name: 'Open in Temporal UI' });
    assert.match(String(await temporal.getAttribute('href')), new RegExp(first.id));
    assert.equal(await article.getByRole('button', { name: 'Approve' }).count(), 0, who);
    assert.equal(await article.getByRole('button', { name: 'Reject' }).count(), 0, who);
    await screenshot(page, `approvals-${who.split(' ')[0]}`);
  }
});

test('a viewer sees no Cancel button on a running pipeline, and a cancel form forged with a valid CSRF token is refused by the role check', { skip: browser.skip }, async (t_) => {
  // the operator's page has the button: its form is what a viewer would forge
  const operatorPage = await browser.page(t_);
  await signIn(operatorPage, t.url, olivia);
  await operatorPage.goto(`${t.url}/ui/pipelines/${first.id}`);
  await operatorPage.getByRole('heading', { name: `Pipeline ${first.id}` }).waitFor();
  const cancel = await formOf(operatorPage, 'Cancel');

  const page = await browser.page(t_);
  await signIn(page, t.url, vera);
  await page.goto(`${t.url}/ui/pipelines`);
  await page.getByRole('table').first().waitFor();
  await page.getByRole('link', { name: first.id }).first().click();
  await page.getByRole('heading', { name: `Pipeline ${first.id}` }).waitFor();
  await page.getByRole('link', { name: 'Open in Temporal UI' }).first().waitFor();
  for (const stage of ['ingest', 'train', 'evaluate']) await page.getByText(stage).first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);
  await screenshot(page, 'pipeline-as-viewer');

  // a CSRF token of the viewer's own session, from another form of the console
  const { _csrf } = (await formOf(page, 'Sign out')).fields;
  assert.ok(_csrf);
  const forged = await fetch(cancel.action, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: await sessionCookie(page), 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
    body: new URLSearchParams({ ...cancel.fields, _csrf }).toString(),
  });
  // refused by the API's role check: a 403, or (as the console answers an action the API refuses)
  // back to the pipeline's page with the API's sentence as an error
  if (forged.status !== 403) {
    assert.equal(forged.status, 303, await forged.text());
    const location = new URL(forged.headers.get('location')!, t.url);
    assert.match(location.searchParams.get('error') ?? '', /operator role/);
    await page.goto(location.toString());
    await page.getByRole('status').filter({ hasText: /operator role/ }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);
    await screenshot(page, 'forged-cancel-refused');
  }
  assert.equal((await t.api('GET', `/v1/pipelines/${first.id}`)).body.status, 'awaiting_approval', 'the pipeline was not cancelled');
});

test('an approver approves a pending pipeline from the approvals page with a comment, and the pipeline completes', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, alice);
  const article = await approvalsArticle(page, MODEL, first.version);
  await article.getByLabel('Comment', { exact: true }).fill('Looks good on the held-out days.');
  await screenshot(page, 'before-approve');
  await article.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: /approv/i }).first().waitFor();
  await screenshot(page, 'approved');

  const done = await t.waitFor(first.id, (p) => p.status !== 'running' && p.status !== 'awaiting_approval');
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.approval.comment, 'Looks good on the held-out days.');
  assert.equal(done.approval.decision, 'approved');
  // the decided pipeline has left the approvals page
  await page.goto(`${t.url}/ui/approvals`);
  await page.getByRole('heading', { name: 'Approvals', exact: true }).waitFor();
  assert.equal(await page.getByRole('heading', { name: `${MODEL} v${first.version}`, exact: true }).count(), 0);
});

test('when a policy asks two approvals, the article says how many more are needed after the first, and the second completes it', { skip: browser.skip }, async (t_) => {
  const alicePage = await browser.page(t_);
  await signIn(alicePage, t.url, alice);
  const aliceArticle = await approvalsArticle(alicePage, PAIR, pair.version);
  await aliceArticle.getByLabel('Comment', { exact: true }).fill('first of two');
  await aliceArticle.getByRole('button', { name: 'Approve' }).click();
  await alicePage.getByRole('status').filter({ hasText: /approv/i }).first().waitFor();

  const page = await browser.page(t_);
  await signIn(page, t.url, bob);
  const article = await approvalsArticle(page, PAIR, pair.version);
  await article.getByText(/Needs (1|one) more approval\b/).waitFor();
  await screenshot(page, 'needs-one-more');
  await article.getByLabel('Comment', { exact: true }).fill('second of two');
  await article.getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('status').filter({ hasText: /approv/i }).first().waitFor();
  const done = await eventually('the two-approval pipeline to end', async () => {
    const p = (await t.api('GET', `/v1/pipelines/${pair.id}`)).body;
    return p.status !== 'running' && p.status !== 'awaiting_approval' && p;
  });
  assert.equal(done.status, 'completed', JSON.stringify(done));
});
