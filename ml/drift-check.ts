/**
 * The drift check of a monitoring window against the production version's reference (API.md,
 * "Monitoring and retraining"): every statistic of ml/drift-stats.ts per feature, one test per
 * feature deciding, and dataset drift by the share of features that drifted. Pure: columns in,
 * report out.
 *
 * Prediction drift needs no code of its own: the caller passes the predictions as one more column
 * (categorical for classes, numeric for regression outputs) and reads that feature's result.
 */
import type {
  CategoricalFeatureDrift, DriftCalibration, DriftReportCore, DriftTestMode, FeatureDrift, NumericFeatureDrift, SkippedFeature,
} from '../common/drift-report';
import { mulberry32 } from '../common/random';
import {
  categoryCounts, chiSquare, jensenShannon, ks2Sample, populationStd, psiByReferenceDeciles, quantileLinear, sizeOf, wassersteinDistance,
  wassersteinNormed,
  type CategoricalSample,
} from './drift-stats';

/** One sample's features, as the statistics take them. */
export interface DriftColumns {
  /** the sample's rows; a column may hold fewer values (its nulls dropped) */
  rows: number;
  /** finite values per numeric feature, sorted ascending (sortedFloat64) */
  numeric: Record<string, Float64Array>;
  /** values (or their tally) per categorical feature, nulls dropped */
  categorical: Record<string, CategoricalSample>;
}

export type ReferenceColumns = Pick<DriftColumns, 'numeric' | 'categorical'>;

export interface CalibratedThresholds extends DriftCalibration {
  /** per feature: the threshold for a window of `windowRows` rows */
  features: Record<string, number>;
}

export interface CalibrationOptions {
  /** at least MIN_RESAMPLES; default MIN_RESAMPLES */
  resamples?: number;
  seed: number;
  /** default 0.99 */
  quantile?: number;
}

export const MIN_RESAMPLES = 100;
const DEFAULT_QUANTILE = 0.99;
/**
 * The largest resample drawn. Beyond it a threshold is scaled, not sampled: the distances shrink as
 * one over the square root of the sample size (below), so a window of a million rows costs what a
 * window of this many does, and one calibration per version serves every larger window.
 */
export const MAX_CALIBRATION_SAMPLE = 5_000;
/**
 * A larger numeric reference is compared with its bootstrap samples through this many of its own
 * quantiles (at the midpoints of equal shares), so a resample costs O(sketch + sample) instead of a
 * merge through the whole reference. The sketch is within one 1/50,000 share of the reference
 * everywhere: its Wasserstein distance to the reference is far below the sampling error of 5,000
 * rows that the scores measure.
 */
export const CALIBRATION_SKETCH_POINTS = 50_000;

export function quantileSketch(sorted: Float64Array, points: number): Float64Array {
  if (sorted.length <= points) return sorted;
  const out = new Float64Array(points);
  for (let i = 0; i < points; i++) out[i] = sorted[Math.min(sorted.length - 1, Math.floor(((i + 0.5) / points) * sorted.length))];
  return out;
}

/**
 * What calibration draws, before scaling to a window: per feature, the `quantile` of the statistic
 * between the reference and `resamples` bootstrap samples of `sampleRows` rows, and the reference's
 * value count. Plain JSON, so the monitor stores it once per version and sample size.
 */
export interface ThresholdBase {
  sampleRows: number;
  resamples: number;
  quantile: number;
  seed: number;
  features: Record<string, { score: number; referenceValues: number }>;
}

/** The resample size for a window: the window's own size, up to MAX_CALIBRATION_SAMPLE. */
export function calibrationSampleRows(windowRows: number): number {
  return Math.min(windowRows, MAX_CALIBRATION_SAMPLE);
}

/**
 * Indices of k rows drawn with replacement from n, in ascending order, in O(k): the running sums of
 * k + 1 exponential gaps, divided by their total, are k sorted uniforms. Sorted indices into the
 * sorted reference give a sorted sample, so no sample is ever sorted.
 */
