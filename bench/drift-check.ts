/**
 * The model monitor's drift check (ml/drift-check.ts) beside Evidently's DataDriftPreset, on the same
 * real data in the same run: a window of 1,000,000 rows x 10 features against a 1,000,000-row reference.
 *
 * Data: flights-3m.parquet (vega-datasets: US flights, January to June 2001), ordered by departure
 * time. Reference = the first 1M flights (Jan 1 to Mar 2), window = the last 1M (May 2 to Jul 1), so
 * whatever drifted between winter and early summer is real drift. Features: numeric delay, distance,
 * dep_hour, dep_minute, day_of_month; categorical origin, destination, route (origin-destination),
 * day_of_week, delay_status (early / on time / late, > 15 minutes). DuckDB writes both samples once
 * to Parquet in a temporary folder, which both sides then read; preparing them is not measured.
 *
 * Each side runs in a fresh process of its own, one after the other, so peak RSS is its own:
 *   Perennial (bench/drift-check-child.ts): loading timed apart; then reference preparation, the
 *     first check (calibrateThresholds for the window's size included), a check with the thresholds
 *     known, and a check in tests: 'evidently' mode (these two: median of 3); each phase's time and peak RSS.
 *   Evidently (bench/evidently_drift.py, Python venv .tools/drift-bench-venv from
 *     bench/drift-requirements.txt, created here when missing or out of date): pandas loading timed
 *     apart; then Report([DataDriftPreset()]).run(current, reference); its time and peak RSS.
 * Prints the figures side by side and writes them to .data/bench/drift-check.json.
 * Product goal: each check at least 10x faster than Evidently, peak RSS under 300 MB; a check's peak
 * here is that of a process that loads both samples, prepares the reference and runs that check.
 * The machine may be shared: the load average is printed and kept with the figures.
 * DRIFT_BENCH_ROWS=<n> uses n rows per side instead of 1,000,000 (a quick try).
 * Run by `npm run bench` (last) and `npm run bench:drift`; never part of `npm test`.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../activities/duckdb';
import { ensureVenv } from './python-venv';

const root = path.resolve(import.meta.dirname, '..');
const FLIGHTS = path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
const VENV = path.join(root, '.tools/drift-bench-venv');
const REQUIREMENTS = path.join(import.meta.dirname, 'drift-requirements.txt');
const OUT = path.join(root, '.data/bench/drift-check.json');
const ROWS = Number(process.env.DRIFT_BENCH_ROWS ?? 1_000_000);
const GOAL = { speedup: 10, peakRssMb: 300 };
const FEATURES = {
  numeric: ['delay', 'distance', 'dep_hour', 'dep_minute', 'day_of_month'],
  categorical: ['origin', 'destination', 'route', 'day_of_week', 'delay_status'],
};

/** Writes <dir>/reference.parquet (the first ROWS flights by departure time), <dir>/window.parquet (the last ROWS) and features.json. */
async function prepareData(dir: string): Promise<{ flights: number }> {
  return withDuckDb(async (conn) => {
    await conn.run(`CREATE TEMP TABLE f AS SELECT
        delay::DOUBLE AS delay, distance::DOUBLE AS distance, hour(date)::DOUBLE AS dep_hour, minute(date)::DOUBLE AS dep_minute,
        day(date)::DOUBLE AS day_of_month, origin, destination, origin || '-' || destination AS route, strftime(date, '%a') AS day_of_week,
        CASE WHEN delay < 0 THEN 'early' WHEN delay <= 15 THEN 'on time' ELSE 'late' END AS delay_status,
        row_number() OVER (ORDER BY date, origin, destination, delay, distance) - 1 AS i
      FROM read_parquet('${FLIGHTS}')`);
    const flights = Number((await conn.runAndReadAll('SELECT count(*) FROM f')).getRows()[0][0]);
    if (2 * ROWS > flights) throw new RangeError(`DRIFT_BENCH_ROWS=${ROWS}: reference and window would overlap (${flights} flights)`);
    const columns = [...FEATURES.numeric, ...FEATURES.categorical].join(', ');
    await conn.run(`COPY (SELECT ${columns} FROM f WHERE i < ${ROWS} ORDER BY i) TO '${dir}/reference.parquet' (FORMAT parquet)`);
    await conn.run(`COPY (SELECT ${columns} FROM f WHERE i >= ${flights - ROWS} ORDER BY i) TO '${dir}/window.parquet' (FORMAT parquet)`);
    fs.writeFileSync(path.join(dir, 'features.json'), JSON.stringify(FEATURES));
    return { flights };
  });
}

