/**
 * A model's page in the console, in a real browser on a real platform: an approver rolls production
 * back to an earlier version; an operator checks the monitor now and sees drift per feature over
 * time as an SVG chart, and pauses and resumes the monitor.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { count, eq } from 'drizzle-orm';
import { predictions } from '../../db/schema';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { sendTraffic } from '../helpers/traffic';
import { eventually, screenshot, signIn, useBrowser } from '../helpers/browser';

const browser = useBrowser();
let t: TestPlatform;
let olga: string; // operator
let alice: string; // approver
let vera: string; // viewer
// a model of this file's own: workflow ids such as monitor-<model> are shared by every test file on the one Temporal server
const MODEL = 'console-models';

before(async () => {
  if (browser.skip) return;
  t = await startTestPlatform();
  olga = await t.createKey('olga', 'operator');
  alice = await t.createKey('alice', 'approver');
  vera = await t.createKey('vera', 'viewer');
  await t.allowUnapproved(MODEL);
  // two versions promoted in turn: version 2 in production, version 1 archived
  for (const seed of [1, 2]) {
    const started = await t.api('POST', '/v1/pipelines', {
      token: olga, body: weatherRequest({ model: MODEL, approval: { required: false }, training: { epochs: 3, hiddenUnits: [8], seed } }),
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done));
  }
});
after(async () => { await t?.stop(); });

const model = async () => (await t.api('GET', `/v1/models/${MODEL}`, { token: vera })).body;

test('an approver rolls production back to version 1 from the model page, with a comment', { skip: browser.skip }, async (t_) => {
  assert.equal((await model()).productionVersion, 2);
  const page = await browser.page(t_);
  await signIn(page, t.url, alice);
  await page.goto(`${t.url}/ui/models`);
  await page.getByRole('link', { name: MODEL, exact: true }).first().click();
  await page.getByRole('heading', { name: MODEL, exact: true }).waitFor();
  const versions = page.getByRole('table').first();
  await versions.waitFor();
  for (const v of [1, 2]) await versions.getByRole('cell', { name: `v${v}`, exact: true }).first().waitFor();
  await page.getByLabel('Version', { exact: true }).selectOption('1');
  await page.getByLabel('Comment', { exact: true }).fill('version 2 misreads the rain');
  await screenshot(page, 'before-rollback');
  await page.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('status').filter({ hasText: /roll/i }).first().waitFor();
  await screenshot(page, 'rolled-back');

  const after = await model();
  assert.equal(after.productionVersion, 1);
  assert.equal(after.versions.find((v: any) => v.version === 2).status, 'archived');
});

test('an operator and a viewer see no Roll back on the model page; the operator has the monitor\'s buttons, the viewer not', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, olga);
  await page.goto(`${t.url}/ui/models/${MODEL}`);
  await page.getByRole('heading', { name: MODEL, exact: true }).waitFor();
  await page.getByRole('button', { name: 'Check now' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Roll back' }).count(), 0);

  const viewerPage = await browser.page(t_);
  await signIn(viewerPage, t.url, vera);
  await viewerPage.goto(`${t.url}/ui/models/${MODEL}`);
  await viewerPage.getByRole('heading', { name: MODEL, exact: true }).waitFor();
  for (const button of ['Roll back', 'Check now', 'Pause', 'Resume']) {
    assert.equal(await viewerPage.getByRole('button', { name: button }).count(), 0, button);
  }
  await screenshot(viewerPage, 'model-as-viewer');
});

test('after "Check now" on a model serving live traffic, the model page draws drift per feature over time', { skip: browser.skip }, async (t_) => {
  // a window with enough logged predictions for a check to judge
  let served = 0;
  await sendTraffic(t, { token: vera, model: MODEL, batch: 10, until: () => served >= 120, onResponse: (b) => { served += b.predictions.length; } });
  const settings = await t.api('PUT', `/v1/models/${MODEL}/monitor`, { token: olga, body: { minRows: 50 } });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  await eventually('the predictions to be logged', async () => {
    const [{ rows }] = await t.database.db.select({ rows: count() }).from(predictions).where(eq(predictions.modelName, MODEL));
    return rows >= 120;
  });

  const page = await browser.page(t_);
  await signIn(page, t.url, olga);
  await page.goto(`${t.url}/ui/models/${MODEL}`);
  await page.getByRole('button', { name: 'Check now' }).click();
  await page.getByRole('status').first().waitFor();
  const chart = page.getByRole('img', { name: 'Drift per feature over time' });
  await eventually('the drift chart', async () => {
    if (await chart.count()) return true;
    await page.reload();
    return false;
  });
  assert.equal(await chart.evaluate((el: any) => String(el.tagName).toLowerCase()), 'svg');
  const drift = await t.api('GET', `/v1/models/${MODEL}/drift`, { token: vera });
  assert.ok(drift.body.items.length >= 1, JSON.stringify(drift.body));
  assert.ok(drift.body.items[0].rows >= 50, `the check judged ${drift.body.items[0].rows} rows`);
  await chart.scrollIntoViewIfNeeded();
  await screenshot(page, 'drift-chart');
});

test('an operator pauses and resumes the model\'s monitor from its page', { skip: browser.skip }, async (t_) => {
  const page = await browser.page(t_);
  await signIn(page, t.url, olga);
  await page.goto(`${t.url}/ui/models/${MODEL}`);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('status').filter({ hasText: /paus/i }).first().waitFor();
  await eventually('the monitor to be paused', async () => (await t.api('GET', `/v1/models/${MODEL}/monitor`)).body.state === 'paused');
  await screenshot(page, 'paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('status').filter({ hasText: /resum/i }).first().waitFor();
  await eventually('the monitor to watch again', async () => (await t.api('GET', `/v1/models/${MODEL}/monitor`)).body.state === 'watching');
});