function sortedBootstrapIndices(n: number, k: number, rand: () => number, out: Int32Array, sums: Float64Array): Int32Array {
  let total = 0;
  for (let i = 0; i < k; i++) {
    total += -Math.log(1 - rand());
    sums[i] = total;
  }
  total += -Math.log(1 - rand());
  for (let i = 0; i < k; i++) out[i] = Math.min(n - 1, Math.floor((sums[i] / total) * n));
  return out;
}
function quantileOf(values: number[], q: number): number {
  return quantileLinear(Float64Array.from(values).sort(), q);
}

/**
 * Per feature, the `quantile` (default 0.99) of the normed Wasserstein distance (numeric) or
 * Jensen-Shannon distance (categorical) between the whole reference and each of `resamples`
 * bootstrap samples of `sampleRows` rows of it. Each feature is sampled on its own: the threshold is
 * about one feature's marginal distribution. Deterministic for a seed (features in name order).
 * A feature without values in the reference gets no threshold (checkDrift skips it).
 */
export function calibrateBase(reference: ReferenceColumns, sampleRows: number, opts: CalibrationOptions): ThresholdBase {
  const resamples = opts.resamples ?? MIN_RESAMPLES;
  const quantile = opts.quantile ?? DEFAULT_QUANTILE;
  if (!Number.isInteger(sampleRows) || sampleRows < 1) throw new RangeError(`sampleRows must be a positive integer, not ${sampleRows}`);
  if (!Number.isInteger(resamples) || resamples < MIN_RESAMPLES) throw new RangeError(`resamples must be an integer >= ${MIN_RESAMPLES}, not ${resamples}`);
  if (!(quantile > 0 && quantile < 1)) throw new RangeError(`quantile must be in (0, 1), not ${quantile}`);
  const rand = mulberry32(opts.seed);
  const features: ThresholdBase['features'] = {};
  const [idx, sums] = [new Int32Array(sampleRows), new Float64Array(sampleRows)];

  for (const name of Object.keys(reference.numeric).sort()) {
    const ref = reference.numeric[name];
    if (ref.length === 0) continue;
    const sample = new Float64Array(sampleRows);
    const [basis, scale] = [quantileSketch(ref, CALIBRATION_SKETCH_POINTS), Math.max(populationStd(ref), 0.001)];
    const scores: number[] = [];
    for (let r = 0; r < resamples; r++) {
      sortedBootstrapIndices(ref.length, sampleRows, rand, idx, sums);
      for (let i = 0; i < sampleRows; i++) sample[i] = ref[idx[i]];
      // wassersteinNormed(ref, sample), through the reference's sketch
      scores.push(wassersteinDistance(basis, sample) / scale);
    }
    features[name] = { score: quantileOf(scores, quantile), referenceValues: ref.length };
  }

  for (const name of Object.keys(reference.categorical).sort()) {
    const values = reference.categorical[name];
    const total = sizeOf(values);
    if (total === 0) continue;
    const { categories, reference: refCounts } = categoryCounts(values, []);
    // a draw of a row is a draw of its category by the reference's shares: sample from the cumulative counts
    const cumulative = new Float64Array(categories.length);
    refCounts.reduce((sum, c, k) => (cumulative[k] = sum + c), 0);
    const scores: number[] = [];
    for (let r = 0; r < resamples; r++) {
      const counts = new Array<number>(categories.length).fill(0);
      for (let i = 0; i < sampleRows; i++) {
        const u = rand() * total;
        let lo = 0;
        let hi = categories.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        counts[lo]++;
      }
      scores.push(jensenShannon(refCounts, counts));
    }
    features[name] = { score: quantileOf(scores, quantile), referenceValues: total };
  }
  return { sampleRows, resamples, quantile, seed: opts.seed, features };
}

/**
 * The thresholds for a window of `windowRows` rows. A window is not drawn from the reference but
 * beside it, from the same world when nothing drifted: the distance between two independent samples
 * of sizes k and n goes as sqrt(1/k + 1/n), and a bootstrap sample of s rows against its own
 * reference as sqrt(1/s) (both distances are root-n consistent). So each drawn score is scaled by
 * sqrt(s * (1/k + 1/n)): about 1 for a window much smaller than the reference, above 1 for a window
 * the reference's size, which subsampling the reference alone would understate.
 */
