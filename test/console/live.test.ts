/**
 * A running pipeline's page keeps itself current: its stages and training progress are refreshed in
 * place (htmx), without a page reload, until it waits for a decision.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { eventually, screenshot, signIn, useBrowser } from '../helpers/browser';

const browser = useBrowser();
let t: TestPlatform;
let olivia: string;

before(async () => {
  if (browser.skip) return;
  t = await startTestPlatform();
  olivia = await t.createKey('olivia', 'operator');
});
after(async () => { await t?.stop(); });

test("a running pipeline's page shows its training progress and stages as they change, without a reload", { skip: browser.skip }, async (t_) => {
  const started = await t.api('POST', '/v1/pipelines', {
    token: olivia, body: weatherRequest({ model: 'console-live', training: { epochs: 300, hiddenUnits: [8], cache: false } }),
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const id = started.body.id as string;
  await t.waitFor(id, (p) => p.stage === 'train' || p.status !== 'running');

  const page = await browser.page(t_);
  await signIn(page, t.url, olivia);
  await page.goto(`${t.url}/ui/pipelines/${id}`);
  await page.getByRole('heading', { name: `Pipeline ${id}`, exact: true }).waitFor();
  // a mark in the page: a reload or a navigation would take it away
  await page.evaluate(() => { (globalThis as { stillThisPage?: boolean }).stillThisPage = true; });
  const live = page.locator('#live');
  const first = await live.innerText();
  assert.ok(!first.includes('awaiting approval'), `it was still training when the page loaded: ${first}`);

  // the stages grow and the status moves on while we only watch
  const waiting = await eventually('the page to show the pipeline awaiting approval', async () =>
    (await live.innerText()).includes('awaiting approval') ? true : undefined);
  assert.ok(waiting);
  const text = await live.innerText();
  for (const stage of ['ingest', 'validate', 'train', 'evaluate', 'approval']) assert.ok(text.includes(stage), `${stage} in ${text}`);
  assert.match(text, /Training: epoch \d+ of 300/);
  assert.equal(await page.evaluate(() => (globalThis as { stillThisPage?: boolean }).stillThisPage), true, 'the page was not reloaded');
  await screenshot(page, 'pipeline-live');
});
