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
 * Prints the figures side by side (bench/report.ts) and writes them to bench/results/drift-check.json.
 * If Evidently's venv cannot be made or Evidently fails, the Perennial side is still measured and
 * Evidently is reported skipped, with the reason.
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
import { isSkipped, peer, printTable, saveResults, type Skipped, type Table } from './report';

const root = path.resolve(import.meta.dirname, '..');
const FLIGHTS = path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
const VENV = path.join(root, '.tools/drift-bench-venv');
const REQUIREMENTS = path.join(import.meta.dirname, 'drift-requirements.txt');
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

/** The tables and the lines under them, to stdout; returns the tables as printed. */
function print(p: PerennialResult, e: EvidentlyResult | Skipped, flights: number, prepareSeconds: number, goalLine: string): Table[] {
  const ev = isSkipped(e) ? undefined : e;
  const ratio = (seconds: number) => (ev ? `${(ev.run.seconds / seconds).toFixed(1)}x` : '-');
  const found = (drifted: number) => `${drifted}/${ALL.length}`;
  const perennialRows: [string, Phase, number | null][] = [
    ['Perennial reference preparation (once per version)', p.reference, null],
    ['Perennial first check (calibration included)', p.first, p.first.drifted.length],
    ['Perennial check, thresholds cached', p.cached, p.cached.drifted.length],
    ["Perennial check, tests: 'evidently'", p.evidently, p.evidently.drifted.length],
  ];
  const mb = (x: number) => `${x.toFixed(0)} MB`;
  const f = p.first;
  const cumulative = p.rssResetPerPhase ? '' : ' (not reset on this system: cumulative)';
  const main = printTable(
    `Drift check: ${n(p.rows.window)} window rows x ${ALL.length} features (${FEATURES.numeric.length} numeric, `
      + `${FEATURES.categorical.length} categorical) against a ${n(p.rows.reference)}-row reference`,
    ['what', 'seconds', 'peak RSS MB', 'Evidently s / this', 'drifted'],
    [
      ...perennialRows.map(([name, phase, drifted]) => [name, phase.seconds.toFixed(2), phase.peakRssMb.toFixed(0), ratio(phase.seconds), drifted === null ? '' : found(drifted)]),
      ev ? [`Evidently ${ev.evidently} DataDriftPreset (Report.run)`, ev.run.seconds.toFixed(2), ev.run.peakRssMb.toFixed(0), '1.0x', found(ev.driftedCount)]
        : ['Evidently DataDriftPreset (Report.run)', e as Skipped],
    ],
    [
      `flights-3m.parquet (${n(flights)} flights): reference = first ${n(ROWS)} by departure, window = last ${n(ROWS)}; `
        + `each side in a fresh process; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs at the end`,
      `cached and 'evidently' checks: median of ${p.repeats} (${list(p.cached.runs!)} s; ${list(p.evidently.runs!)} s); `
        + 'the first check and Evidently: one run',
      `peak RSS per row: that phase's own peak, the loaded data it holds included${cumulative}`,
      `process peak RSS: Perennial ${mb(p.processPeakRssMb)} (${mb(p.startRssMb)} at start: Node, tsx, modules)`
        + (ev ? `, Evidently ${mb(ev.processPeakRssMb)} (loading included)` : ''),
      `loading (not in the checks): Perennial ${p.load.seconds.toFixed(2)} s (DuckDB; RSS ${mb(p.load.rssAfterMb)} once loaded)`
        + (ev ? `, Evidently ${ev.load.seconds.toFixed(2)} s (pandas ${ev.pandas})` : '') + `; data preparation ${prepareSeconds.toFixed(1)} s`,
      `first check = sort window ${f.sortWindowSeconds.toFixed(2)} s + calibrateThresholds ${f.calibrateSeconds.toFixed(2)} s `
        + `(${f.calibration.resamples} resamples of ${n(f.calibration.sampleRows ?? f.calibration.windowRows)} rows, scaled to ${n(f.calibration.windowRows)}) + checkDrift ${f.checkSeconds.toFixed(2)} s; `
        + `cached = sort ${p.cached.sortWindowSeconds.toFixed(2)} s + checkDrift ${p.cached.checkSeconds.toFixed(2)} s`,
      goalLine,
    ],
  );

  const mark = (drifted: boolean) => (drifted ? ' *' : '');
  const cell = (x: { statistic: number; drifted: boolean } | undefined) => (x ? x.statistic.toFixed(4) + mark(x.drifted) : 'absent');
  const notes = ['* drifted.'];
  if (ev) {
    const disagree = ALL.filter((name) => ev.features[name]?.drifted !== p.evidently.features[name]?.drifted);
    notes.push(`Evidently mode vs Evidently: ${disagree.length === 0 ? 'the same drifted features' : `differ on ${disagree.join(', ')}`}`);
    const jsRatios = FEATURES.categorical.filter((name) => ev.features[name] && p.evidently.features[name])
      .map((name) => p.evidently.features[name].statistic / ev.features[name].statistic);
    const [lo, hi] = [Math.min(...jsRatios), Math.max(...jsRatios)];
    if (hi - lo < 1e-6 && Math.abs(lo - 1) > 1e-6) {
      notes.push(`Jensen-Shannon: Perennial / Evidently = ${lo.toFixed(4)} on every categorical feature (1/sqrt(ln 2) = `
        + `${(1 / Math.sqrt(Math.LN2)).toFixed(4)}): Perennial's is base 2, Evidently 0.7's scipy's default natural log; same 0.1 threshold`);
    }
  } else {
    notes.push(`Evidently skipped: ${(e as Skipped).skipped}`);
  }
  const features = printTable(
    'Drift check per feature: statistic, Evidently beside Perennial',
    ['feature', 'Evidently', "Perennial 'evidently'", 'calibrated: stat > threshold'],
    ALL.map((name) => {
      const c = f.features[name];
      return [name, ev ? cell(ev.features[name]) : '-', cell(p.evidently.features[name]), c ? `${c.statistic.toFixed(4)} > ${c.threshold.toFixed(4)}${mark(c.drifted)}` : 'absent'];
    }),
    notes,
  );
  return [main, features];
}