/** Runs one side in a fresh process; its last stdout line is its JSON. */
function side<T>(command: string, args: string[]): T {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${path.basename(args[args.length - 2])} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

interface Phase {
  seconds: number;
  peakRssMb: number;
}
interface Check extends Phase {
  runs?: number[];
  sortWindowSeconds: number;
  checkSeconds: number;
  drifted: string[];
  datasetDrift: boolean;
  features: Record<string, { test: string; statistic: number; threshold: number; drifted: boolean }>;
}
interface PerennialResult {
  repeats: number;
  rows: { reference: number; window: number };
  rssResetPerPhase: boolean;
  startRssMb: number;
  processPeakRssMb: number;
  load: Phase & { rssAfterMb: number };
  reference: Phase;
  first: Check & { calibrateSeconds: number; calibration: { windowRows: number; sampleRows?: number; resamples: number; quantile: number } };
  cached: Check;
  evidently: Check;
}
interface EvidentlyResult {
  evidently: string;
  pandas: string;
  load: Phase;
  run: Phase;
  processPeakRssMb: number;
  driftedCount: number;
  drifted: string[];
  features: Record<string, { method: string; statistic: number; threshold: number; drifted: boolean }>;
}

const n = (x: number) => x.toLocaleString('en');
const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
const ALL = [...FEATURES.numeric, ...FEATURES.categorical];

/** The table and the lines under it, to stdout. */
function print(p: PerennialResult, e: EvidentlyResult, flights: number, prepareSeconds: number) {
  const evSeconds = e.run.seconds;
  const rows: [string, number, number, number | null][] = [
    ['Perennial reference preparation (once per version)', p.reference.seconds, p.reference.peakRssMb, null],
    ['Perennial first check (calibration included)', p.first.seconds, p.first.peakRssMb, p.first.drifted.length],
    ['Perennial check, thresholds cached', p.cached.seconds, p.cached.peakRssMb, p.cached.drifted.length],
    ["Perennial check, tests: 'evidently'", p.evidently.seconds, p.evidently.peakRssMb, p.evidently.drifted.length],
    [`Evidently ${e.evidently} DataDriftPreset (Report.run)`, evSeconds, e.run.peakRssMb, e.driftedCount],
  ];
  const widths = [52, 10, 14, 20, 12];
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]) : c.padStart(widths[i]))).join(''));
  console.log(`\nDrift check: ${n(p.rows.window)} window rows x ${ALL.length} features (${FEATURES.numeric.length} numeric, `
    + `${FEATURES.categorical.length} categorical) against a ${n(p.rows.reference)}-row reference`);
  console.log(`flights-3m.parquet (${n(flights)} flights): reference = first ${n(ROWS)} by departure, window = last ${n(ROWS)}; `
    + `each side in a fresh process; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs at the end\n`);
  line(['', 'seconds', 'peak RSS MB', 'Evidently s / this', 'drifted']);
  for (const [name, seconds, rss, drifted] of rows) {
    const found = drifted === null ? '' : `${drifted}/${ALL.length}`;
    line([name, seconds.toFixed(2), rss.toFixed(0), `${(evSeconds / seconds).toFixed(1)}x`, found]);
  }
  console.log(`\ncached and 'evidently' checks: median of ${p.repeats} (${list(p.cached.runs!)} s; ${list(p.evidently.runs!)} s); `
    + 'the first check and Evidently: one run');
  const cumulative = p.rssResetPerPhase ? '' : ' (not reset on this system: cumulative)';
  const mb = (x: number) => `${x.toFixed(0)} MB`;
  console.log(`peak RSS per row: that phase's own peak, the loaded data it holds included${cumulative}`);
  console.log(`process peak RSS: Perennial ${mb(p.processPeakRssMb)} (${mb(p.startRssMb)} at start: Node, tsx, modules), `
    + `Evidently ${mb(e.processPeakRssMb)} (loading included)`);
  console.log(`loading (not in the checks): Perennial ${p.load.seconds.toFixed(2)} s (DuckDB; RSS ${mb(p.load.rssAfterMb)} once loaded), `
    + `Evidently ${e.load.seconds.toFixed(2)} s (pandas ${e.pandas}); data preparation ${prepareSeconds.toFixed(1)} s`);
  const f = p.first;
  console.log(`first check = sort window ${f.sortWindowSeconds.toFixed(2)} s + calibrateThresholds ${f.calibrateSeconds.toFixed(2)} s `
    + `(${f.calibration.resamples} resamples of ${n(f.calibration.sampleRows ?? f.calibration.windowRows)} rows, scaled to ${n(f.calibration.windowRows)}) + checkDrift ${f.checkSeconds.toFixed(2)} s; `
    + `cached = sort ${p.cached.sortWindowSeconds.toFixed(2)} s + checkDrift ${p.cached.checkSeconds.toFixed(2)} s`);

  const row = (cells: string[]) => console.log(cells[0].padEnd(14) + cells[1].padStart(24) + cells[2].padStart(24) + cells[3].padStart(34));
  console.log();
  row(['feature', 'Evidently', "Perennial 'evidently'", 'calibrated: stat > threshold']);
  const mark = (drifted: boolean) => (drifted ? ' *' : '  ');
  const cell = (x: { statistic: number; drifted: boolean } | undefined) => (x ? x.statistic.toFixed(4) + mark(x.drifted) : 'absent');
  for (const name of ALL) {
    const c = f.features[name];
    const calibrated = c ? `${c.statistic.toFixed(4)} > ${c.threshold.toFixed(4)}${mark(c.drifted)}` : 'absent';
    row([name, cell(e.features[name]), cell(p.evidently.features[name]), calibrated]);
  }
  const disagree = ALL.filter((name) => e.features[name]?.drifted !== p.evidently.features[name]?.drifted);
  const agreement = disagree.length === 0 ? 'the same drifted features' : `differ on ${disagree.join(', ')}`;
  console.log(`* drifted. Evidently mode vs Evidently: ${agreement}`);
  const jsRatios = FEATURES.categorical.filter((name) => e.features[name] && p.evidently.features[name])
    .map((name) => p.evidently.features[name].statistic / e.features[name].statistic);
  const [lo, hi] = [Math.min(...jsRatios), Math.max(...jsRatios)];
  if (hi - lo < 1e-6 && Math.abs(lo - 1) > 1e-6) {
    console.log(`Jensen-Shannon: Perennial / Evidently = ${lo.toFixed(4)} on every categorical feature (1/sqrt(ln 2) = `
      + `${(1 / Math.sqrt(Math.LN2)).toFixed(4)}): Perennial's is base 2, Evidently 0.7's scipy's default natural log; same 0.1 threshold`);
  }
}

