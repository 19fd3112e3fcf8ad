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
 * Product goal: each check at least 10x faster than Evidently, peak RSS under 300 MB.
 * DRIFT_BENCH_ROWS=<n> uses n rows per side instead of 1,000,000 (a quick try).
 * Run by `npm run bench` (last) and `npm run bench:drift`; never part of `npm test`.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../activities/duckdb';

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

/** The venv a newcomer lacks: created, then filled from the pinned requirements (again whenever they change). */
function ensureVenv(): string {
  const python = path.join(VENV, 'bin/python');
  const stamp = path.join(VENV, '.drift-requirements.txt');
  const wanted = fs.readFileSync(REQUIREMENTS, 'utf8');
  const log: SpawnSyncOptions = { stdio: ['ignore', 2, 2] }; // progress to stderr: stdout is the table
  if (!fs.existsSync(python)) {
    console.error(`creating ${path.relative(root, VENV)} (once)`);
    const r = spawnSync('python3', ['-m', 'venv', VENV], log);
    if (r.status !== 0) throw new Error('python3 -m venv failed: Python 3 with its venv module is needed (Debian: apt-get install python3-venv)');
  }
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== wanted) {
    console.error(`installing ${path.relative(root, REQUIREMENTS)} into ${path.relative(root, VENV)}`);
    const r = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], log);
    if (r.status !== 0) throw new Error('pip install -r bench/drift-requirements.txt failed');
    fs.writeFileSync(stamp, wanted);
  }
  return python;
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
  rows: { reference: number; window: number };
  rssResetPerPhase: boolean;
  startRssMb: number;
  processPeakRssMb: number;
  load: Phase & { rssAfterMb: number };
  reference: Phase;
  first: Check & { calibrateSeconds: number; calibration: { windowRows: number; resamples: number; quantile: number } };
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-drift-'));
try {
  const python = ensureVenv();
  let t0 = performance.now();
  const { flights } = await prepareData(dir);
  const prepareSeconds = (performance.now() - t0) / 1000;
  console.error(`data prepared in ${prepareSeconds.toFixed(1)} s; running the Perennial side, then Evidently's (minutes at 1M rows)`);

  t0 = performance.now();
  const p = side<PerennialResult>(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drift-check-child.ts'), dir]);
  const perennialWall = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const e = side<EvidentlyResult>(python, [path.join(import.meta.dirname, 'evidently_drift.py'), dir]);
  const evidentlyWall = (performance.now() - t0) / 1000;

  const nFeatures = FEATURES.numeric.length + FEATURES.categorical.length;
  const evSeconds = e.run.seconds;
  const rows: [string, number, number, number][] = [
    ['Perennial reference preparation (once per version)', p.reference.seconds, p.reference.peakRssMb, NaN],
    ['Perennial first check (calibration included)', p.first.seconds, p.first.peakRssMb, p.first.drifted.length],
    ['Perennial check, thresholds cached', p.cached.seconds, p.cached.peakRssMb, p.cached.drifted.length],
    ["Perennial check, tests: 'evidently'", p.evidently.seconds, p.evidently.peakRssMb, p.evidently.drifted.length],
    [`Evidently ${e.evidently} DataDriftPreset (Report.run)`, evSeconds, e.run.peakRssMb, e.driftedCount],
  ];
  const label = 52;
  const line = (cells: string[]) => console.log(cells[0].padEnd(label) + cells.slice(1).map((c, i) => c.padStart([10, 14, 20, 12][i])).join(''));
  console.log(`\nDrift check: ${p.rows.window.toLocaleString('en')} window rows x ${nFeatures} features (${FEATURES.numeric.length} numeric, `
    + `${FEATURES.categorical.length} categorical) against a ${p.rows.reference.toLocaleString('en')}-row reference`);
  console.log(`flights-3m.parquet (${flights.toLocaleString('en')} flights): reference = first ${ROWS.toLocaleString('en')} by departure, `
    + `window = last ${ROWS.toLocaleString('en')}; each side in a fresh process\n`);
  line(['', 'seconds', 'peak RSS MB', 'Evidently s / this', 'drifted']);
  for (const [name, s, rss, drifted] of rows) {
    line([name, s.toFixed(2), rss.toFixed(0), name.startsWith('Evidently') ? '1.0x' : `${(evSeconds / s).toFixed(1)}x`,
      Number.isNaN(drifted) ? '' : `${drifted}/${nFeatures}`]);
  }
  console.log(`\ncached and 'evidently' checks: median of ${p.cached.runs!.length} (each: ${p.cached.runs!.map((s) => s.toFixed(2)).join(', ')} s and `
    + `${p.evidently.runs!.map((s) => s.toFixed(2)).join(', ')} s); the first check and Evidently: one run`);
  console.log(`peak RSS per row: that phase's own peak, the loaded data it holds included${p.rssResetPerPhase ? '' : ' (no reset here: cumulative)'}`);
  console.log(`process peak RSS: Perennial ${p.processPeakRssMb.toFixed(0)} MB (${p.startRssMb.toFixed(0)} MB at start: Node, tsx, modules), `
    + `Evidently ${e.processPeakRssMb.toFixed(0)} MB (loading included)`);
  console.log(`loading (not in the checks): Perennial ${p.load.seconds.toFixed(2)} s (DuckDB, RSS ${p.load.rssAfterMb.toFixed(0)} MB once loaded), `
    + `Evidently ${e.load.seconds.toFixed(2)} s (pandas ${e.pandas}); data preparation ${prepareSeconds.toFixed(1)} s`);
  console.log(`first check = sort window ${p.first.sortWindowSeconds.toFixed(2)} s + calibrateThresholds ${p.first.calibrateSeconds.toFixed(2)} s `
    + `(${p.first.calibration.resamples} resamples of ${p.first.calibration.windowRows.toLocaleString('en')} rows) + checkDrift ${p.first.checkSeconds.toFixed(2)} s; `
    + `cached = sort ${p.cached.sortWindowSeconds.toFixed(2)} s + checkDrift ${p.cached.checkSeconds.toFixed(2)} s`);

  console.log(`\n${'feature'.padEnd(14)}${'Evidently'.padStart(24)}${"Perennial 'evidently'".padStart(24)}${'calibrated: stat > threshold'.padStart(34)}`);
  const mark = (drifted: boolean) => (drifted ? ' *' : '  ');
  for (const name of [...FEATURES.numeric, ...FEATURES.categorical]) {
    const [ev, pe, pc] = [e.features[name], p.evidently.features[name], p.first.features[name]];
    const cell = (f: { statistic: number; drifted: boolean } | undefined) => (f ? f.statistic.toFixed(4) + mark(f.drifted) : 'absent');
    const calibrated = pc ? `${pc.statistic.toFixed(4)} > ${pc.threshold.toFixed(4)}${mark(pc.drifted)}` : 'absent';
    console.log(`${name.padEnd(14)}${cell(ev).padStart(24)}${cell(pe).padStart(24)}${calibrated.padStart(34)}`);
  }
  const disagree = [...FEATURES.numeric, ...FEATURES.categorical].filter((n) => e.features[n]?.drifted !== p.evidently.features[n]?.drifted);
  console.log(`* drifted. Evidently mode vs Evidently: ${disagree.length === 0 ? 'same drifted features' : `differ on ${disagree.join(', ')}`}`);
  const jsRatios = FEATURES.categorical.filter((n) => e.features[n] && p.evidently.features[n]).map((n) => p.evidently.features[n].statistic / e.features[n].statistic);
  const [lo, hi] = [Math.min(...jsRatios), Math.max(...jsRatios)];
  if (hi - lo < 1e-6 && Math.abs(lo - 1) > 1e-6) {
    console.log(`Jensen-Shannon: Perennial / Evidently = ${lo.toFixed(4)} on every categorical feature (1/sqrt(ln 2) = ${(1 / Math.sqrt(Math.LN2)).toFixed(4)}: `
      + 'Perennial takes base 2, Evidently 0.7 scipy\'s default natural log), so the same 0.1 threshold is a different rule');
  }

  const checks = { first: p.first, cached: p.cached, evidently: p.evidently };
  const goal = Object.fromEntries(Object.entries(checks).map(([k, c]) => [k, {
    speedup: evSeconds / c.seconds, met: evSeconds / c.seconds >= GOAL.speedup && p.processPeakRssMb < GOAL.peakRssMb,
  }]));
  console.log(`\ngoal: >= ${GOAL.speedup}x faster than Evidently, peak RSS < ${GOAL.peakRssMb} MB (process peak ${p.processPeakRssMb.toFixed(0)} MB): `
    + Object.entries(goal).map(([k, g]) => `${k} ${g.speedup.toFixed(1)}x ${g.met ? 'met' : 'MISSED'}`).join(', '));

  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({
    at: new Date().toISOString(), host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    data: { source: 'vega-datasets flights-3m.parquet', flights, rows: ROWS, features: FEATURES, prepareSeconds },
    goal: { ...GOAL, checks: goal }, perennial: { ...p, wallSeconds: perennialWall }, evidently: { ...e, wallSeconds: evidentlyWall },
  }, null, 2));
  console.log(`figures: ${path.relative(root, OUT)}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
