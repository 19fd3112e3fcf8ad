/** CBPE accuracy estimation against NannyML 0.13.1 on real data (test/fixtures/cbpe: values and how they were made). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { estimateAccuracy, fitCbpe, stratifiedShuffleSplit, type CbpeModel } from '../../ml/cbpe';

interface NannymlChunk {
  start: number; end: number; accuracy: number; samplingError: number; lower: number; upper: number; realized: number;
  confusionMatrix: number[][];
}
interface Ece { nannyml: number; stable: number }
interface NannymlCalibration {
  needsCalibration: boolean; ece: { before: Ece; after: Ece } | null; isotonic: { x: number[]; y: number[] } | null;
}
interface Case {
  name: string; classes: string[];
  reference: { probabilities: number[]; truth: number[] };
  analysis: { probabilities: number[]; truth: number[] };
  nannyml: {
    referenceCorrectStd: number; calibration: NannymlCalibration[]; firstFoldTestRows: number[];
    chunks: NannymlChunk[]; whole: NannymlChunk;
  };
}

const fixtures: { cases: Case[] } = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/cbpe/fixtures.json'), 'utf8'));

function close(actual: number, expected: number, what: string, abs = 1e-12) {
  assert.ok(Math.abs(actual - expected) <= abs, `${what}: ${actual} vs expected ${expected}`);
}

const fitted = (c: Case) => fitCbpe({
  probabilities: Float64Array.from(c.reference.probabilities), truth: Int32Array.from(c.reference.truth), classes: c.classes.length,
});

/** Share of rows whose argmax (first maximum) is the true class. */
function measuredAccuracy(probabilities: Float64Array, truth: number[], k: number): number {
  let hits = 0;
  truth.forEach((t, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (probabilities[i * k + j] > probabilities[i * k + best]) best = j;
    hits += best === t ? 1 : 0;
  });
  return hits / truth.length;
}

for (const c of fixtures.cases) {
  const k = c.classes.length;
  const analysis = Float64Array.from(c.analysis.probabilities);

  test(`estimated accuracy, sampling error, band and expected confusion matrix equal NannyML's per chunk: ${c.name}`, () => {
    const model = fitted(c);
    close(model.referenceCorrectStd, c.nannyml.referenceCorrectStd, 'reference correctness std');
    for (const chunk of [...c.nannyml.chunks, c.nannyml.whole]) {
      const what = `rows ${chunk.start}-${chunk.end}`;
      const e = estimateAccuracy(model, analysis.subarray(chunk.start * k, chunk.end * k), k);
      assert.equal(e.rows, chunk.end - chunk.start);
      close(e.accuracy, chunk.accuracy, `${what} accuracy`);
      close(e.samplingError, chunk.samplingError, `${what} sampling error`);
      close(e.lower, chunk.lower, `${what} lower bound`);
      close(e.upper, chunk.upper, `${what} upper bound`);
      e.confusionMatrix.forEach((row, t) => row.forEach((v, p) => {
        close(v, chunk.confusionMatrix[t][p], `${what} expected count [${t}][${p}]`, 1e-9);
      }));
    }
  });

  test(`calibration is kept or refused as NannyML's needs_calibration decides, with scikit-learn's isotonic fit: ${c.name}`, () => {
    const model = fitted(c);
    assert.equal(model.calibration.length, k === 2 ? 1 : k);
    model.calibration.forEach((mine, i) => {
      const theirs = c.nannyml.calibration[i];
      assert.equal(mine.decision === 'calibrated', theirs.needsCalibration, `score ${i}: ${mine.decision}`);
      if (theirs.ece) {
        // Before calibration the scores hardly tie, so NannyML's unstable sort agrees; after it they tie in
        // blocks and this module keeps ties in fold order, which is NannyML's computation with a stable sort.
        close(mine.eceBefore!, theirs.ece.before.nannyml, `score ${i} ECE before`);
        close(mine.eceAfter!, theirs.ece.after.stable, `score ${i} ECE after`);
      } else {
        assert.equal(mine.eceBefore, null);
      }
      assert.deepEqual({ x: mine.x, y: mine.y }, theirs.isotonic ?? { x: [], y: [] });
    });
  });

  test(`the calibration folds are scikit-learn's StratifiedShuffleSplit(random_state=42) folds row for row: ${c.name}`, () => {
    const folds = stratifiedShuffleSplit(Int32Array.from(c.reference.truth));
    assert.ok(folds);
    assert.equal(folds.length, 10);
    assert.deepEqual(Array.from(folds[0].test), c.nannyml.firstFoldTestRows);
  });
}

