/**
 * `npm run bench:predict` (also part of `npm run bench`): serving throughput and latency.
 * Perennial's predict route (auth, deployment lookup, TF.js on the WASM backend, prediction log on)
 * beside a bare Hono route that parses the same JSON, in the same run, with autocannon at 50
 * connections: one instance of 4 features, and a batch of 100.
 * BENCH_DATABASE_URL=postgres://... measures the production layout instead: an API-only process on
 * PostgreSQL (the database must exist; it is migrated). BENCH_PROFILE=<dir> writes a CPU profile of
 * that API process for the single-instance case only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../scripts/temporal-dev-server';
import { printTable, saveResults } from './report';

const root = path.resolve(import.meta.dirname, '..');
const WEATHER = path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;

function launch(script: string, env: Record<string, string>, ready: RegExp, nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => { log += d; if (ready.test(log)) resolve(child); });
    child.stderr!.on('data', (d) => { log += d; });
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}):\n${log}`)));
  });
}
const stop = (child: ChildProcess) => new Promise((r) => { child.once('exit', r); child.kill('SIGINT'); });

async function api(base: string, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(base + route, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json() as any };
}

async function load(url: string, token: string, body: string) {
  const r = await autocannon({
    url, method: 'POST', connections: CONNECTIONS, duration: SECONDS, body,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-predict-'));
  const [apiPort, temporalPort, uiPort, barePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const token = `bench-admin-${Date.now()}-token`;
  const base = `http://127.0.0.1:${apiPort}`;
  console.error(`predict bench: autocannon, ${CONNECTIONS} connections, ${SECONDS} s each`);

  const platform = await launch('scripts/start.ts', {
    PERENNIAL_DATA_DIR: dataDir, PORT: String(apiPort), PERENNIAL_TEMPORAL_DEV_PORT: String(temporalPort), PERENNIAL_TEMPORAL_UI_PORT: String(uiPort),
    PERENNIAL_ADMIN_TOKEN: token, PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'warn', PERENNIAL_RATE_LIMIT: '0', // one key drives the load
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  }, /ready in/);
  const bare = await launch('bench/bare-hono.ts', { PORT: String(barePort) }, /ready/);
  let replica: ChildProcess | undefined;
  try {
    const viewer = (await api(base, token, 'POST', '/v1/api-keys', { name: 'bench-viewer', role: 'viewer' })).body.token;
    await api(base, token, 'PUT', '/v1/models/weather/policy', { approval: { required: false } }); // the bench model needs no approver
    const started = await api(base, token, 'POST', '/v1/pipelines', {
      model: 'weather', dataset: { uri: WEATHER }, target: 'weather', features: ['precipitation', 'temp_max', 'temp_min', 'wind'], approval: { required: false },
    });
    for (;;) {
      const p = (await api(base, token, 'GET', `/v1/pipelines/${started.body.id}`)).body;
      if (p.status === 'completed') break;
      if (!['running', 'awaiting_approval'].includes(p.status)) throw new Error(JSON.stringify(p));
      await new Promise((r) => setTimeout(r, 200));
    }
    const day = { precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
    const one = JSON.stringify({ instances: [day] });
    const hundred = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => ({ ...day, temp_max: 10 + (i % 20) })) });
    const check = await api(base, viewer, 'POST', '/v1/models/weather:predict', JSON.parse(one));
    if (check.status !== 200) throw new Error(JSON.stringify(check.body));

    // with PostgreSQL, the production layout: predictions go to an API-only process (a replica), as docker-compose runs it
    let servingBase = base;
    if (process.env.BENCH_DATABASE_URL) {
      const replicaPort = await freePort();
      replica = await launch('platform/api.ts', {
        PORT: String(replicaPort), HOST: '127.0.0.1', TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, DATABASE_URL: process.env.BENCH_DATABASE_URL,
        PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: token, PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'warn', PERENNIAL_RATE_LIMIT: '0', // one key drives the load
      }, /running/, process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
      servingBase = `http://127.0.0.1:${replicaPort}`;
    }
    const layout = process.env.BENCH_DATABASE_URL ? 'an API-only process on PostgreSQL (production layout)' : 'the npm start process (API, workers and PGlite in one process)';
    console.error(`serving from ${layout}`);
    const predictUrl = `${servingBase}/v1/models/weather:predict`;
    const bareUrl = `http://127.0.0.1:${barePort}/v1/models/weather:predict`;
    await load(predictUrl, viewer, one); // warm-up pass, not reported
    if (process.env.BENCH_PROFILE) {
      // profiling: one case only, so the profile is of it
      console.log(await load(predictUrl, viewer, one));
      return;
    }
    const rows = [
      ['Perennial predict, 1 instance, logging on', await load(predictUrl, viewer, one)],
      ['bare Hono route, same JSON, 1 instance', await load(bareUrl, viewer, one)],
      ['Perennial predict, batch of 100, logging on', await load(predictUrl, viewer, hundred)],
      ['bare Hono route, same JSON, batch of 100', await load(bareUrl, viewer, hundred)],
    ] as const;
    const logged = await api(base, token, 'GET', '/v1/models/weather');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const logMetrics = metrics.split('\n').filter((l) => /^perennial_prediction_log_(dropped_total|pending)/.test(l));
    const table = printTable(`Serving: predict route vs a bare Hono route, autocannon ${CONNECTIONS} connections, ${SECONDS} s each; served by ${layout}`,
      ['what', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx'],
      rows.map(([name, r]) => [name, r.rps.toFixed(0), r.p50, r.p99, r.non2xx + r.errors]),
      [
        `Perennial / bare route, 1 instance: ${(100 * rows[0][1].rps / rows[1][1].rps).toFixed(0)} % of its req/s (target >= 50 %), p99 ${rows[0][1].p99} ms (target <= 10 ms)`,
        `Perennial / bare route, batch of 100: ${(100 * rows[2][1].rps / rows[3][1].rps).toFixed(0)} % of its req/s; ${(rows[2][1].rps * 100).toFixed(0)} instances/s`,
        `production version ${logged.body.productionVersion}; prediction log: ${logMetrics.join(', ') || 'see perennial_prediction_log_* in /metrics'}`,
      ]);
    saveResults('predict', {
      connections: CONNECTIONS, secondsEach: SECONDS, layout: process.env.BENCH_DATABASE_URL ? 'api-only-postgresql' : 'npm-start-pglite',
      results: rows.map(([what, r]) => ({ what, ...r })),
      ratios: {
        oneInstanceReqPerSecond: rows[0][1].rps / rows[1][1].rps, batchReqPerSecond: rows[2][1].rps / rows[3][1].rps,
        batchInstancesPerSecond: rows[2][1].rps * 100,
      },
      predictionLog: logMetrics,
      tables: [table],
    });
  } finally {
    await stop(bare);
    if (replica) await stop(replica);
    await stop(platform);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
