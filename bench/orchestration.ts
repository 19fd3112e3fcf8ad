/**
 * `npm run bench:orchestration` (also part of `npm run bench`): what Perennial's orchestration costs
 * when many pipelines run at once, and how fast a promotion or rollback reaches every API replica.
 *   1. BENCH_PIPELINES (200) weather pipelines (1 epoch, [16], no approval, no canary, training cache
 *      off) POSTed at once over HTTP, spread over BENCH_MODELS (20) models, each polled with
 *      GET /v1/pipelines/:id every BENCH_POLL_MS (250 ms) until it ends: pipelines per minute, p50 and
 *      p99 POST to `completed`. With BENCH_DATABASE_URL, the production layout: `npm run api`,
 *      `npm run worker` and `npm run trainer` as processes on PostgreSQL; else `npm start`'s one
 *      process on embedded PGlite. Both on a Temporal dev server this bench starts.
 *   2. The bare Temporal peer, same run and dev server: a workflow (bench/bare-workflow.ts) running as
 *      many no-op activities in sequence as one pipeline schedules (counted from a pipeline's
 *      history), the same number started at once, one worker in this process.
 *   3. The plain-script peer (bench/plain-script.ts): the same ingest, preprocessing, training and
 *      evaluation, that many times in a loop in this process.
 *   4. The overhead ratio: Perennial's wall time / (plain script's total + bare workflows' wall time),
 *      goal <= 1.5.
 *   5. Promotion and rollback propagation (PostgreSQL only): two `npm run api` replicas, a predict loop
 *      on each, BENCH_SWITCHES (20) rollbacks alternating between versions 1 and 2 sent to a third
 *      API process; per switch and replica, the time from the call to the first answer from the new
 *      version. Goal p99 <= 1 s.
 * With PostgreSQL the bench creates a database of its own on that server and drops it at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../db/client';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { freePort, startTemporalDevServer, type DevServer } from '../scripts/temporal-dev-server';
import { bareActivities, bareWorkflow } from './bare-workflow';
import { plainScript, WEATHER } from './plain-script';
import { isSkipped, peer, printTable, saveResults, skipped } from './report';

const root = path.resolve(import.meta.dirname, '..');
const N = Number(process.env.BENCH_PIPELINES ?? 200);
const MODELS = Math.max(1, Math.min(N, Number(process.env.BENCH_MODELS ?? 20)));
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 20);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 250);
/** GETs in flight at once, over all pipelines: a poll of a running pipeline is a describe and a query on Temporal, so unbounded polling would load what it measures */
const POLL_CONCURRENCY = Number(process.env.BENCH_POLL_CONCURRENCY ?? 4);
/** a guard against a hung run, not a measurement: pipelines still running then count as not ended */
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_MS ?? 30 * 60_000);
const SERVER_URL = process.env.BENCH_DATABASE_URL;
const TRAINING = { epochs: 1, hiddenUnits: [16] };
const PROPAGATION_GOAL_MS = 1_000;
const OVERHEAD_GOAL = 1.5;
const ENDED = ['completed', 'rejected', 'failed', 'cancelled'];
const DAY = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };

/** nearest rank: the smallest value at or above a share q of the sample */
const pct = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
};
const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
const msText = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(0) : 'n/a');
const perMinute = (runs: number, ms: number) => (ms > 0 ? ((runs * 60_000) / ms).toFixed(1) : 'n/a');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- processes this bench starts: every one is stopped at the end, on failure and on a signal

const started = new Set<ChildProcess>();
const cleanups: (() => Promise<unknown>)[] = [];

interface Part { name: string; child: ChildProcess; output(): string; stop(): Promise<void> }

