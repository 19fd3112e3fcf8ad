/**
 * `npm run bench:webhooks`: how long after an audit event commits its webhook reaches a receiver.
 * One platform as `npm start` runs it (API and orchestration worker in this process, the Temporal
 * dev server, embedded PGlite; BENCH_DATABASE_URL: a fresh database on that PostgreSQL server
 * instead), one webhook created through the API, a receiver on 127.0.0.1.
 *
 * Events: BENCH_WEBHOOK_EVENTS (200) `drift.detected` audit events written with the one audit
 * writer (db/audit.ts writeAudit, as the monitor's recordDriftReport writes them) straight on the
 * platform's database, so the whole path after the commit is the real one: the outbox row, NOTIFY,
 * the dispatcher, one `webhook-delivery-<id>` workflow each, the signed POST. Latency = the
 * receiver's arrival time minus the time writeAudit returned (the commit). Two runs: steady (one
 * event every 50 ms) and a burst (all at once).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { SystemActors } from '../common/actors';
import { loadConfig } from '../config';
import { writeAudit } from '../db/audit';
import { openDatabase } from '../db/client';
import { startPlatform } from '../platform/platform';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { startTemporalDevServer } from '../scripts/temporal-dev-server';
import { printTable, saveResults } from './report';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 200);
const STEADY_GAP_MS = 50;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-webhooks-'));
  const server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
  const serverUrl = process.env.BENCH_DATABASE_URL;
  const dbName = `bench_webhooks_${Date.now().toString(36)}`;
  let databaseUrl: string | undefined;
  if (serverUrl) {
    const admin = await openDatabase({ url: serverUrl });
    await admin.db.execute(sql.raw(`create database ${dbName}`));
    await admin.close();
    const u = new URL(serverUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const adminToken = crypto.randomBytes(16).toString('hex');
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', PERENNIAL_DATA_DIR: dir, PERENNIAL_ADMIN_TOKEN: adminToken, PERENNIAL_LOG_LEVEL: 'error',
    PERENNIAL_ALLOW_PRIVATE_WEBHOOKS: 'true', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const platform = await startPlatform(config, { temporalAddress: server.address, parts: { api: true, orchestration: true, training: false }, log: () => {} });
  const { db } = platform.database!;

  // the receiver: the arrival time of each delivery, by the report id in its body
  const arrivals = new Map<string, number>();
  let onArrival = () => {};
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      arrivals.set(body.details.reportId, at);
      res.writeHead(204).end();
      onArrival();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const created = await fetch(`${platform.apiUrl}/v1/webhooks`, {
    method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, events: ['drift.detected'], secret: crypto.randomBytes(16).toString('hex') }),
  });
  if (created.status !== 201) throw new Error(`could not create the webhook: ${created.status} ${await created.text()}`);

  const drift = (reportId: string) => writeAudit(db, {
    action: 'drift.detected', actor: SystemActors.monitor, model: 'bench-weather', version: 1, idempotencyKey: `${reportId}:drift.detected`,
    details: { kind: 'drift', reportId, driftShare: 1, features: 4, driftedFeatures: 4, drifted: ['precipitation', 'temp_max', 'temp_min', 'wind'], action: 'none' },
  });

  async function run(label: string, gapMs: number, count = EVENTS) {
    const committed = new Map<string, number>();
    const ids = Array.from({ length: count }, (_, i) => `${label}-${i}-${crypto.randomBytes(4).toString('hex')}`);
    const all = new Promise<void>((resolve) => { onArrival = () => { if (ids.every((id) => arrivals.has(id))) resolve(); }; });
    const t0 = performance.now();
    if (gapMs > 0) {
      for (const id of ids) {
        await drift(id);
        committed.set(id, performance.now());
        await new Promise((r) => setTimeout(r, gapMs));
      }
    } else {
      await Promise.all(ids.map(async (id) => { await drift(id); committed.set(id, performance.now()); }));
    }
    const guard = setTimeout(() => { throw new Error(`${label}: ${ids.filter((id) => !arrivals.has(id)).length} deliveries never arrived`); }, 300_000);
    await all;
    clearTimeout(guard);
    const latencies = ids.map((id) => arrivals.get(id)! - committed.get(id)!);
    const seconds = (Math.max(...ids.map((id) => arrivals.get(id)!)) - t0) / 1000;
    return { label, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies), seconds };
  }

  // one event first, so the bundle, the connections and the receiver are warm
  await run('warm-up', 0, 5);
  const steady = await run('steady', STEADY_GAP_MS);
  const burst = await run('burst', 0);

  const database = databaseUrl ? 'PostgreSQL' : 'embedded PGlite';
  const name = (r: typeof steady) => (r === steady ? `steady (one every ${STEADY_GAP_MS} ms)` : 'burst (all at once)');
  const table = printTable(`Webhook delivery latency: ${EVENTS} drift.detected audit events, one webhook, a receiver on 127.0.0.1 (${database})`,
    ['run', 'events', 'p50 ms', 'p99 ms', 'max ms', 'all delivered in s'],
    [steady, burst].map((r) => [name(r), EVENTS, r.p50.toFixed(0), r.p99.toFixed(0), r.max.toFixed(0), r.seconds.toFixed(1)]),
    ['Events written with writeAudit on the platform\'s database; latency = arrival at the receiver - commit.']);
  saveResults('webhooks', {
    events: EVENTS, steadyGapMs: STEADY_GAP_MS, database: databaseUrl ? 'postgresql' : 'pglite',
    results: { steady, burst }, tables: [table],
  });

  receiver.closeAllConnections();
  receiver.close();
  await platform.stop();
  await server.stop();
  if (serverUrl) {
    const admin = await openDatabase({ url: serverUrl });
    await admin.db.execute(sql.raw(`drop database if exists ${dbName} with (force)`));
    await admin.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

await main();
process.exit(0);
