/**
 * Confidence-based performance estimation (CBPE): a classifier's accuracy on a window of logged
 * predictions that has no labels, with a confidence band. Equal to NannyML 0.13.1's
 * CBPE(metrics=['accuracy', 'confusion_matrix'], normalize_confusion_matrix=None) with its defaults
 * (isotonic calibration, band = estimate ± 3 sampling errors); test/fixtures/cbpe holds the proof.
 *
 * fitCbpe reads the reference, the model's held-out evaluation split (class probabilities and true
 * class per row), and keeps what estimation needs: per calibrated score an isotonic regression (or
 * none, where NannyML's needs_calibration rule refuses it) and the spread of the reference's per-row
 * correctness, from which NannyML derives the sampling error. estimateAccuracy is then one pass over
 * the window's probabilities with no per-row memory (a million rows of five classes: about 0.15 s).
 * Probabilities must be finite and in [0, 1]; anything else is a RangeError.
 *
 * What is calibrated, as NannyML does it:
 * - two classes (NannyML's binary problem): the score is column 1's probability; p' = calibrated(p1),
 *   and the probability of class 0 is 1 - p'.
 * - three or more classes: each class's column one-vs-rest with its own isotonic regression (or none),
 *   then each row is divided by its sum (a zero sum gives the uniform row 1/k).
 * The predicted class is the argmax of the uncalibrated row (first maximum on a tie): what the model
 * answered (NannyML reads it from a y_pred column; the fixtures give it the same argmax). Expected accuracy = mean over rows of the calibrated probability of the predicted class;
 * expected confusion cell [true i][predicted j] = sum over rows predicted j of calibrated p_i.
 *
 * NannyML's calibration rule (nannyml/calibration.py, needs_calibration), per score with 0/1 targets:
 * no calibration when the targets hold one class, or when the reference AUROC exceeds 0.999; otherwise
 * scikit-learn's StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42) (reproduced here
 * bit for bit, numpy's legacy MT19937 stream included) fits the isotonic regression on each training
 * fold and calibrates its test fold; the test folds are concatenated and the expected calibration error
 * (ECE, 10 equal-count bins over the scores sorted ascending) is computed before and after; calibration
 * is kept only if it lowers the ECE, and is then refitted on the whole reference. Two departures, both
 * where NannyML has no single answer: (1) NannyML sorts with numpy's unstable default argsort, so among
 * tied scores (isotonic outputs tie a lot) the order of the targets, and so the ECE after calibration,
 * depends on numpy's sort kernel for the CPU; here ties keep the concatenated fold order (a stable
 * sort). The decision agreed with NannyML's on every fixture score. (2) Where scikit-learn's split
 * raises (a class with one row, fewer than 2 test or training rows), NannyML's fit fails;
 * here that score is left uncalibrated ('too-few-rows').
 *
 * Sampling error (nannyml/sampling_error/{binary,multiclass}_classification.py,
 * accuracy_sampling_error): SE = std(c) / sqrt(m), where c is the reference's per-row correctness
 * (1 where the uncalibrated argmax equals the truth, else 0), std is the population standard deviation
 * (ddof = 0, i.e. sqrt(a·(1 - a)) for reference accuracy a) and m the window's row count. The band is
 * [max(0, estimate - 3·SE), min(1, estimate + 3·SE)] (SAMPLING_ERROR_RANGE = 3, accuracy's limits 0 and 1).
 *
 * Isotonic regression equals scikit-learn's IsotonicRegression(increasing=True, out_of_bounds='clip'):
 * pairs sorted by score; scores closer than 1e-15 to the first of a run are merged, their targets
 * averaged and weighted by count; weighted pool-adjacent-violators (Busing 2022's single pass, which
 * also pools equal neighbours, as scipy.optimize.isotonic_regression does); the thresholds kept are each
 * block's first and last score. Prediction clips the score to [first, last threshold] and interpolates
 * linearly between thresholds (numpy.interp, which scipy's interp1d delegates to), a single threshold
 * giving a constant.
 */

/** The reference: n rows of k class probabilities (row-major) and each row's true class index. */
export interface CbpeReference {
  probabilities: Float64Array;
  truth: Int32Array;
  classes: number;
}

export interface CbpeOptions {
  /** 'isotonic' (NannyML's default and only calibrator) or 'none' to use the probabilities as they are. */
  calibration?: 'isotonic' | 'none';
  /** Half-width of the band in sampling errors; NannyML's SAMPLING_ERROR_RANGE is 3. */
  samplingErrorRange?: number;
}