export function thresholdsFor(base: ThresholdBase, windowRows: number): CalibratedThresholds {
  if (!Number.isInteger(windowRows) || windowRows < 1) throw new RangeError(`windowRows must be a positive integer, not ${windowRows}`);
  const features = Object.fromEntries(Object.entries(base.features).map(([name, { score, referenceValues }]) =>
    [name, score * Math.sqrt(base.sampleRows * (1 / windowRows + 1 / referenceValues))]));
  return { windowRows, sampleRows: base.sampleRows, resamples: base.resamples, quantile: base.quantile, seed: base.seed, features };
}

/**
 * What a window of `windowRows` rows reaches when nothing drifted, per feature: calibrateBase at the
 * window's size (at most MAX_CALIBRATION_SAMPLE rows) scaled by thresholdsFor. A window scoring
 * above it is rarer than the quantile under no drift.
 */
export function calibrateThresholds(reference: ReferenceColumns, windowRows: number, opts: CalibrationOptions): CalibratedThresholds {
  if (!Number.isInteger(windowRows) || windowRows < 1) throw new RangeError(`windowRows must be a positive integer, not ${windowRows}`);
  return thresholdsFor(calibrateBase(reference, calibrationSampleRows(windowRows), opts), windowRows);
}

export interface DriftSettings {
  tests: DriftTestMode;
  /** dataset drift when the share of drifted features is at or above this */
  driftShare: number;
  /** required in calibrated mode: calibrateThresholds(reference, the window's rows, ...) */
  thresholds?: CalibratedThresholds;
}

/** Evidently 0.7's defaults: distances for a reference over 1,000 rows, else p-value tests. */
const EVIDENTLY_LARGE_REFERENCE_ROWS = 1000;
const EVIDENTLY_DISTANCE_THRESHOLD = 0.1;
const EVIDENTLY_P_VALUE_THRESHOLD = 0.05;

type Decision = Pick<FeatureDrift, 'test' | 'statistic' | 'threshold' | 'drifted'>;

function calibratedThreshold(settings: DriftSettings, name: string): number {
  const t = settings.thresholds?.features[name];
  if (t === undefined) throw new RangeError(`calibrated drift check: no threshold for feature ${name}`);
  return t;
}

/**
 * The rule that decides a feature: the calibrated threshold on its distance; or Evidently's fixed
 * rule, the distance on a large reference and a test's p-value on a small one.
 */
function decide(name: string, reference: DriftColumns, settings: DriftSettings,
  distance: { test: 'wasserstein' | 'jensenShannon'; value: number }, pTest: { test: 'ks' | 'chiSquare'; pValue: number }): Decision {
  if (settings.tests === 'calibrated') {
    const threshold = calibratedThreshold(settings, name);
    return { test: distance.test, statistic: distance.value, threshold, drifted: distance.value > threshold };
  }
  if (reference.rows > EVIDENTLY_LARGE_REFERENCE_ROWS) {
    return { test: distance.test, statistic: distance.value, threshold: EVIDENTLY_DISTANCE_THRESHOLD, drifted: distance.value >= EVIDENTLY_DISTANCE_THRESHOLD };
  }
  return { test: pTest.test, statistic: pTest.pValue, threshold: EVIDENTLY_P_VALUE_THRESHOLD, drifted: pTest.pValue < EVIDENTLY_P_VALUE_THRESHOLD };
}

type Kind = 'numeric' | 'categorical';

function kindIn(columns: ReferenceColumns, name: string): Kind | undefined {
  const [numeric, categorical] = [Object.hasOwn(columns.numeric, name), Object.hasOwn(columns.categorical, name)];
  if (numeric && categorical) throw new RangeError(`feature ${name} is both numeric and categorical`);
  return numeric ? 'numeric' : categorical ? 'categorical' : undefined;
}

function valueCount(columns: ReferenceColumns, name: string, kind: Kind): number {
  return kind === 'numeric' ? columns.numeric[name].length : sizeOf(columns.categorical[name]);
}

