/**
 * `npm run bench:monitors`: 1,000 model monitors at a 1-minute interval on the Temporal dev server for
 * 5 minutes (BENCH_MONITORS, BENCH_MONITOR_MINUTES). Each model is a production version of the weather
 * classifier's data (seattle-weather.csv registered once, one model_versions row per model) with 150
 * logged predictions, so every check is the real one: the monitor workflow, `measureDrift` reading
 * the version's reference (built beforehand, as a promotion builds it, and timed apart), the window from the prediction log,
 * calibrating, comparing four features and the predictions, and `recordDriftReport` writing the
 * report. Retraining is off (retrainOnDrift false, no performance trigger): the bench measures
 * watching, not training.
 *
 * Reported: checks run against checks due, monitors that fell behind (no check in the last two
 * intervals at the end), and the activities' schedule-to-start latency (p50, p99: how long a due
 * check waited for a worker slot), with check duration. Database: BENCH_DATABASE_URL (PostgreSQL),
 * else an embedded PGlite. One orchestration worker in this process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { createOrchestrationActivities } from '../activities';
import { loadReference } from '../activities/drift-reference';
import { sourcePolicyOf } from '../activities/source-policy';
import { DEFAULT_MONITOR_SETTINGS } from '../common/monitor-settings';
import { loadConfig } from '../config';
import { LocalArtifactStore } from '../db/artifacts';
import { openDatabase } from '../db/client';
import { models, modelVersions, predictions } from '../db/schema';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { startTemporalDevServer } from '../scripts/temporal-dev-server';
import { workflowsPath } from '../workers/plugin';
import { MONITOR_WORKFLOW, type MonitorInput } from '../workflows/monitor-messages';
import { printTable, saveResults } from './report';

const MONITORS = Number(process.env.BENCH_MONITORS ?? 1000);
const MINUTES = Number(process.env.BENCH_MONITOR_MINUTES ?? 5);
const INTERVAL = process.env.BENCH_MONITOR_INTERVAL ?? '1m';
const INTERVAL_MS = 60_000;
const ROWS_PER_MODEL = 150;
const root = path.resolve(import.meta.dirname, '..');
const WEATHER = path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv');
const quantile = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-monitors-'));
  const server = await startTemporalDevServer({ cli: resolveTemporalCli({ log: () => {} }), headless: true });
  // a database of its own on the server (its datasets point into this run's artifact folder), dropped at the end
  const serverUrl = process.env.BENCH_DATABASE_URL;
  const dbName = `bench_monitors_${Date.now().toString(36)}`;
  let databaseUrl: string | undefined;
  if (serverUrl) {
    const admin = await openDatabase({ url: serverUrl });
    await admin.db.execute(sql.raw(`create database ${dbName}`));
    await admin.close();
    const u = new URL(serverUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const database = await openDatabase(databaseUrl ? { url: databaseUrl } : { pgliteDir: path.join(dir, 'pglite') });
  await database.migrate();
  const { db } = database;
  const config = loadConfig({ PERENNIAL_DATA_DIR: dir, PERENNIAL_IMPORT_ROOTS: path.dirname(WEATHER) });
  const artifacts = new LocalArtifactStore(path.join(dir, 'artifacts'));
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const taskQueue = `bench-monitors-${Date.now().toString(36)}`;

  // the registered data and N production versions of it, each with a window of logged predictions
  const base = createOrchestrationActivities({ db, artifacts, codeVersion: 'bench', sources: sourcePolicyOf(config), client });
  const dataset = await base.ingestDataset({ uri: WEATHER });
  const [header, ...lines] = fs.readFileSync(WEATHER, 'utf8').trim().split('\n');
  const cols = header.split(',');
  const days = lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i], i === 0 || i === 5 ? c : Number(c)])));
  const run = Date.now().toString(36);
  const names = Array.from({ length: MONITORS }, (_, i) => `bench-${run}-${i}`);
  const t0 = Date.now();
  for (let i = 0; i < names.length; i += 100) {
    const chunk = names.slice(i, i + 100);
    await db.insert(models).values(chunk.map((name) => ({ name, task: 'classification' as const, productionVersion: 1 })));
    await db.insert(modelVersions).values(chunk.map((name) => ({
      modelName: name, version: 1, status: 'production' as const, task: 'classification' as const, datasetHash: dataset.hash, target: 'weather',
      features: ['precipitation', 'temp_max', 'temp_min', 'wind'], params: {}, metrics: { accuracy: 0.8 }, artifactKey: `bench/${name}`,
      backend: 'bench', codeVersion: 'bench', pipelineId: `bench-${name}`, workflowRunId: 'bench',
    })));
    for (const name of chunk) {
      const now = Date.now();
      await db.insert(predictions).values(Array.from({ length: ROWS_PER_MODEL }, (_, k) => {
        const d = days[(k * 7 + name.length) % days.length];
        return {
          id: `${name}-${k}`, modelName: name, version: 1, role: 'production' as const,
          features: { precipitation: d.precipitation, temp_max: d.temp_max, temp_min: d.temp_min, wind: d.wind },
          output: null, label: String(d.weather), latencyMs: 1, createdAt: new Date(now - k * 1000),
        };
      }));
    }
  }
  console.error(`set up ${MONITORS} production models with ${ROWS_PER_MODEL} predictions each in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // each version's reference is built at its promotion (the pipeline's watchModel step): here, before the monitors start
  const tRef = Date.now();
  for (const model of names) await loadReference({ db, artifacts }, model, 1);
  const referenceBuildMs = (Date.now() - tRef) / MONITORS;
  console.error(`built ${MONITORS} references (DuckDB over the training data), ${referenceBuildMs.toFixed(0)} ms each`);

  // the real activities, timed: how long each waited for a worker after it was due, and how long it ran
  const waits: number[] = [];
  const durations: number[] = [];
  // a version's first check builds its reference (DuckDB reads the training data): apart from the steady state
  const steadyWaits: number[] = [];
  const failures = new Map<string, number>();
  let firstFailure = '';
  const seen = new Set<string>();
  const timed = Object.fromEntries(Object.entries(base).map(([name, fn]) => [name, async (input: unknown) => {
    const started = Date.now();
    if (name === 'measureDrift') {
      const wait = started - Context.current().info.currentAttemptScheduledTimestampMs;
      waits.push(wait);
      const model = (input as { model: string }).model;
      if (seen.has(model)) steadyWaits.push(wait);
      seen.add(model);
    }
    try {
      return await (fn as (i: unknown) => Promise<unknown>)(input);
    } catch (err) {
      failures.set(name, (failures.get(name) ?? 0) + 1);
      if (!firstFailure) console.error(`  ${name} failed: ${(firstFailure = String((err as Error).stack ?? err))}`);
      throw err;
    } finally {
      if (name === 'measureDrift') durations.push(Date.now() - started);
    }
  }]));
  const worker = await Worker.create({ connection: native, taskQueue, workflowsPath, activities: timed, maxCachedWorkflows: MONITORS + 100 });
  const running = worker.run();

  const settings = { ...DEFAULT_MONITOR_SETTINGS, interval: INTERVAL, window: '24h', minRows: 100, retrainOnDrift: false, retrainOnPerformanceDrop: null };
  const tStart = Date.now();
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(names.slice(i, i + 50).map((model) => client.workflow.start(MONITOR_WORKFLOW, {
      taskQueue, workflowId: `monitor-${model}`, args: [{ model, version: 1, settings } satisfies MonitorInput],
    })));
  }
  console.error(`started ${MONITORS} monitors (interval ${INTERVAL}) in ${((Date.now() - tStart) / 1000).toFixed(1)} s; watching for ${MINUTES} min`);
  const cpu0 = process.cpuUsage();
  for (let m = 1; m <= MINUTES; m++) {
    await new Promise((r) => setTimeout(r, 60_000));
    console.error(`  ${m} min: ${durations.length} checks; schedule-to-start p99 so far ${quantile(waits, 0.99)} ms`);
  }
  const wallMs = Date.now() - tStart;
  const cpu = process.cpuUsage(cpu0);

  const perModel = await db.execute(sql`select model_name, count(*)::int as n, max(window_end) as last from drift_reports where model_name like ${`bench-${run}-%`} group by model_name`);
  const rows = (Array.isArray(perModel) ? perModel : (perModel as unknown as { rows: unknown[] }).rows) as { model_name: string; n: number; last: string }[];
  const counts = new Map(rows.map((r) => [r.model_name, Number(r.n)]));
  const lastCheck = new Map(rows.map((r) => [r.model_name, Date.parse(String(r.last))]));
  const end = Date.now();
  const behind = names.filter((n) => !lastCheck.has(n) || end - lastCheck.get(n)! > 2 * INTERVAL_MS).length;
  const perMonitor = names.map((n) => counts.get(n) ?? 0);
  // the first check comes within the first interval (at 0.5-1 of it), then one per interval
  const due = Math.floor((wallMs - INTERVAL_MS) / INTERVAL_MS) + 1;
  const figures = {
    monitors: MONITORS, interval: INTERVAL, minutes: MINUTES, checks: durations.length, reportsRecorded: perMonitor.reduce((a, b) => a + b, 0),
    checksDuePerMonitor: due, minChecksPerMonitor: Math.min(...perMonitor), maxChecksPerMonitor: Math.max(...perMonitor), behind,
    scheduleToStartMs: { p50: quantile(waits, 0.5), p99: quantile(waits, 0.99), max: Math.max(...waits) },
    laterChecksScheduleToStartMs: { p50: quantile(steadyWaits, 0.5), p99: quantile(steadyWaits, 0.99), max: Math.max(...steadyWaits) },
    checkMs: { p50: quantile(durations, 0.5), p99: quantile(durations, 0.99) },
    failedActivities: Object.fromEntries(failures),
    referenceBuildMsEach: referenceBuildMs,
    workerCpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: wallMs / 1000, database: database.kind,
  };
  const table = printTable(`Many monitors: ${MONITORS.toLocaleString('en')} production models, each watched at ${INTERVAL} for ${MINUTES} min (Temporal dev server, one orchestration worker, ${database.kind})`,
    ['monitors', 'interval', 'minutes', 'checks run', 'due per monitor', 'min-max per monitor', 'behind', 'schedule-to-start p50 / p99 (all)',
      'after each first check', 'check p50 / p99', 'worker CPU'],
    [[MONITORS.toLocaleString('en'), INTERVAL, MINUTES, figures.checks.toLocaleString('en'), due, `${figures.minChecksPerMonitor}-${figures.maxChecksPerMonitor}`, behind,
      `${figures.scheduleToStartMs.p50} / ${figures.scheduleToStartMs.p99} ms`,
      `${figures.laterChecksScheduleToStartMs.p50} / ${figures.laterChecksScheduleToStartMs.p99} ms`, `${figures.checkMs.p50} / ${figures.checkMs.p99} ms`,
      `${figures.workerCpuSeconds.toFixed(0)} s of ${figures.wallSeconds.toFixed(0)} s`]],
    [`Behind: monitors without a check in the last two intervals at the end. References built before the monitors start: ${referenceBuildMs.toFixed(0)} ms each.`
      + (failures.size ? ` Failed activities: ${[...failures].map(([k, v]) => `${k} ${v}`).join(', ')}.` : '')]);
  saveResults('monitors', { results: figures, tables: [table] });

  worker.shutdown();
  await running;
  await Promise.all(names.map((n) => client.workflow.getHandle(`monitor-${n}`).terminate('bench over').catch(() => undefined)));
  await connection.close();
  await native.close();
  await database.close();
  if (serverUrl) {
    const admin = await openDatabase({ url: serverUrl });
    await admin.db.execute(sql.raw(`drop database ${dbName}`));
    await admin.close();
  }
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => { console.error(err); process.exit(1); });