/**
 * Why a score is (not) calibrated: 'calibrated' (isotonic lowered the ECE), 'no-gain' (it did not),
 * 'single-class' (the reference targets hold one class), 'separable' (reference AUROC > 0.999),
 * 'too-few-rows' (scikit-learn's split would raise), 'disabled' (options.calibration = 'none').
 */
export type CalibrationDecision = 'calibrated' | 'no-gain' | 'single-class' | 'separable' | 'too-few-rows' | 'disabled';

/** One calibrated score: the isotonic thresholds (empty when not calibrated) and the rule's evidence. */
export interface ScoreCalibration {
  decision: CalibrationDecision;
  /** Increasing scores and their fitted calibrated probabilities. */
  x: number[];
  y: number[];
  /** The expected calibration errors the rule compared (null when it did not get that far). */
  eceBefore: number | null;
  eceAfter: number | null;
}

/** Everything estimation needs; plain JSON. */
export interface CbpeModel {
  method: 'cbpe';
  classes: number;
  /** Binary: one entry, for column 1's score. Multiclass: one per class, one-vs-rest. */
  calibration: ScoreCalibration[];
  referenceRows: number;
  /** Measured accuracy of the uncalibrated argmax on the reference. */
  referenceAccuracy: number;
  /** Population standard deviation (ddof = 0) of the reference's per-row correctness. */
  referenceCorrectStd: number;
  samplingErrorRange: number;
}

export interface CbpeEstimate {
  accuracy: number;
  lower: number;
  upper: number;
  rows: number;
  samplingError: number;
  /** Expected counts: [true class][predicted class]; the rows sum to the expected class totals, all cells to `rows`. */
  confusionMatrix: number[][];
}

/** NannyML's needs_calibration settings and numpy's float64 resolution (scikit-learn's _make_unique). */
const AUROC_SEPARABLE = 0.999;
const ECE_BINS = 10;
const SPLITS = 10;
const TEST_SIZE = 0.1;
const SPLIT_SEED = 42;
const FLOAT64_RESOLUTION = 1e-15;

function requireClasses(classes: number): void {
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer >= 2, got ${classes}`);
}

/** Row count of an n·k probability matrix, refusing a ragged length or a value that is not a probability. */
function rowsOf(probabilities: Float64Array, classes: number, what: string): number {
  if (!(probabilities instanceof Float64Array)) throw new RangeError(`${what} probabilities must be a Float64Array`);
  if (probabilities.length % classes !== 0) {
    throw new RangeError(`${what} probabilities: length ${probabilities.length} is not a multiple of ${classes} classes`);
  }
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${what} probabilities: value ${p} at ${i} is not a probability in [0, 1]`);
  }
  return probabilities.length / classes;
}

/** The first index of the row's maximum: numpy.argmax, what the model answered. */
function argmaxRow(probabilities: Float64Array, offset: number, classes: number): number {
  let best = 0;
  let bestValue = probabilities[offset];
  for (let j = 1; j < classes; j++) {
    const v = probabilities[offset + j];
    if (v > bestValue) [best, bestValue] = [j, v];
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// numpy's legacy RandomState(seed): MT19937 seeded by init_genrand, bounded integers by masked
// rejection (random_interval), shuffle from the last element down. Only what the split needs.

class LegacyRandomState {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform integer in [0, max] (max < 2^32): numpy's random_interval. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** RandomState.shuffle of a 1-d array, in place. */
  shuffle(values: Int32Array): void {
    for (let i = values.length - 1; i >= 1; i--) {
      const j = this.interval(i);
      [values[i], values[j]] = [values[j], values[i]];
    }
  }

  /** RandomState.permutation(n). */
  permutation(n: number): Int32Array {
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) values[i] = i;
    this.shuffle(values);
    return values;
  }
}

/** scikit-learn's _approximate_mode: split n draws across classes in proportion, ties in the remainder broken at random. */
function approximateMode(classCounts: number[], draws: number, rng: LegacyRandomState): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const continuous = classCounts.map((c) => (c / total) * draws);
  const floored = continuous.map(Math.floor);
  let needToAdd = draws - floored.reduce((a, b) => a + b, 0);
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      const chosen = rng.permutation(inds.length).subarray(0, addNow);
      for (const c of chosen) floored[inds[c]] += 1;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}

interface Fold {
  train: Int32Array;
  test: Int32Array;
}

