/**
 * `npm run bench`: what a user waits for, measured on this machine.
 *   1. `npm start` to ready: cold (empty data directory) and warm (restart on the same one).
 *   2. The weather pipeline end to end through the HTTP API, approval given at once (default
 *      training: 30 epochs, hidden [64, 32]).
 *   3. The peer: the same ingest, training and evaluation as one plain script with no Temporal,
 *      database or HTTP: what the orchestration costs on top of the ML itself.
 * `npm run bench` runs this first, then every other area; `npm run bench:pipeline` runs it alone.
 * Every area prints its table(s) headed by the machine and the date and writes
 * bench/results/<area>.json (bench/report.ts). Never part of `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../scripts/temporal-dev-server';
import { plainScript, WEATHER } from './plain-script';
import { isSkipped, peer, printTable, saveResults } from './report';

const root = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms: number) => (ms / 1000).toFixed(2);

async function startPlatform(dataDir: string, ports: { api: number; temporal: number; ui: number }, token: string) {
  const t0 = Date.now();
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env, PERENNIAL_DATA_DIR: dataDir, PORT: String(ports.api), PERENNIAL_TEMPORAL_DEV_PORT: String(ports.temporal),
      PERENNIAL_TEMPORAL_UI_PORT: String(ports.ui), PERENNIAL_ADMIN_TOKEN: token, PERENNIAL_TF_BACKEND: 'wasm',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => { log += d; if (/ready in/.test(log)) resolve(); });
    child.stderr!.on('data', (d) => { log += d; });
    child.on('exit', (code) => reject(new Error(`npm start exited (${code}):\n${log}`)));
  });
  return { child, readyMs: Date.now() - t0 };
}

async function stop(child: ChildProcess) {
  const t0 = Date.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
  return Date.now() - t0;
}

async function api(base: string, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(base + route, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() as any };
}

async function until(base: string, token: string, id: string, pred: (p: any) => boolean) {
  for (;;) {
    const { body } = await api(base, token, 'GET', `/v1/pipelines/${id}`);
    if (pred(body)) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function pipelineRun(base: string, operator: string, approver: string) {
  const t0 = Date.now();
  const started = await api(base, operator, 'POST', '/v1/pipelines', {
    model: 'weather', dataset: { uri: WEATHER }, target: 'weather', training: { cache: false }, // every run trains, as the peer does
  });
  if (started.status !== 202) throw new Error(JSON.stringify(started.body));
  const waiting = await until(base, operator, started.body.id, (p) => p.status !== 'running');
  const tWait = Date.now();
  await api(base, approver, 'POST', `/v1/pipelines/${started.body.id}/approve`, { comment: 'bench' });
  const done = await until(base, operator, started.body.id, (p) => p.status === 'completed' || p.status === 'failed');
  return { totalMs: Date.now() - t0, toApprovalMs: tWait - t0, trainSeconds: waiting.training?.trainSeconds, accuracy: done.metrics?.accuracy, status: done.status };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-'));
  const ports = { api: await freePort(), temporal: await freePort(), ui: await freePort() };
  const token = `bench-admin-${Date.now()}-token`;
  const base = `http://localhost:${ports.api}`;
  console.error(`Perennial bench: ${RUNS} pipeline runs, then the plain-script peer ${RUNS} times`);

  const cold = await startPlatform(dataDir, ports, token);
  const operator = (await api(base, token, 'POST', '/v1/api-keys', { name: 'bench-operator', role: 'operator' })).body.token;
  const approver = (await api(base, token, 'POST', '/v1/api-keys', { name: 'bench-approver', role: 'approver' })).body.token;
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await pipelineRun(base, operator, approver));
  const stopMs = await stop(cold.child);
  const warm = await startPlatform(dataDir, ports, token);
  await stop(warm.child);

  // the peer runs in this process; if it cannot (say DuckDB or WASM fails to load), it is reported skipped
  const peers: Awaited<ReturnType<typeof plainScript>>[] = [];
  const peerFailure = await peer('plain-script peer', async () => { for (let i = 0; i < RUNS; i++) peers.push(await plainScript()); });
  const peerMs = isSkipped(peerFailure) ? null : median(peers.map((p) => p.totalMs));
  const peerAccuracy = isSkipped(peerFailure) ? null : median(peers.map((p) => p.accuracy));

  const pipeline = {
    toApprovalMs: median(runs.map((r) => r.toApprovalMs)), totalMs: median(runs.map((r) => r.totalMs)),
    trainSeconds: median(runs.map((r) => r.trainSeconds)), accuracy: median(runs.map((r) => r.accuracy)),
  };
  const peerName = 'peer: same ingest+train+evaluate, plain script, no orchestration (median)';
  const overheadMs = peerMs === null ? null : pipeline.totalMs - peerMs;
  const table = printTable(`Start-up and the weather pipeline: median of ${RUNS} run${RUNS === 1 ? '' : 's'} (npm start, HTTP API, WASM backend)`,
    ['what', 'seconds', { name: 'note', align: 'left' }], [
    ['npm start -> ready, cold (empty data dir)', sec(cold.readyMs), ''],
    ['npm start -> ready, warm (restart)', sec(warm.readyMs), ''],
    ['Ctrl-C -> stopped (workers drained)', sec(stopMs), ''],
    ['weather pipeline, POST -> awaiting_approval (median)', sec(pipeline.toApprovalMs), ''],
    ['weather pipeline, POST -> completed, approved at once (median)', sec(pipeline.totalMs), `accuracy ${pipeline.accuracy.toFixed(3)}`],
    ['  of which training activity (median)', pipeline.trainSeconds.toFixed(2), 'wasm backend'],
    isSkipped(peerFailure) ? [peerName, peerFailure] : [peerName, sec(peerMs!), `accuracy ${peerAccuracy!.toFixed(3)}`],
  ], overheadMs === null ? [] : [`orchestration overhead (durable stages, registry, audit, HTTP polling): ${sec(overheadMs)} s per pipeline`]);
  saveResults('pipeline', {
    runs: RUNS, backend: 'wasm',
    results: {
      coldStartMs: cold.readyMs, warmStartMs: warm.readyMs, stopMs, pipeline, pipelineRuns: runs,
      peer: isSkipped(peerFailure) ? peerFailure : { totalMs: peerMs, accuracy: peerAccuracy, runs: peers },
      orchestrationOverheadMs: overheadMs,
    },
    tables: [table],
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => { console.error(err); process.exit(1); });
