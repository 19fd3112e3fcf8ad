import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationMetrics, regressionMetrics } from '../../ml/metrics';
import { encodeTarget, fitPreprocessor, transformFeatures } from '../../ml/preprocess';
import { holdoutSplit } from '../../common/random';
import { checkGates } from '../../workflows/gates';

test('preprocessing is fitted on the training rows only: median imputation with an indicator, standardisation, one-hot with "other"', () => {
  const columns = { x: [1, 2, null, 100], c: ['a', 'b', 'a', 'zzz'] };
  const target = ['yes', 'no', 'yes', 'no'];
  const train = [0, 1, 2]; // row 3 is held out: its 100 and "zzz" must not shape the preprocessing
  const p = fitPreprocessor(columns, [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], target, 'classification', train);
  const x = p.steps[0] as any;
  assert.equal(x.median, 1.5);
  assert.equal(x.mean, (1 + 2 + 1.5) / 3);
  assert.equal(x.indicator, true, 'training saw a missing x');
  assert.deepEqual((p.steps[1] as any).categories, ['a', 'b']);
  assert.equal(p.inputSize, 5, 'x, x missing, a, b, other');
  const held = transformFeatures(p, columns, [2, 3]);
  assert.equal(held[0], 0, 'a missing value becomes the median, which standardises to ~0 here');
  assert.equal(held[1], 1, 'and its indicator says it was missing');
  assert.deepEqual([...held.slice(2, 5)], [1, 0, 0]);
  assert.deepEqual([...held.slice(7, 10)], [0, 0, 1], 'an unseen category goes to "other"');
  assert.deepEqual(p.target.labels, ['no', 'yes']);
  assert.deepEqual([...encodeTarget(p.target, target, [0, 1])], [1, 0]);
});

test('the holdout split is the same for the same seed and differs for another', () => {
  const a = holdoutSplit(100, 0.2, 42);
  assert.equal(a.holdout.length, 20);
  assert.equal(a.train.length, 80);
  assert.deepEqual(holdoutSplit(100, 0.2, 42), a);
  assert.notDeepEqual(holdoutSplit(100, 0.2, 7).holdout, a.holdout);
  assert.equal(new Set([...a.train, ...a.holdout]).size, 100);
});

test('classification metrics: accuracy, macro F1 and log loss from probabilities', () => {
  // three rows, two classes: right, right, wrong
  const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);
  const { metrics, confusionMatrix } = classificationMetrics([0, 1, 1], probs, 2, ['a', 'b']);
  assert.ok(Math.abs(metrics.accuracy - 2 / 3) < 1e-9);
  // class a: tp1 fp1 fn0 -> f1 2/3; class b: tp1 fp0 fn1 -> 2/3
  assert.ok(Math.abs(metrics.f1_macro - 2 / 3) < 1e-9);
  const expectedLogLoss = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4)) / 3;
  assert.ok(Math.abs(metrics.log_loss - expectedLogLoss) < 1e-6);
  assert.deepEqual(confusionMatrix.matrix, [[1, 0], [1, 1]]);
});

test('regression metrics: RMSE, MAE and R2', () => {
  const m = regressionMetrics([1, 2, 3, 4], [1, 2, 3, 5]);
  assert.equal(m.rmse, 0.5);
  assert.equal(m.mae, 0.25);
  assert.ok(Math.abs(m.r2 - (1 - 1 / 5)) < 1e-12);
});

test('quality gates name each failing metric, and compare with production on its primary metric', () => {
  const gates = { minMetrics: { accuracy: 0.8 }, maxMetrics: { log_loss: 0.5 }, mustBeatProduction: true, tolerance: 0, maxFairnessGap: null };
  const result = checkGates(gates, { metrics: { accuracy: 0.7, log_loss: 0.9 }, championMetrics: { accuracy: 0.75 }, primaryMetric: 'accuracy', rows: 10 });
  assert.equal(result.passed, false);
  assert.deepEqual(result.failures, [
    'accuracy 0.7000 is below the minimum 0.8',
    'log_loss 0.9000 is above the maximum 0.5',
    'accuracy 0.7000 does not beat production\'s 0.7500 (tolerance 0)',
  ]);
  const unknown = checkGates({ ...gates, minMetrics: { rmse: 1 }, maxMetrics: {}, mustBeatProduction: false }, { metrics: { accuracy: 1 }, primaryMetric: 'accuracy', rows: 1 });
  assert.match(unknown.failures[0], /^rmse: not a metric of this model/);
});
