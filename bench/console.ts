/**
 * `npm run bench:console`: page weight and server render time of the console's approvals and
 * pipelines pages with 1,000 pipelines. One platform as `npm start` runs it (its own Temporal dev
 * server, embedded PGlite, WASM backend): BENCH_WAITING real weather pipelines (default 5) trained
 * and left awaiting approval, then 1,000 ended runs recorded beside them, each with the outcome a
 * real run recorded. Each page is fetched BENCH_FETCHES times (default 20) over HTTP on localhost
 * with a signed-in session, after one unmeasured fetch; the time is request to last byte.
 * Never part of `npm test`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../config';
import { pipelineRuns } from '../db/schema';
import { startPlatform } from '../platform/platform';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { startTemporalDevServer } from '../scripts/temporal-dev-server';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { printTable, saveResults } from './report';

const root = path.resolve(import.meta.dirname, '..');
const WEATHER = path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv');
const WAITING = Number(process.env.BENCH_WAITING ?? 5);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 20);
const ENDED = 1000;
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

const server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-console-'));
const token = `bench-${crypto.randomBytes(12).toString('hex')}`;
const config = loadConfig({
  PORT: '0', HOST: '127.0.0.1', PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: token, PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'error',
});
const platform = await startPlatform(config, { temporalAddress: server.address, workflowBundlePath: await cachedWorkflowBundle(dataDir), log: () => {} });
const url = platform.apiUrl!;
const api = async (method: string, route: string, body?: unknown, as = token) => {
  const res = await fetch(url + route, { method, headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json() as any;
  if (res.status >= 400) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

try {
  // an operator starts, an approver looks: four-eyes shows its sentence, the approver their buttons
  const operator = (await api('POST', '/v1/api-keys', { name: 'olivia', role: 'operator' })).token;
  const approver = (await api('POST', '/v1/api-keys', { name: 'alice', role: 'approver' })).token;
  const ids: string[] = [];
  for (let i = 0; i < WAITING; i++) {
    ids.push((await api('POST', '/v1/pipelines', { model: `bench-${i % 3}`, dataset: { uri: WEATHER }, target: 'weather', training: { epochs: 5 } }, operator)).id);
  }
  for (const id of ids) {
    for (;;) {
      const p = await api('GET', `/v1/pipelines/${id}`);
      if (p.status === 'awaiting_approval') break;
      if (p.status !== 'running') throw new Error(`${id} ended ${p.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const [model] = await platform.database!.db.select().from(pipelineRuns).where(eq(pipelineRuns.id, ids[0]));
  const outcome = { ...(await api('GET', `/v1/pipelines/${ids[0]}`)), status: 'completed', stage: 'done' };
  delete outcome.temporalUiUrl;
  const base = Date.now() - 86_400_000;
  for (let from = 0; from < ENDED; from += 250) {
    await platform.database!.db.insert(pipelineRuns).values(Array.from({ length: 250 }, (_, k) => {
      const i = from + k;
      const id = `pipeline-bench-${String(i).padStart(4, '0')}`;
      return { id, runId: `run-${i}`, modelName: `bench-${i % 3}`, startedBy: 'olivia', request: model.request, status: 'completed' as const,
        outcome: { ...outcome, id }, createdAt: new Date(base + i * 1000), endedAt: new Date(base + i * 1000 + 60_000) };
    }));
  }

  const signIn = await fetch(`${url}/ui/sign-in`, { method: 'POST', body: new URLSearchParams({ token: approver }), redirect: 'manual' });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
  const pages: { page: string; bytes: number; gzipBytes: number; p50Ms: number; p95Ms: number }[] = [];
  for (const page of ['/ui/approvals', '/ui/pipelines', '/ui/pipelines?status=completed', `/ui/pipelines/${ids[0]}`, '/ui']) {
    const times: number[] = [];
    let bytes = 0;
    let gz = 0;
    for (let i = 0; i <= FETCHES; i++) {
      const t0 = performance.now();
      const res = await fetch(url + page, { headers: { cookie } });
      const body = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${page}: ${res.status}`);
      if (i === 0) continue; // warm-up
      times.push(ms);
      bytes = body.length;
      gz = zlib.gzipSync(body).length;
    }
    pages.push({ page: page.replace(ids[0], ':id'), bytes, gzipBytes: gz, p50Ms: pct(times, 0.5), p95Ms: pct(times, 0.95) });
  }
  const table = printTable(`Console pages: ${ENDED.toLocaleString('en')} ended pipelines and ${WAITING} awaiting approval, ${FETCHES} fetches each (PGlite, dev server)`,
    ['page', 'bytes', 'gzip bytes', 'render p50 ms', 'render p95 ms'],
    pages.map((p) => [p.page, p.bytes.toLocaleString('en'), p.gzipBytes.toLocaleString('en'), p.p50Ms.toFixed(1), p.p95Ms.toFixed(1)]),
    ['The pipelines page shows 50 runs a page (nextCursor); the approvals page shows every pipeline awaiting a decision, each asked of its workflow.']);
  saveResults('console', { waiting: WAITING, ended: ENDED, fetches: FETCHES, results: pages, tables: [table] });
} finally {
  await platform.stop(); // closes the database it opened
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
