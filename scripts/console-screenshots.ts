/**
 * `npm run console:screenshots`: the README's pictures of the console, taken from a real platform.
 * Starts its own Temporal dev server (in memory), an in-memory database and the whole platform, then
 * tells a short story through the API: `weather` trained, approved and promoted; live predictions
 * and two drift checks; a second pipeline awaiting approval. Signs in as the approver in Debian's
 * chromium (PERENNIAL_CHROMIUM to use another) and saves, at 1200x800:
 *   docs/console-approvals.png   the approvals page, with the pending pipeline
 *   docs/console-pipeline.png    that pipeline's page
 *   docs/console-model.png       the model page at its monitor: drift per feature over time
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { startPlatform } from '../platform/platform';
import { resolveTemporalCli } from './temporal-cli';
import { startTemporalDevServer } from './temporal-dev-server';

const root = path.resolve(import.meta.dirname, '..');
const docs = path.join(root, 'docs');
const SEATTLE = path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv');
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const t0 = Date.now();
  const step = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${what}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-screenshots-'));
  const server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
  const database = await openDatabase({ pgliteDir: 'memory://' });
  await database.migrate();
  const adminToken = crypto.randomBytes(18).toString('hex');
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: adminToken,
    PERENNIAL_TF_BACKEND: process.env.PERENNIAL_TF_BACKEND ?? 'wasm', PERENNIAL_LOG_LEVEL: 'error',
    PERENNIAL_IMPORT_ROOTS: path.dirname(SEATTLE),
  });
  const platform = await startPlatform(config, { temporalAddress: server.address, database, log: () => {} });
  const base = platform.apiUrl!;
  const browser = await chromium.launch({ executablePath: process.env.PERENNIAL_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  try {
    step(`platform at ${base}`);
    const call = async (token: string, method: string, route: string, body?: unknown) => {
      const res = await fetch(base + route, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json: any = await res.json().catch(() => ({}));
      if (res.status >= 400) throw new Error(`${method} ${route} -> ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const key = async (name: string, role: string) => (await call(adminToken, 'POST', '/v1/api-keys', { name, role })).token as string;
    const olivia = await key('olivia', 'operator');
    const alice = await key('alice', 'approver');
    const waitFor = async (id: string, until: (p: any) => boolean) => {
      for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(300)) {
        const p = await call(olivia, 'GET', `/v1/pipelines/${id}`);
        if (until(p)) return p;
      }
      throw new Error(`pipeline ${id} never got there`);
    };
    const request = (seed: number) => ({
      model: 'weather', dataset: { uri: SEATTLE }, target: 'weather', features: FEATURES,
      training: { epochs: 10, hiddenUnits: [16], seed },
      // checks only when asked; no retraining of its own, so the approvals page shows the one pipeline
      monitor: { interval: '1h', window: '30d', minRows: 50, retrainOnDrift: false },
    });

    // version 1: trained, approved with a comment, in production
    const first = await call(olivia, 'POST', '/v1/pipelines', request(1));
    await waitFor(first.id, (p) => p.status === 'awaiting_approval');
    await call(alice, 'POST', `/v1/pipelines/${first.id}/approve`, { comment: 'Beats the baseline on held-out days.' });
    await waitFor(first.id, (p) => p.status === 'completed');
    step('weather v1 in production');

    // live traffic, two drift checks
    const days = fs.readFileSync(SEATTLE, 'utf8').trim().split('\n').slice(1).map((line) => {
      const [, precipitation, tempMax, tempMin, wind] = line.split(',');
      return { precipitation: Number(precipitation), temp_max: Number(tempMax), temp_min: Number(tempMin), wind: Number(wind) };
    });
    // days from across the four years, as the model was trained on: no drift
    for (let check = 0; check < 2; check++) {
      for (let i = 0; i < 4; i++) {
        const instances = Array.from({ length: 50 }, (_, k) => days[((check * 4 + i) * 50 + k) * 7 % days.length]);
        await call(olivia, 'POST', '/v1/models/weather:predict', { instances });
      }
      await sleep(1500); // the prediction log is written in batches
      await call(olivia, 'POST', '/v1/models/weather/monitor/check');
    }
    step('two drift checks');

    // version 2: awaiting approval
    const second = await call(olivia, 'POST', '/v1/pipelines', request(2));
    await waitFor(second.id, (p) => p.status === 'awaiting_approval');
    step(`${second.id} awaits approval`);

    const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
    await page.goto(`${base}/ui/sign-in`);
    await page.getByLabel('API token').fill(alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    fs.mkdirSync(docs, { recursive: true });
    const shoot = async (route: string, file: string, scrollTo?: string) => {
      await page.goto(base + route);
      await page.waitForLoadState('networkidle');
      // the part worth showing, at the top of the viewport (runs in the page)
      if (scrollTo) await page.getByRole('heading', { name: scrollTo, exact: true }).evaluate((el: any) => {
        el.scrollIntoView({ block: 'start' });
        (globalThis as any).scrollBy(0, -24);
      });
      const out = path.join(docs, file);
      await page.screenshot({ path: out });
      step(`${path.relative(root, out)} (${Math.round(fs.statSync(out).size / 1024)} KB)`);
    };
    await shoot('/ui/approvals', 'console-approvals.png');
    await shoot(`/ui/pipelines/${second.id}`, 'console-pipeline.png');
    await shoot('/ui/models/weather', 'console-model.png', 'Monitor');
  } finally {
    await browser.close();
    await platform.stop();
    await database.close();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