for (const c of fixtures.cases.filter((x) => x.name.startsWith('weather.csv'))) {
  test(`CBPE estimates accuracy within 0.03 of the measured accuracy on a held-out stream without shift: ${c.name}`, () => {
    const k = c.classes.length;
    const stream = Float64Array.from(c.analysis.probabilities);
    const estimate = estimateAccuracy(fitted(c), stream, k);
    const measured = measuredAccuracy(stream, c.analysis.truth, k);
    assert.equal(estimate.rows, c.analysis.truth.length);
    assert.ok(Math.abs(estimate.accuracy - measured) <= 0.03, `estimated ${estimate.accuracy}, measured ${measured}`);
    const inBand = estimate.lower <= measured && measured <= estimate.upper;
    assert.ok(inBand, `measured ${measured} outside the band ${estimate.lower}-${estimate.upper}`);
  });
}

test('a million-row window gives the same estimate as the rows it repeats, with a band narrowed by the square root of its size', () => {
  const c = fixtures.cases[1];
  const k = c.classes.length;
  const model = fitted(c);
  const stream = Float64Array.from(c.analysis.probabilities);
  const repeats = Math.ceil(1_000_000 / c.analysis.truth.length);
  const window = new Float64Array(stream.length * repeats);
  for (let r = 0; r < repeats; r++) window.set(stream, r * stream.length);
  const [small, large] = [estimateAccuracy(model, stream, k), estimateAccuracy(model, window, k)];
  assert.equal(large.rows, c.analysis.truth.length * repeats);
  close(large.accuracy, small.accuracy, 'accuracy', 1e-9);
  close(large.samplingError * Math.sqrt(repeats), small.samplingError, 'sampling error');
  large.confusionMatrix.forEach((row, t) => row.forEach((v, p) => close(v / repeats, small.confusionMatrix[t][p], `[${t}][${p}]`, 1e-6)));
});

test('the fitted model is plain JSON and estimates the same after a round trip', () => {
  const c = fixtures.cases[2];
  const model = fitted(c);
  const revived: CbpeModel = JSON.parse(JSON.stringify(model));
  assert.deepEqual(revived, model);
  const stream = Float64Array.from(c.analysis.probabilities);
  assert.deepEqual(estimateAccuracy(revived, stream, 3), estimateAccuracy(model, stream, 3));
});

test('the expected confusion matrix sums to the window size and its diagonal to the expected correct rows', () => {
  for (const c of fixtures.cases) {
    const k = c.classes.length;
    const e = estimateAccuracy(fitted(c), Float64Array.from(c.analysis.probabilities), k);
    const total = e.confusionMatrix.flat().reduce((a, b) => a + b, 0);
    const diagonal = e.confusionMatrix.reduce((s, row, i) => s + row[i], 0);
    close(total, e.rows, `${c.name} total`, 1e-9);
    close(diagonal / e.rows, e.accuracy, `${c.name} diagonal`, 1e-12);
  }
});