/** a part of the platform as its own process group (`node --import tsx <script>`), ready when its output matches `ready` */
async function startProcess(name: string, script: string, env: Record<string, string>, ready: RegExp): Promise<Part> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.add(child);
  let out = '';
  const gone = new Promise<void>((r) => child.once('exit', () => { started.delete(child); r(); }));
  await new Promise<void>((resolve, reject) => {
    const seen = (d: Buffer) => { out += d; if (ready.test(out)) resolve(); };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code, signal) => reject(new Error(`${name} (${script}) exited (${code ?? signal}) before it was ready:\n${out.slice(-4000)}`)));
  });
  return {
    name, child, output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

function killEverything() {
  for (const child of started) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { killEverything(); process.exit(130); });
process.on('exit', killEverything);

// ---- HTTP

/** at most `limit` calls of `fn` at once; the rest queue in order */
function bounded(limit: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < limit) active++;
    else await new Promise<void>((r) => queue.push(r)); // the slot is handed over as it is
    try { return await fn(); } finally {
      const next = queue.shift();
      if (next) next(); else active--;
    }
  };
}
const polling = bounded(POLL_CONCURRENCY);

async function call(base: string, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(base + route, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = text;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json };
}

const pipelineRequest = (model: string) => ({
  model, dataset: { uri: WEATHER }, target: 'weather',
  // every pipeline trains, as the plain script does each time (the cache would hand later ones the first one's model)
  training: { ...TRAINING, cache: false }, approval: { required: false }, canary: null,
});

