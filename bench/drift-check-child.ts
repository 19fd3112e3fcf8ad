/**
 * The Perennial side of bench/drift-check.ts, in its own process so peak RSS is its own.
 * `tsx bench/drift-check-child.ts <dir>` reads <dir>/reference.parquet and <dir>/window.parquet
 * (columns listed in <dir>/features.json) and prints one JSON line.
 *
 * Loading (DuckDB, chunk by chunk: numeric columns into Float64Arrays, categorical ones tallied by
 * category, as the monitor reads a window) is timed on its own and not part of any check. Then:
 *   reference: sortedFloat64 of every reference numeric column (once per model version in the product)
 *   first:     the window's columns sorted + calibrateThresholds for the window's size + checkDrift (calibrated)
 *   cached:    the window's columns sorted + checkDrift with the thresholds of `first`
 *   evidently: the window's columns sorted + checkDrift in tests: 'evidently' mode
 * The first check starts from the window as loaded (unsorted), as a check gets it in the product. `first`
 * runs once; `cached` and `evidently` run DRIFT_BENCH_REPEATS times (default 3) and report the median.
 * Memory: on Linux the RSS high-water mark is reset (/proc/self/clear_refs) after each phase, so each
 * phase reports its own peak (the data then held included); that reset also resets getrusage's
 * maxRSS, so the process peak is the largest of the phases' process.resourceUsage().maxRSS readings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { calibrateThresholds, checkDrift, type DriftColumns, type DriftSettings } from '../ml/drift-check';
import { sortedFloat64 } from '../ml/drift-stats';
import type { DriftReportCore } from '../common/drift-report';

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx bench/drift-check-child.ts <data dir>');
const features = JSON.parse(fs.readFileSync(path.join(dir, 'features.json'), 'utf8')) as { numeric: string[]; categorical: string[] };
const SEED = 20010101;
const DRIFT_SHARE = 0.5; // Evidently's DataDriftPreset default
const REPEATS = Number(process.env.DRIFT_BENCH_REPEATS ?? 3);

interface Loaded {
  rows: number;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, Map<string, number>>;
}

/** Streams a Parquet file's columns in DuckDB chunks; categorical values are counted, not kept. */
async function load(file: string): Promise<Loaded> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    const source = `read_parquet('${file.replaceAll("'", "''")}')`;
    const rows = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${source}`)).getRows()[0][0]);
    const names = [...features.numeric, ...features.categorical];
    const result = await conn.stream(`SELECT ${names.map((n) => `"${n}"`).join(', ')} FROM ${source}`);
    const numeric = Object.fromEntries(features.numeric.map((n) => [n, new Float64Array(rows)]));
    const categorical = Object.fromEntries(features.categorical.map((n) => [n, new Map<string, number>()]));
    let at = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      const count = chunk.rowCount;
      features.numeric.forEach((name, c) => {
        const vector = chunk.getColumnVector(c);
        const out = numeric[name];
        for (let i = 0; i < count; i++) out[at + i] = (vector.getItem(i) as number | null) ?? NaN;
      });
      features.categorical.forEach((name, k) => {
        const vector = chunk.getColumnVector(features.numeric.length + k);
        const tally = categorical[name];
        for (let i = 0; i < count; i++) {
          const v = vector.getItem(i) as string | null;
          if (v !== null) tally.set(v, (tally.get(v) ?? 0) + 1);
        }
      });
      at += count;
    }
    if (at !== rows) throw new Error(`${file}: read ${at} rows of ${rows}`);
    return { rows, numeric, categorical };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * What a check does first with the window as it arrives: sort its numeric columns where they lie, as
 * the monitor does with the columns it read (NaN, the nulls, sort last and are cut off). A repeated
 * check sorts the already sorted columns again, which is cheaper than the first sort: the medians of
 * the repeated checks include that.
 */
function windowColumns(w: Loaded): DriftColumns {
  const numeric = Object.fromEntries(Object.entries(w.numeric).map(([n, v]) => {
    v.sort();
    let end = v.length;
    while (end > 0 && Number.isNaN(v[end - 1])) end--;
    return [n, v.subarray(0, end)];
  }));
  return { rows: w.rows, numeric, categorical: w.categorical };
}

let processPeakKb = process.resourceUsage().maxRSS; // start-up: Node, tsx, modules
const canReset = (() => {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
})();
/** This phase's peak RSS in MB (since the last reset), then a fresh high-water mark for the next phase. */
function phasePeakMb(): number {
  const kb = process.resourceUsage().maxRSS;
  processPeakKb = Math.max(processPeakKb, kb);
  if (canReset) fs.writeFileSync('/proc/self/clear_refs', '5');
  return kb / 1024;
}
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const summary = (r: DriftReportCore) => ({
  drifted: r.features.filter((f) => f.drifted).map((f) => f.name),
  datasetDrift: r.datasetDrift,
  driftShare: r.driftShare,
  features: Object.fromEntries(r.features.map(({ name, test, statistic, threshold, drifted }) => [
    name, { test, statistic, threshold, drifted },
  ])),
  skipped: r.skipped,
});

const startRss = rssMb(); // each phase's peak starts from what stays resident
let t0 = performance.now();
const rawReference = await load(path.join(dir, 'reference.parquet'));
const loadReferenceSeconds = seconds(t0);
t0 = performance.now();
const rawWindow = await load(path.join(dir, 'window.parquet'));
const loadWindowSeconds = seconds(t0);
const loadPeak = phasePeakMb();
const loadedRss = rssMb();

t0 = performance.now();
const reference: DriftColumns = {
  rows: rawReference.rows,
  numeric: Object.fromEntries(Object.entries(rawReference.numeric).map(([n, v]) => [n, sortedFloat64(v)])),
  categorical: rawReference.categorical,
};
const referenceSeconds = seconds(t0);
rawReference.numeric = {}; // the product keeps only the prepared reference
const referencePeak = phasePeakMb();

/** One check as the monitor runs it: the window's columns sorted, thresholds calibrated when asked for, checkDrift. */
function timedCheck(settings: DriftSettings, calibrate = false) {
  const t0 = performance.now();
  const w = windowColumns(rawWindow);
  const sortWindowSeconds = seconds(t0);
  let t1 = performance.now();
  const thresholds = calibrate ? calibrateThresholds(reference, w.rows, { seed: SEED }) : settings.thresholds;
  const calibrateSeconds = seconds(t1);
  t1 = performance.now();
  const report = checkDrift(reference, w, { ...settings, thresholds });
  return { seconds: seconds(t0), sortWindowSeconds, calibrateSeconds, checkSeconds: seconds(t1), thresholds, report };
}

/** The median run of `repeats` (each a fresh sort of the window and a check), and this phase's peak RSS. */
function repeatedCheck(settings: DriftSettings) {
  const runs = Array.from({ length: REPEATS }, () => timedCheck(settings));
  const median = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
  const { seconds: s, sortWindowSeconds, checkSeconds, report } = median;
  return { seconds: s, sortWindowSeconds, checkSeconds, runs: runs.map((r) => r.seconds), peakRssMb: phasePeakMb(), ...summary(report) };
}

const first = timedCheck({ tests: 'calibrated', driftShare: DRIFT_SHARE }, true);
const firstPeak = phasePeakMb();
const thresholds = first.thresholds!;
const cached = repeatedCheck({ tests: 'calibrated', driftShare: DRIFT_SHARE, thresholds });
const evidently = repeatedCheck({ tests: 'evidently', driftShare: DRIFT_SHARE });

console.log(JSON.stringify({
  rows: { reference: reference.rows, window: rawWindow.rows },
  features,
  rssResetPerPhase: canReset,
  startRssMb: startRss,
  processPeakRssMb: processPeakKb / 1024,
  load: { seconds: loadReferenceSeconds + loadWindowSeconds, referenceSeconds: loadReferenceSeconds, windowSeconds: loadWindowSeconds,
    peakRssMb: loadPeak, rssAfterMb: loadedRss },
  reference: { seconds: referenceSeconds, peakRssMb: referencePeak },
  first: {
    seconds: first.seconds, sortWindowSeconds: first.sortWindowSeconds, calibrateSeconds: first.calibrateSeconds,
    checkSeconds: first.checkSeconds, peakRssMb: firstPeak,
    calibration: { windowRows: thresholds.windowRows, sampleRows: thresholds.sampleRows, resamples: thresholds.resamples, quantile: thresholds.quantile },
    ...summary(first.report),
  },
  repeats: REPEATS,
  cached,
  evidently,
}));