/** Per check: its speed-up, and the peak of a process that loads both samples, prepares the reference and runs that check. */
function goalOf(p: PerennialResult, e: EvidentlyResult) {
  const checks = { first: p.first, cached: p.cached, evidently: p.evidently };
  return Object.fromEntries(Object.entries(checks).map(([k, c]) => {
    const [speedup, peakRssMb] = [e.run.seconds / c.seconds, Math.max(p.load.peakRssMb, p.reference.peakRssMb, c.peakRssMb)];
    return [k, { speedup, peakRssMb, met: speedup >= GOAL.speedup && peakRssMb < GOAL.peakRssMb }];
  }));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-drift-'));
try {
  const python = ensureVenv(VENV, REQUIREMENTS);
  let t0 = performance.now();
  const { flights } = await prepareData(dir);
  const prepareSeconds = (performance.now() - t0) / 1000;
  console.error(`data prepared in ${prepareSeconds.toFixed(1)} s; running the Perennial side, then Evidently's (minutes at 1M rows)`);
  const loadAverageBefore = os.loadavg()[0];

  t0 = performance.now();
  const p = side<PerennialResult>(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drift-check-child.ts'), dir]);
  const perennialWall = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const e = side<EvidentlyResult>(python, [path.join(import.meta.dirname, 'evidently_drift.py'), dir]);
  const evidentlyWall = (performance.now() - t0) / 1000;

  print(p, e, flights, prepareSeconds);
  const goal = goalOf(p, e);
  console.log(`\ngoal: >= ${GOAL.speedup}x faster than Evidently, peak RSS < ${GOAL.peakRssMb} MB (load, reference and that check): `
    + Object.entries(goal).map(([k, g]) => `${k} ${g.speedup.toFixed(1)}x, ${g.peakRssMb.toFixed(0)} MB: ${g.met ? 'met' : 'MISSED'}`)
      .join('; '));

  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({
    at: new Date().toISOString(),
    host: {
      cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version,
      loadAverage: { before: loadAverageBefore, after: os.loadavg()[0] },
    },
    data: { source: 'vega-datasets flights-3m.parquet', flights, rows: ROWS, features: FEATURES, prepareSeconds },
    goal: { ...GOAL, checks: goal },
    perennial: { ...p, wallSeconds: perennialWall },
    evidently: { ...e, wallSeconds: evidentlyWall },
  }, null, 2));
  console.log(`figures: ${path.relative(root, OUT)}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
