/** Perennial's metrics against scikit-learn's on fixed inputs (test/fixtures/sklearn: values and how they were made). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { classificationMetrics, regressionMetrics } from '../../ml/metrics';

const fixtures = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/sklearn/metrics.json'), 'utf8'));
const close = (actual: number, expected: number, name: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${name}: ${actual} vs scikit-learn ${expected}`);

for (const name of ['binary', 'multiclass'] as const) {
  test(`${name} classification metrics equal scikit-learn's`, () => {
    const f = fixtures[name];
    const labels = Array.from({ length: f.classes }, (_, k) => `c${k}`);
    const r = classificationMetrics(f.y, f.probs.flat(), f.classes, labels);
    for (const m of ['accuracy', 'balanced_accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'log_loss', 'roc_auc', 'ece']) {
      close(r.metrics[m], f[m], m);
    }
    r.perClass.forEach((c, k) => {
      close(c.precision, f.precision_per_class[k], `precision ${c.label}`);
      close(c.recall, f.recall_per_class[k], `recall ${c.label}`);
      close(c.f1, f.f1_per_class[k], `f1 ${c.label}`);
    });
    assert.deepEqual(r.confusionMatrix.matrix, f.confusion_matrix);
  });
}

test('regression metrics equal scikit-learn\'s: RMSE, MAE, R2, MAPE', () => {
  const f = fixtures.regression;
  const r = regressionMetrics(f.actual, f.predicted);
  for (const m of ['rmse', 'mae', 'r2', 'mape'] as const) close(r[m], f[m], m);
});