/**
 * scikit-learn's StratifiedShuffleSplit(n_splits, test_size, random_state=seed).split(·, y), fold for
 * fold and row for row, for integer labels (its classes: the distinct labels, ascending). Null where
 * scikit-learn raises (a class with one row, fewer test or training rows than classes).
 */
export function stratifiedShuffleSplit(y: ArrayLike<number>, splits = SPLITS, testSize = TEST_SIZE, seed = SPLIT_SEED): Fold[] | null {
  const n = y.length;
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  const labels = [...new Set(Array.from(y))].sort((a, b) => a - b);
  const classIndices: Int32Array[] = labels.map((label) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (y[i] === label) rows.push(i);
    return Int32Array.from(rows);
  });
  const classCounts = classIndices.map((rows) => rows.length);
  if (Math.min(...classCounts) < 2 || nTrain < labels.length || nTest < labels.length) return null;
  const rng = new LegacyRandomState(seed);
  const folds: Fold[] = [];
  for (let s = 0; s < splits; s++) {
    const nI = approximateMode(classCounts, nTrain, rng);
    const tI = approximateMode(classCounts.map((c, i) => c - nI[i]), nTest, rng);
    const train = new Int32Array(nTrain);
    const test = new Int32Array(nTest);
    let [a, b] = [0, 0];
    for (let c = 0; c < labels.length; c++) {
      const permutation = rng.permutation(classCounts[c]);
      for (let r = 0; r < nI[c]; r++) train[a++] = classIndices[c][permutation[r]];
      for (let r = nI[c]; r < nI[c] + tI[c]; r++) test[b++] = classIndices[c][permutation[r]];
    }
    rng.shuffle(train);
    rng.shuffle(test);
    folds.push({ train, test });
  }
  return folds;
}

// ---------------------------------------------------------------------------------------------
// Isotonic regression: scikit-learn's IsotonicRegression(increasing=True, out_of_bounds='clip').

interface Isotonic {
  x: number[];
  y: number[];
}

/**
 * Fit on the rows listed in `order` (already sorted by score ascending) of scores and 0/1 targets.
 * Returns the thresholds scikit-learn keeps (X_thresholds_, y_thresholds_).
 */
function fitIsotonic(scores: Float64Array, targets: Uint8Array, order: Int32Array, count: number): Isotonic {
  // scikit-learn's _make_unique: a run of scores within 1e-15 of its first becomes one point.
  const ux = new Float64Array(count);
  const uy = new Float64Array(count);
  const uw = new Float64Array(count);
  let u = -1;
  let runX = NaN;
  for (let r = 0; r < count; r++) {
    const row = order[r];
    const x = scores[row];
    if (u < 0 || x - runX >= FLOAT64_RESOLUTION) {
      u++;
      runX = x;
      ux[u] = x;
    }
    uy[u] += targets[row];
    uw[u] += 1;
  }
  const points = u + 1;
  for (let i = 0; i < points; i++) uy[i] /= uw[i];

  // Weighted PAVA, Busing (2022) "Monotone regression: a simple and fast O(n) PAVA implementation":
  // one forward pass; a block absorbs following points while they do not exceed its mean, then
  // earlier blocks while they are not below it (>=, so equal neighbours pool too).
  const blockValue = uy;
  const blockWeight = uw;
  const blockStart = new Int32Array(points + 1);
  let b = 0;
  blockStart[1] = 1;
  for (let i = 1; i < points; i++) {
    b++;
    let value = uy[i];
    let weight = uw[i];
    if (blockValue[b - 1] >= value) {
      b--;
      let sum = blockWeight[b] * blockValue[b] + weight * value;
      weight += blockWeight[b];
      value = sum / weight;
      while (i < points - 1 && value >= uy[i + 1]) {
        i++;
        sum += uw[i] * uy[i];
        weight += uw[i];
        value = sum / weight;
      }
      while (b > 0 && blockValue[b - 1] >= value) {
        b--;
        sum += blockWeight[b] * blockValue[b];
        weight += blockWeight[b];
        value = sum / weight;
      }
    }
    blockValue[b] = value;
    blockWeight[b] = weight;
    blockStart[b + 1] = i + 1;
  }
  // Adjacent blocks differ, so scikit-learn's trimming keeps each block's first and last point.
  const out: Isotonic = { x: [], y: [] };
  for (let k = 0; k <= b; k++) {
    const [first, last] = [blockStart[k], blockStart[k + 1] - 1];
    out.x.push(ux[first]);
    out.y.push(blockValue[k]);
    if (last > first) {
      out.x.push(ux[last]);
      out.y.push(blockValue[k]);
    }
  }
  return out;
}