/** Why a feature cannot be compared, or null when it can. */
function skipReason(reference: DriftColumns, window: DriftColumns, name: string): string | null {
  const [refKind, winKind] = [kindIn(reference, name), kindIn(window, name)];
  if (!refKind) return 'not in the reference';
  if (!winKind) return 'not in the window';
  if (refKind !== winKind) return `${refKind} in the reference, ${winKind} in the window`;
  if (valueCount(reference, name, refKind) === 0) return 'no values in the reference';
  if (valueCount(window, name, winKind) === 0) return 'no values in the window';
  return null;
}

function numericFeature(name: string, reference: DriftColumns, window: DriftColumns, settings: DriftSettings): NumericFeatureDrift {
  const [ref, cur] = [reference.numeric[name], window.numeric[name]];
  const stats = { ks: ks2Sample(ref, cur), psi: psiByReferenceDeciles(ref, cur), wasserstein: wassersteinNormed(ref, cur) };
  return { name, kind: 'numeric', ...decide(name, reference, settings, { test: 'wasserstein', value: stats.wasserstein }, { test: 'ks', pValue: stats.ks.pValue }), ...stats };
}

function categoricalFeature(name: string, reference: DriftColumns, window: DriftColumns, settings: DriftSettings): CategoricalFeatureDrift {
  const counts = categoryCounts(reference.categorical[name], window.categorical[name]);
  const chi = chiSquare(counts.reference, counts.current);
  const stats = {
    jensenShannon: jensenShannon(counts.reference, counts.current),
    // JSON has no Infinity: null stands for it (pValue is then 0), so the report survives a round trip
    chiSquare: { statistic: Number.isFinite(chi.statistic) ? chi.statistic : null, pValue: chi.pValue },
  };
  // Evidently 0.7 takes scipy's jensenshannon in its default base, e: the base-2 distance times sqrt(ln 2)
  const distance = settings.tests === 'evidently' ? stats.jensenShannon * Math.sqrt(Math.LN2) : stats.jensenShannon;
  return { name, kind: 'categorical', ...decide(name, reference, settings, { test: 'jensenShannon', value: distance }, { test: 'chiSquare', pValue: stats.chiSquare.pValue }), ...stats };
}

/**
 * Compares every feature the reference and the window share. A feature absent or without values on
 * either side, or numeric on one side and categorical on the other, is skipped with its reason and
 * left out of the drift share. A window where no feature can be compared (an empty window among
 * them) is refused with a RangeError: there is no share to report.
 */
export function checkDrift(reference: DriftColumns, window: DriftColumns, settings: DriftSettings): DriftReportCore {
  if (!(settings.driftShare >= 0 && settings.driftShare <= 1)) throw new RangeError(`driftShare must be in [0, 1], not ${settings.driftShare}`);
  if (settings.tests === 'calibrated' && !settings.thresholds) throw new RangeError('calibrated drift check needs thresholds (calibrateThresholds)');
  const names = [...new Set([
    ...Object.keys(reference.numeric), ...Object.keys(reference.categorical),
    ...Object.keys(window.numeric), ...Object.keys(window.categorical),
  ])].sort();
  const features: FeatureDrift[] = [];
  const skipped: SkippedFeature[] = [];
  for (const name of names) {
    const reason = skipReason(reference, window, name);
    if (reason) skipped.push({ name, reason });
    else if (kindIn(reference, name) === 'numeric') features.push(numericFeature(name, reference, window, settings));
    else features.push(categoricalFeature(name, reference, window, settings));
  }
  if (features.length === 0) throw new RangeError(`no feature has values in both the reference and the window (${window.rows} window rows)`);
  const driftShare = features.filter((f) => f.drifted).length / features.length;
  const t = settings.thresholds;
  return {
    rows: window.rows,
    reference: { rows: reference.rows },
    tests: settings.tests,
    calibration: settings.tests === 'calibrated' && t
      ? { windowRows: t.windowRows, sampleRows: t.sampleRows, resamples: t.resamples, quantile: t.quantile, seed: t.seed }
      : null,
    features,
    skipped,
    driftShare,
    datasetDrift: driftShare >= settings.driftShare,
  };
}