test('a class the reference never shows and a reference too small to split are left uncalibrated', () => {
  // Three classes, class 2 never true: its one-vs-rest targets hold one class.
  const rows = 40;
  const probabilities = new Float64Array(rows * 3);
  const truth = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const p = (i + 0.5) / rows;
    probabilities.set([0.8 * p, 0.8 * (1 - p), 0.2], i * 3);
    truth[i] = i % 2;
  }
  assert.equal(fitCbpe({ probabilities, truth, classes: 3 }).calibration[2].decision, 'single-class');
  // Eight rows: scikit-learn's split would raise (NannyML's fit with it); here the score stays raw.
  const tiny = {
    probabilities: Float64Array.from([0.9, 0.1, 0.4, 0.6, 0.7, 0.3, 0.2, 0.8, 0.45, 0.55, 0.6, 0.4, 0.35, 0.65, 0.52, 0.48]),
    truth: Int32Array.from([0, 1, 1, 1, 0, 0, 0, 1]),
    classes: 2,
  };
  const model = fitCbpe(tiny);
  assert.equal(model.calibration[0].decision, 'too-few-rows');
  const e = estimateAccuracy(model, tiny.probabilities, 2);
  // Raw probabilities: expected correct = the predicted class's probability per row.
  close(e.accuracy, (0.9 + 0.6 + 0.7 + 0.8 + 0.55 + 0.6 + 0.65 + 0.52) / 8, 'accuracy from raw probabilities');
  assert.deepEqual(fitCbpe(tiny, { calibration: 'none' }).calibration[0].decision, 'disabled');
});

test('the band is clipped to [0, 1] and its width follows samplingErrorRange', () => {
  const reference = {
    probabilities: Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4]), truth: Int32Array.from([0, 1, 0, 0]), classes: 2,
  };
  const window = Float64Array.from([0, 1, 1, 0]);
  // Reference accuracy 3/4, so the sampling error on 2 rows is sqrt(0.75 · 0.25) / sqrt(2).
  const e = estimateAccuracy(fitCbpe(reference, { calibration: 'none' }), window, 2);
  assert.deepEqual([e.accuracy, e.upper], [1, 1]);
  close(e.lower, 1 - 3 * (Math.sqrt(0.75 * 0.25) / Math.sqrt(2)), 'lower');
  const narrow = estimateAccuracy(fitCbpe(reference, { calibration: 'none', samplingErrorRange: 1 }), window, 2);
  close(narrow.lower, 1 - Math.sqrt(0.75 * 0.25) / Math.sqrt(2), 'lower with range 1');
});

test('bad input is refused with a RangeError', () => {
  const good = { probabilities: Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.3, 0.7]), truth: Int32Array.from([0, 1, 0]), classes: 2 };
  const model = fitCbpe(good, { calibration: 'none' });
  const refused = (f: () => unknown, message: RegExp) => {
    assert.throws(f, (e: unknown) => e instanceof RangeError && message.test(e.message));
  };
  refused(() => fitCbpe({ ...good, probabilities: Float64Array.from([0.9, 0.1, 0.2]) }), /not a multiple/);
  refused(() => fitCbpe({ ...good, probabilities: Float64Array.from([0.9, 0.1, NaN, 0.8, 0.3, 0.7]) }), /not a probability/);
  refused(() => fitCbpe({ ...good, probabilities: Float64Array.from([0.9, 0.1, 0.2, Infinity, 0.3, 0.7]) }), /not a probability/);
  refused(() => fitCbpe({ ...good, probabilities: Float64Array.from([1.5, -0.5, 0.2, 0.8, 0.3, 0.7]) }), /not a probability/);
  refused(() => fitCbpe({ ...good, truth: Int32Array.from([0, 2, 0]) }), /not a class index/);
  refused(() => fitCbpe({ ...good, truth: Int32Array.from([0, -1, 0]) }), /not a class index/);
  refused(() => fitCbpe({ ...good, truth: Int32Array.from([0, 1]) }), /truth must be/);
  refused(() => fitCbpe({ probabilities: new Float64Array(0), truth: new Int32Array(0), classes: 2 }), /empty/);
  refused(() => fitCbpe({ ...good, classes: 1 }), /classes must be/);
  refused(() => fitCbpe({ ...good, classes: 2.5 }), /classes must be/);
  refused(() => estimateAccuracy(model, Float64Array.from([0.5, 0.5, 0.1]), 2), /not a multiple/);
  refused(() => estimateAccuracy(model, Float64Array.from([0.5, NaN]), 2), /not a probability/);
  refused(() => estimateAccuracy(model, Float64Array.from([0.2, 0.3, 0.5]), 3), /3 classes, the model 2/);
  refused(() => estimateAccuracy(model, new Float64Array(0), 2), /empty/);
});