/** Per check: its speed-up (none when Evidently was skipped), and the peak of a process that loads both samples, prepares the reference and runs that check. */
function goalOf(p: PerennialResult, e: EvidentlyResult | Skipped) {
  const checks = { first: p.first, cached: p.cached, evidently: p.evidently };
  return Object.fromEntries(Object.entries(checks).map(([k, c]) => {
    const speedup = isSkipped(e) ? null : e.run.seconds / c.seconds;
    const peakRssMb = Math.max(p.load.peakRssMb, p.reference.peakRssMb, c.peakRssMb);
    return [k, { speedup, peakRssMb, met: speedup === null ? null : speedup >= GOAL.speedup && peakRssMb < GOAL.peakRssMb, rssMet: peakRssMb < GOAL.peakRssMb }];
  }));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-drift-'));
try {
  // the peer's venv first (it may take minutes once); if it cannot be made, Evidently is skipped and Perennial still measured
  const python = await peer('Evidently (venv)', () => ensureVenv(VENV, REQUIREMENTS));
  let t0 = performance.now();
  const { flights } = await prepareData(dir);
  const prepareSeconds = (performance.now() - t0) / 1000;
  console.error(`data prepared in ${prepareSeconds.toFixed(1)} s; running the Perennial side, then Evidently's (minutes at 1M rows)`);
  const loadAverageBefore = os.loadavg()[0];

  t0 = performance.now();
  const p = side<PerennialResult>(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drift-check-child.ts'), dir]);
  const perennialWall = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const e = isSkipped(python) ? python
    : await peer('Evidently', () => side<EvidentlyResult>(python, [path.join(import.meta.dirname, 'evidently_drift.py'), dir]));
  const evidentlyWall = (performance.now() - t0) / 1000;

  const goal = goalOf(p, e);
  const goalLine = `goal: >= ${GOAL.speedup}x faster than Evidently, peak RSS < ${GOAL.peakRssMb} MB (load, reference and that check): `
    + Object.entries(goal).map(([k, g]) => (g.speedup === null
      ? `${k} ${g.peakRssMb.toFixed(0)} MB: RSS ${g.rssMet ? 'met' : 'MISSED'}, speed not measured (Evidently skipped)`
      : `${k} ${g.speedup.toFixed(1)}x, ${g.peakRssMb.toFixed(0)} MB: ${g.met ? 'met' : 'MISSED'}`))
      .join('; ');
  const tables = print(p, e, flights, prepareSeconds, goalLine);

  saveResults('drift-check', {
    loadAverage: { before: loadAverageBefore, after: os.loadavg()[0] },
    data: { source: 'vega-datasets flights-3m.parquet', flights, rows: ROWS, features: FEATURES, prepareSeconds },
    goal: { ...GOAL, checks: goal },
    results: {
      perennial: { ...p, wallSeconds: perennialWall },
      evidently: isSkipped(e) ? e : { ...e, wallSeconds: evidentlyWall },
    },
    tables,
  });
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