/** Calibrated probability of one score: clip to the thresholds' range, then numpy.interp. */
function predictIsotonic(x: ArrayLike<number>, y: ArrayLike<number>, v: number): number {
  const last = x.length - 1;
  if (last === 0 || v <= x[0]) return y[0];
  if (v >= x[last]) return y[last];
  let [lo, hi] = [0, last];
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid;
  }
  if (x[lo] === v) return y[lo];
  return ((y[lo + 1] - y[lo]) / (x[lo + 1] - x[lo])) * (v - x[lo]) + y[lo];
}

// ---------------------------------------------------------------------------------------------
// NannyML's needs_calibration.

/** NannyML's _get_bin_index_edges: bins of floor(length / bins) rows, the last one taking the rest. */
function binEdges(length: number, bins: number): number[] {
  if (length <= 2 * bins) bins = Math.floor(length / 2);
  const width = Math.floor(length / bins);
  const edges: number[] = [];
  for (let e = 0; e <= length; e += width) edges.push(e);
  edges[edges.length - 1] = length;
  return edges;
}

/** NannyML's _calculate_expected_calibration_error, ties in the order given (stable sort). */
export function expectedCalibrationError(targets: Uint8Array, scores: Float64Array, bins = ECE_BINS): number {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const edges = binEdges(n, bins);
  let ece = 0;
  for (let e = 0; e + 1 < edges.length; e++) {
    const [left, right] = [edges[e], edges[e + 1]];
    let [sumScore, sumTarget] = [0, 0];
    for (let r = left; r < right; r++) {
      sumScore += scores[order[r]];
      sumTarget += targets[order[r]];
    }
    const size = right - left;
    ece += (size / n) * Math.abs(sumScore / size - sumTarget / size);
  }
  return ece;
}

/** Area under the ROC curve of 0/1 targets against scores (rows given in ascending score order), ties counted half. */
function auroc(scores: Float64Array, targets: Uint8Array, order: Int32Array): number {
  const n = order.length;
  let [positives, rankSum] = [0, 0];
  for (let r = 0; r < n; ) {
    let end = r;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[r]]) end++;
    const averageRank = (r + end) / 2 + 1;
    for (let q = r; q <= end; q++) {
      if (targets[order[q]] === 1) [positives, rankSum] = [positives + 1, rankSum + averageRank];
    }
    r = end + 1;
  }
  const negatives = n - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Calibrate one score (binary: column 1; multiclass: one class one-vs-rest) following NannyML's rule. */
function calibrateScore(scores: Float64Array, targets: Uint8Array): ScoreCalibration {
  const n = scores.length;
  const none = (decision: CalibrationDecision, eceBefore: number | null = null, eceAfter: number | null = null): ScoreCalibration => ({
    decision, x: [], y: [], eceBefore, eceAfter,
  });
  let positives = 0;
  for (let i = 0; i < n; i++) positives += targets[i];
  if (positives === 0 || positives === n) return none('single-class');
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  if (auroc(scores, targets, order) > AUROC_SEPARABLE) return none('separable');
  const folds = stratifiedShuffleSplit(targets);
  if (folds === null) return none('too-few-rows');

  const testLength = folds.reduce((s, f) => s + f.test.length, 0);
  const [before, after, testTargets] = [new Float64Array(testLength), new Float64Array(testLength), new Uint8Array(testLength)];
  const inTrain = new Uint8Array(n);
  const trainOrder = new Int32Array(n);
  let t = 0;
  for (const { train, test } of folds) {
    inTrain.fill(0);
    for (const row of train) inTrain[row] = 1;
    let count = 0;
    for (let r = 0; r < n; r++) if (inTrain[order[r]]) trainOrder[count++] = order[r];
    const { x, y } = fitIsotonic(scores, targets, trainOrder, count);
    for (const row of test) {
      before[t] = scores[row];
      after[t] = predictIsotonic(x, y, scores[row]);
      testTargets[t++] = targets[row];
    }
  }
  const eceBefore = expectedCalibrationError(testTargets, before);
  const eceAfter = expectedCalibrationError(testTargets, after);
  if (!(eceBefore > eceAfter)) return none('no-gain', eceBefore, eceAfter);
  return { decision: 'calibrated', ...fitIsotonic(scores, targets, order, n), eceBefore, eceAfter };
}

// ---------------------------------------------------------------------------------------------