/** POST a pipeline and poll it until it ends: its outcome and the time from the POST to its end */
async function runPipeline(base: string, token: string, model: string, counters: { polls: number }) {
  const t0 = Date.now();
  const posted = await call(base, token, 'POST', '/v1/pipelines', pipelineRequest(model));
  if (posted.status !== 202) return { id: null, model, status: `POST ${posted.status}`, ms: Date.now() - t0, error: JSON.stringify(posted.body).slice(0, 300) };
  const id = posted.body.id as string;
  while (Date.now() - t0 < DEADLINE_MS) {
    await sleep(POLL_MS);
    counters.polls++;
    const p = await polling(() => call(base, token, 'GET', `/v1/pipelines/${encodeURIComponent(id)}`));
    if (p.status === 200 && ENDED.includes(p.body.status)) {
      return { id, model, status: p.body.status as string, ms: Date.now() - t0, postedAt: t0, version: p.body.modelVersion as number | undefined, error: p.body.error ?? p.body.reason };
    }
  }
  return { id, model, status: 'not ended by the deadline', ms: Date.now() - t0 };
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
  const benchStart = Date.now();
  const runId = Date.now().toString(36);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-orch-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const layout = SERVER_URL ? 'production layout: npm run api, worker and trainer as processes on PostgreSQL' : 'npm start: API and both workers in one process on embedded PGlite';
  console.error(`orchestration bench: ${N} pipelines over ${MODELS} model(s); ${layout}; data in ${dataDir}`);

  const devServer: DevServer = await startTemporalDevServer({ cli: resolveTemporalCli({ log: (m) => console.error(m) }), headless: true, logFile: path.join(dataDir, 'temporal.log') });
  cleanups.push(() => devServer.stop());

  // a database of its own on the server (its datasets point into this run's artifact folder), dropped at the end
  let databaseUrl: string | undefined;
  if (SERVER_URL) {
    const dbName = `bench_orch_${runId}`;
    const admin = await openDatabase({ url: SERVER_URL });
    await admin.db.execute(sql.raw(`create database ${dbName}`));
    await admin.close();
    cleanups.push(async () => {
      const again = await openDatabase({ url: SERVER_URL });
      await again.db.execute(sql.raw(`drop database if exists ${dbName} with (force)`));
      await again.close();
    });
    const u = new URL(SERVER_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }

  const token = `bench-admin-${runId}-${Math.random().toString(36).slice(2)}-token`;
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const common: Record<string, string> = {
    TEMPORAL_ADDRESS: devServer.address, PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: token, PERENNIAL_TF_BACKEND: 'wasm',
    PERENNIAL_LOG_LEVEL: 'warn', PERENNIAL_RATE_LIMIT: '0', HOST: '127.0.0.1', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const parts: Part[] = [];
  const stopParts = async () => { await Promise.all(parts.splice(0).map((p) => p.stop())); };
  cleanups.unshift(stopParts); // before the database is dropped and the dev server stops
  const tStart = Date.now();
  if (databaseUrl) {
    // the API migrates the fresh database first; the workers then start beside it
    parts.push(await startProcess('api', 'platform/api.ts', { ...common, PORT: String(apiPort) }, /\[api\] running/));
    parts.push(...await Promise.all([
      startProcess('worker', 'platform/worker.ts', common, /\[worker\] running/),
      startProcess('trainer', 'platform/trainer.ts', common, /\[trainer\] running/),
    ]));
  } else {
    parts.push(await startProcess('npm start', 'scripts/start.ts', { ...common, PORT: String(apiPort) }, /ready in/));
  }
  console.error(`platform ready in ${sec(Date.now() - tStart)} s`);

  const temporal = new Client({ connection: await Connection.connect({ address: devServer.address }) });
  const modelNames = Array.from({ length: MODELS }, (_, i) => `orch-${runId}-${String(i + 1).padStart(3, '0')}`);
  const warmupModel = `orch-${runId}-warmup`;
  for (const model of [warmupModel, ...modelNames]) {
    const res = await call(base, token, 'PUT', `/v1/models/${model}/policy`, { approval: { required: false } });
    if (res.status !== 200) throw new Error(`policy of ${model}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  // one pipeline first, not counted (workflow bundle, TF.js and DuckDB warm in the workers); its history gives the activity count
  const warm = await runPipeline(base, token, warmupModel, { polls: 0 });
  if (warm.status !== 'completed') throw new Error(`the warm-up pipeline did not complete: ${JSON.stringify(warm)}`);
  const countActivities = async (id: string) => {
    const history = await temporal.workflow.getHandle(id).fetchHistory();
    return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
  };
  const activities = await countActivities(warm.id!);
  console.error(`warm-up pipeline: ${sec(warm.ms)} s, ${activities} activities`);

  // 1. N pipelines at once
  const counters = { polls: 0 };
  const t0 = Date.now();
  const runs = await Promise.all(Array.from({ length: N }, (_, i) => runPipeline(base, token, modelNames[i % MODELS], counters)));
  const perennialWallMs = Math.max(...runs.map((r) => r.ms));
  const completed = runs.filter((r) => r.status === 'completed');
  const notCompleted = runs.filter((r) => r.status !== 'completed');
  const outcomes: Record<string, number> = {};
  for (const r of runs) outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
  for (const r of notCompleted.slice(0, 5)) console.error(`not completed: ${JSON.stringify(r)}`);
  const perennial = {
    runs: N, completed: completed.length, notCompleted: notCompleted.length, outcomes, wallMs: perennialWallMs,
    p50Ms: pct(completed.map((r) => r.ms), 0.5), p99Ms: pct(completed.map((r) => r.ms), 0.99),
    polls: counters.polls, pollsPerSecond: counters.polls / (perennialWallMs / 1000),
  };
  // the same end to end by Temporal's close time, with no polling delay in it
  const describing = bounded(8);
  const closed = await Promise.all(completed.map((r) => describing(async () => (await temporal.workflow.getHandle(r.id!).describe()).closeTime?.getTime())));
  const byClose = completed.map((r, i) => (closed[i] ?? NaN) - r.postedAt!).filter(Number.isFinite);
  const byTemporal = { p50Ms: pct(byClose, 0.5), p99Ms: pct(byClose, 0.99), lastClosedMs: Math.max(...closed.filter((c): c is number => c !== undefined)) - t0 };
  // where a pipeline's time goes: per activity, its wait for a worker and its run, over every completed pipeline
  const histories = await Promise.all(completed.map((r) => describing(() => temporal.workflow.getHandle(r.id!).fetchHistory())));
  const breakdown = activityBreakdown(histories.map((h) => h.events ?? []));
  // the timed pipelines schedule as many activities as the warm-up did (a retry is scheduled again, so say if not)
  const timedActivities = completed.length ? await countActivities(completed[0].id!) : activities;
  console.error(`perennial: ${completed.length}/${N} completed in ${sec(perennialWallMs)} s`);

  // 5. promotion and rollback propagation over two API replicas (needs PostgreSQL)
  const propagation = databaseUrl
    ? await measurePropagation(base, token, common, `orch-${runId}-switch`, parts).catch((err: Error) => {
      console.error(`propagation: ${err.stack}`);
      return skipped(`failed: ${err.message.split('\n')[0].slice(0, 160)}`);
    })
    : skipped('needs PostgreSQL (BENCH_DATABASE_URL): replicas cannot share an embedded PGlite');
  await stopParts(); // the peers run on a quiet machine, as Perennial did

  // 2. the bare Temporal peer: the same number of workflows, each with as many no-op activities in sequence
  const bare = await peer('bare Temporal workflow peer', async () => {
    const taskQueue = `bench-bare-${runId}`;
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: devServer.address }), taskQueue,
      workflowsPath: path.join(import.meta.dirname, 'bare-workflow.ts'), activities: bareActivities,
    });
    return worker.runUntil(async () => {
      const one = (i: number | 'warmup') => async () => {
        const t = Date.now();
        const result = await temporal.workflow.execute(bareWorkflow, { taskQueue, workflowId: `bare-${runId}-${i}`, args: [activities] });
        if (result !== activities) throw new Error(`bare workflow ${i} answered ${result}`);
        return Date.now() - t;
      };
      await one('warmup')();
      const tb = Date.now();
      const times = await Promise.all(Array.from({ length: N }, (_, i) => one(i)()));
      const wallMs = Date.now() - tb;
      return { runs: N, completed: times.length, wallMs, p50Ms: pct(times, 0.5), p99Ms: pct(times, 0.99) };
    });
  });

  // 3. the plain-script peer, N times in a loop
  const plain = await peer('plain-script peer', async () => {
    await plainScript(TRAINING); // warm-up, not counted (WASM backend, DuckDB)
    const times: number[] = [];
    const accuracies: number[] = [];
    const tp = Date.now();
    for (let i = 0; i < N; i++) {
      const r = await plainScript(TRAINING);
      times.push(r.totalMs);
      accuracies.push(r.accuracy);
    }
    return { runs: N, totalMs: Date.now() - tp, p50Ms: pct(times, 0.5), p99Ms: pct(times, 0.99), accuracyP50: pct(accuracies, 0.5) };
  });

  // 4. the overhead ratio
  const ratio = isSkipped(bare) || isSkipped(plain) ? null : perennialWallMs / (plain.totalMs + bare.wallMs);
  const p50Ratio = isSkipped(bare) ? null : perennial.p50Ms / bare.p50Ms;

  const spread = MODELS === 1 ? 'one model' : `${MODELS} models (at most ${Math.ceil(N / MODELS)} version(s) of each)`;
  const pipelinesTable = printTable(
    `Orchestration: ${N} weather pipelines at once (1 epoch, [16], no approval, no canary) against their peers; ${layout}`,
    ['what', 'runs', 'completed', 'not completed', 'wall s', 'per minute', 'p50 s', 'p99 s'], [
      [`Perennial: POSTed at once over HTTP, polled to the end (${activities} activities each)`, N, perennial.completed, perennial.notCompleted, sec(perennialWallMs),
        perMinute(perennial.completed, perennialWallMs), sec(perennial.p50Ms), sec(perennial.p99Ms)],
      isSkipped(bare) ? [`bare Temporal workflow, ${activities} no-op activities in sequence`, bare]
        : [`bare Temporal workflow, ${activities} no-op activities in sequence, started at once`, N, bare.completed, N - bare.completed, sec(bare.wallMs),
          perMinute(bare.completed, bare.wallMs), sec(bare.p50Ms), sec(bare.p99Ms)],
      isSkipped(plain) ? ['plain script, same ML (DuckDB ingest, preprocess, train, evaluate), in a loop', plain]
        : ['plain script, same ML (DuckDB ingest, preprocess, train, evaluate), in a loop', N, N, 0, sec(plain.totalMs),
          perMinute(N, plain.totalMs), sec(plain.p50Ms), sec(plain.p99Ms)],
    ], [
      ratio === null ? 'overhead ratio: not measured (a peer was skipped)'
        : `overhead ratio: Perennial's wall time / (plain script's total + bare workflows' wall time) = ${sec(perennialWallMs)} / (${sec((plain as { totalMs: number }).totalMs)} + ${sec((bare as { wallMs: number }).wallMs)}) = ${ratio.toFixed(2)}x (goal <= ${OVERHEAD_GOAL}x: ${ratio <= OVERHEAD_GOAL ? 'met' : 'NOT met'})`,
      p50Ratio === null ? '' : `Perennial p50 / bare workflow p50: ${p50Ratio.toFixed(1)}x`,
      `Pipelines spread over ${spread}: promotions of one model take its canary slot one at a time (a second waits, retried from 2 s); every pipeline trains (training.cache: false). `
        + `Activities per pipeline from its Temporal history (ActivityTaskScheduled): ${activities}${timedActivities !== activities ? ` (a timed one: ${timedActivities})` : ''}. `
        + `Perennial end to end: POST sent to 'completed' seen by GET /v1/pipelines/:id, each polled every ${POLL_MS} ms, at most ${POLL_CONCURRENCY} GETs in flight (${perennial.polls} GETs, ${perennial.pollsPerSecond.toFixed(0)}/s); `
        + `by Temporal's close time instead (no polling delay): p50 ${sec(byTemporal.p50Ms)} s, p99 ${sec(byTemporal.p99Ms)} s, the last closed at ${sec(byTemporal.lastClosedMs)} s. The bare workflows' is start to result. `
        + `Each side warmed with one run first, not counted. Outcomes: ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    ].filter(Boolean));

  const breakdownTable = printTable(`Where a Perennial pipeline's time goes: its activities over the ${completed.length} completed pipelines`,
    ['activity', { name: 'task queue', align: 'left' }, 'per pipeline', 'wait for a worker p50 ms', 'run p50 ms', 'run total s'],
    breakdown.map((b) => [b.name, b.queue, b.perPipeline.toFixed(2), msText(b.waitP50Ms), msText(b.runP50Ms), sec(b.runTotalMs)]),
    ['Wait: ActivityTaskScheduled to ActivityTaskStarted; run: ActivityTaskStarted to its completion, from each pipeline\'s Temporal history. A task queue with one worker slot serializes its activities over every pipeline.']);

  const propagationTable = isSkipped(propagation)
    ? printTable('Promotion and rollback propagation to two API replicas', ['what', 'ms'], [['switch to the first answer from the new version, per replica', propagation]])
    : printTable(`Promotion and rollback propagation: ${propagation.switches} switches (rollback to v1, then to v2, alternating) over two API replicas on PostgreSQL`,
      ['replica', 'switches seen', 'missed (10 s)', 'p50 ms', 'p99 ms', 'max ms', 'old-version answers after the switch'],
      [...propagation.replicas, propagation.both].map((r) => [r.name, r.seen, r.missed, msText(r.p50Ms), msText(r.p99Ms), msText(r.maxMs), r.stale]), [
        `From sending POST /v1/models/:name/rollback (to a third API process) to the first answer from the new version on that replica, each replica answering one predict loop back to back. `
          + `Goal p99 <= ${PROPAGATION_GOAL_MS} ms: ${propagation.both.p99Ms <= PROPAGATION_GOAL_MS && propagation.both.missed === 0 ? 'met' : 'NOT met'}. `
          + `"Forward" to v2 is a rollback too: rollback takes any archived version (v2 is archived once v1 is back). Rollback call p50 ${msText(propagation.callP50Ms)} ms; ${propagation.predictions} predictions answered in all.`,
      ]);

  const benchWallMs = Date.now() - benchStart;
  console.error(`bench wall time ${sec(benchWallMs)} s`);
  saveResults('orchestration', {
    pipelines: N, models: MODELS, pollMs: POLL_MS, training: TRAINING, layout: databaseUrl ? 'processes-postgresql' : 'npm-start-pglite',
    results: {
      activitiesPerPipeline: activities, perennial: { ...perennial, byTemporalCloseTime: byTemporal }, bare, plain, overheadRatio: ratio, overheadGoal: OVERHEAD_GOAL, p50RatioToBare: p50Ratio,
      activities: breakdown, propagation, benchWallMs,
    },
    tables: [pipelinesTable, breakdownTable, propagationTable],
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent) => Number(String(e.eventTime?.seconds ?? 0)) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

/** per activity type, in the order a pipeline runs them: how many per pipeline, the wait for a worker (scheduled to started) and the run (started to closed), p50 */
function activityBreakdown(histories: HistoryEvent[][]) {
  const byType = new Map<string, { queue: string; count: number; waits: number[]; runs: number[] }>();
  for (const events of histories) {
    const byId = new Map(events.map((e) => [String(e.eventId), e]));
    for (const e of events) {
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      const scheduledId = String(e.activityTaskScheduledEventAttributes ? e.eventId : closed?.scheduledEventId ?? '');
      const scheduled = byId.get(scheduledId);
      const attrs = scheduled?.activityTaskScheduledEventAttributes;
      if (!attrs) continue;
      const name = attrs.activityType?.name ?? '?';
      const entry = byType.get(name) ?? { queue: attrs.taskQueue?.name ?? '?', count: 0, waits: [], runs: [] };
      byType.set(name, entry);
      if (e.activityTaskScheduledEventAttributes) { entry.count++; continue; }
      const startedEvent = byId.get(String(closed!.startedEventId));
      if (!startedEvent) continue;
      entry.waits.push(eventMs(startedEvent) - eventMs(scheduled!));
      entry.runs.push(eventMs(e) - eventMs(startedEvent));
    }
  }
  return [...byType].map(([name, b]) => ({
    name, queue: b.queue, perPipeline: b.count / Math.max(1, histories.length), waitP50Ms: pct(b.waits, 0.5), runP50Ms: pct(b.runs, 0.5), runTotalMs: b.runs.reduce((a, x) => a + x, 0),
  }));
}

interface ReplicaFigures { name: string; seen: number; missed: number; p50Ms: number; p99Ms: number; maxMs: number; stale: number }

/** 5: versions 1 and 2 of one model, two API replicas with a predict loop each, SWITCHES rollbacks alternating between them */
async function measurePropagation(base: string, token: string, common: Record<string, string>, model: string, parts: Part[]): Promise<{
  switches: number; replicas: ReplicaFigures[]; both: ReplicaFigures; callP50Ms: number; predictions: number;
}> {
  const policy = await call(base, token, 'PUT', `/v1/models/${model}/policy`, { approval: { required: false } });
  if (policy.status !== 200) throw new Error(`policy: ${JSON.stringify(policy.body)}`);
  for (const version of [1, 2]) {
    const r = await runPipeline(base, token, model, { polls: 0 });
    if (r.status !== 'completed' || r.version !== version) throw new Error(`version ${version} of ${model}: ${JSON.stringify(r)}`);
  }
  const replicas = await Promise.all(['replica A', 'replica B'].map(async (name) => {
    const port = await freePort();
    const part = await startProcess(name, 'platform/api.ts', { ...common, PORT: String(port) }, /\[api\] running/);
    parts.push(part);
    return { name, url: `http://127.0.0.1:${port}`, answers: [] as { sentAt: number; at: number; version: number }[] };
  }));
  let looping = true;
  const body = { instances: [DAY] };
  const loops = replicas.map(async (r) => {
    while (looping) {
      const sentAt = Date.now();
      const res = await call(r.url, token, 'POST', `/v1/models/${model}:predict`, body);
      if (res.status !== 200) throw new Error(`${r.name} predict: ${res.status} ${JSON.stringify(res.body)}`);
      r.answers.push({ sentAt, at: Date.now(), version: res.body.modelVersion });
    }
  });
  loops.forEach((l) => l.catch(() => { looping = false; }));
  const firstFrom = (r: (typeof replicas)[number], version: number, after: number) => r.answers.find((a) => a.at >= after && a.version === version);
  try {
    // both replicas answer from version 2 (production) before the first switch
    const ready = Date.now();
    while (!replicas.every((r) => firstFrom(r, 2, ready))) {
      if (!looping) await Promise.race(loops); // a loop that failed says why
      if (Date.now() - ready > 30_000) throw new Error('the replicas did not answer from version 2 within 30 s');
      await sleep(20);
    }
    const latencies = replicas.map(() => [] as number[]);
    const missed = replicas.map(() => 0);
    const stale = replicas.map(() => 0);
    const callMs: number[] = [];
    for (let k = 0; k < SWITCHES; k++) {
      const [from, to] = k % 2 === 0 ? [2, 1] : [1, 2];
      const t0 = Date.now();
      const sent = call(base, token, 'POST', `/v1/models/${model}/rollback`, { toVersion: to, comment: `bench switch ${k + 1}` }).then((res) => {
        callMs.push(Date.now() - t0);
        if (res.status !== 200) throw new Error(`rollback to ${to}: ${res.status} ${JSON.stringify(res.body)}`);
      });
      const switchedAt = replicas.map(() => null as number | null);
      while (switchedAt.some((s) => s === null) && Date.now() - t0 < 10_000) {
        if (!looping) await Promise.race(loops);
        replicas.forEach((r, i) => { if (switchedAt[i] === null) switchedAt[i] = firstFrom(r, to, t0)?.at ?? null; });
        await sleep(5);
      }
      await sent;
      await sleep(300); // answers after the switch, to count any from the old version
      replicas.forEach((r, i) => {
        const at = switchedAt[i];
        if (at === null) { missed[i]++; return; }
        latencies[i].push(at - t0);
        stale[i] += r.answers.filter((a) => a.sentAt >= at && a.version === from).length;
      });
    }
    const figures = (name: string, xs: number[], miss: number, old: number): ReplicaFigures => ({
      name, seen: xs.length, missed: miss, p50Ms: pct(xs, 0.5), p99Ms: pct(xs, 0.99), maxMs: xs.length ? Math.max(...xs) : NaN, stale: old,
    });
    return {
      switches: SWITCHES,
      replicas: replicas.map((r, i) => figures(r.name, latencies[i], missed[i], stale[i])),
      both: figures('both', latencies.flat(), missed[0] + missed[1], stale[0] + stale[1]),
      callP50Ms: pct(callMs, 0.5),
      predictions: replicas.reduce((n, r) => n + r.answers.length, 0),
    };
  } finally {
    looping = false;
    await Promise.allSettled(loops);
  }
}

async function cleanUp() {
  for (const c of cleanups.splice(0)) await c().catch((err: Error) => console.error(`cleanup: ${err.message}`));
}

main().then(cleanUp, async (err) => {
  console.error(err);
  await cleanUp();
  process.exitCode = 1;
}).finally(() => {
  killEverything();
  setTimeout(() => process.exit(), 500).unref(); // Temporal's native connections keep nothing alive we need
});