/** Fit CBPE on the reference (the production version's held-out evaluation split). */
export function fitCbpe(reference: CbpeReference, opts: CbpeOptions = {}): CbpeModel {
  const { probabilities, truth, classes } = reference;
  requireClasses(classes);
  const n = rowsOf(probabilities, classes, 'reference');
  if (n === 0) throw new RangeError('reference is empty');
  if (!(truth instanceof Int32Array) || truth.length !== n) {
    throw new RangeError(`reference truth must be an Int32Array of ${n} class indices`);
  }
  for (let i = 0; i < n; i++) {
    if (truth[i] < 0 || truth[i] >= classes) {
      throw new RangeError(`reference truth ${truth[i]} at row ${i} is not a class index in [0, ${classes})`);
    }
  }
  const samplingErrorRange = opts.samplingErrorRange ?? 3;
  if (!(samplingErrorRange >= 0 && Number.isFinite(samplingErrorRange))) throw new RangeError('samplingErrorRange must be finite and >= 0');

  const correct = new Uint8Array(n);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    correct[i] = argmaxRow(probabilities, i * classes, classes) === truth[i] ? 1 : 0;
    hits += correct[i];
  }
  const referenceAccuracy = hits / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (correct[i] - referenceAccuracy) ** 2;

  const scored = classes === 2 ? [1] : Array.from({ length: classes }, (_, c) => c);
  const calibration = scored.map((c): ScoreCalibration => {
    if (opts.calibration === 'none') return { decision: 'disabled', x: [], y: [], eceBefore: null, eceAfter: null };
    const scores = new Float64Array(n);
    const targets = new Uint8Array(n);
    for (let i = 0; i < n; i++) [scores[i], targets[i]] = [probabilities[i * classes + c], truth[i] === c ? 1 : 0];
    return calibrateScore(scores, targets);
  });
  return {
    method: 'cbpe', classes, calibration, referenceRows: n, referenceAccuracy,
    referenceCorrectStd: Math.sqrt(squares / n), samplingErrorRange,
  };
}

/** Estimated accuracy of the model on a window of its logged class probabilities (m rows of k, row-major). */
export function estimateAccuracy(model: CbpeModel, probabilities: Float64Array, classes: number): CbpeEstimate {
  requireClasses(classes);
  if (classes !== model.classes) throw new RangeError(`window has ${classes} classes, the model ${model.classes}`);
  const m = rowsOf(probabilities, classes, 'window');
  if (m === 0) throw new RangeError('window is empty');
  const confusion = new Float64Array(classes * classes);
  let expectedCorrect = 0;

  const xs = model.calibration.map((c) => Float64Array.from(c.x));
  const ys = model.calibration.map((c) => Float64Array.from(c.y));
  if (xs.length !== (classes === 2 ? 1 : classes)) throw new RangeError('model calibration does not match its class count');

  if (classes === 2) {
    const [x, y] = [xs[0], ys[0]];
    const calibrated = x.length > 0;
    for (let i = 0; i < m; i++) {
      const predicted = probabilities[2 * i + 1] > probabilities[2 * i] ? 1 : 0;
      const p1 = calibrated ? predictIsotonic(x, y, probabilities[2 * i + 1]) : probabilities[2 * i + 1];
      confusion[predicted] += 1 - p1;
      confusion[2 + predicted] += p1;
      expectedCorrect += predicted === 1 ? p1 : 1 - p1;
    }
  } else {
    const row = new Float64Array(classes);
    const uniform = 1 / classes;
    for (let i = 0; i < m; i++) {
      const offset = i * classes;
      const predicted = argmaxRow(probabilities, offset, classes);
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        const v = probabilities[offset + c];
        row[c] = xs[c].length > 0 ? predictIsotonic(xs[c], ys[c], v) : v;
        sum += row[c];
      }
      for (let c = 0; c < classes; c++) {
        const p = sum !== 0 ? row[c] / sum : uniform;
        confusion[c * classes + predicted] += p;
        if (c === predicted) expectedCorrect += p;
      }
    }
  }

  const accuracy = expectedCorrect / m;
  const samplingError = model.referenceCorrectStd / Math.sqrt(m);
  const halfWidth = model.samplingErrorRange * samplingError;
  return {
    accuracy, lower: Math.max(0, accuracy - halfWidth), upper: Math.min(1, accuracy + halfWidth), rows: m, samplingError,
    confusionMatrix: Array.from({ length: classes }, (_, t) => Array.from(confusion.subarray(t * classes, (t + 1) * classes))),
  };
}
