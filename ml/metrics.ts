/**
 * Evaluation metrics: arrays in, numbers out. Definitions follow scikit-learn's (checked against its
 * values in test/ml/metrics-sklearn.test.ts): macro averages are over the classes that occur in the
 * labels or the predictions; precision with no predictions of a class counts as 0.
 */
export interface ClassificationReport {
  metrics: Record<string, number>;
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  confusionMatrix: { labels: string[]; matrix: number[][] };
}

export function classificationMetrics(trueIdx: ArrayLike<number>, probs: Float32Array | number[], numClasses: number, labels: string[]): ClassificationReport {
  const n = trueIdx.length;
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const predicted = new Array<number>(n);
  let correct = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (probs[i * numClasses + k] > probs[i * numClasses + best]) best = k;
    predicted[i] = best;
    const t = trueIdx[i];
    if (t >= 0) {
      matrix[t][best]++;
      if (best === t) correct++;
      logLoss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, probs[i * numClasses + t])));
    } else {
      logLoss -= Math.log(1e-15); // a class never seen in training is always wrong
    }
  }

  const perClass = labels.map((label, k) => {
    const tp = matrix[k][k];
    const support = matrix[k].reduce((a, b) => a + b, 0);
    const predictedK = matrix.reduce((s, row) => s + row[k], 0);
    const precision = predictedK ? tp / predictedK : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support, present: support + predictedK > 0 };
  });
  const present = perClass.filter((c) => c.present);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

  const metrics: Record<string, number> = {
    accuracy: correct / n,
    balanced_accuracy: mean(perClass.filter((c) => c.support > 0).map((c) => c.recall)),
    precision_macro: mean(present.map((c) => c.precision)),
    recall_macro: mean(present.map((c) => c.recall)),
    f1_macro: mean(present.map((c) => c.f1)),
    log_loss: logLoss / n,
    ece: expectedCalibrationError(trueIdx, probs, numClasses, predicted),
  };
  const auc = numClasses === 2
    ? rocAuc(Array.from({ length: n }, (_, i) => probs[i * 2 + 1]), Array.from(trueIdx, (t) => t === 1))
    : mean(labels.map((_, k) => rocAuc(Array.from({ length: n }, (_, i) => probs[i * numClasses + k]), Array.from(trueIdx, (t) => t === k)))
      .filter((x) => !Number.isNaN(x)));
  if (!Number.isNaN(auc)) metrics.roc_auc = auc;

  return {
    metrics,
    perClass: perClass.map(({ present: _p, ...c }) => c),
    confusionMatrix: { labels, matrix },
  };
}

/** Area under the ROC curve: the chance a random positive scores above a random negative (ties count half). */
export function rocAuc(scores: number[], positive: boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1; // average rank of a tie
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  positive.forEach((p, i) => { if (p) { pos++; rankSum += ranks[i]; } });
  const neg = scores.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Expected calibration error over 10 equal-width confidence bins: how far confidence is from accuracy. */
export function expectedCalibrationError(trueIdx: ArrayLike<number>, probs: Float32Array | number[], numClasses: number, predicted: number[], bins = 10) {
  const n = trueIdx.length;
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const acc = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const c = probs[i * numClasses + predicted[i]];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    count[b]++;
    conf[b] += c;
    acc[b] += predicted[i] === trueIdx[i] ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += (count[b] / n) * Math.abs(acc[b] / count[b] - conf[b] / count[b]);
  return ece;
}

export function regressionMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>) {
  const n = actual.length;
  let se = 0, ae = 0, ape = 0, mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] / n;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i] - actual[i];
    se += e * e;
    ae += Math.abs(e);
    ape += Math.abs(e) / Math.max(Math.abs(actual[i]), Number.EPSILON);
    tot += (actual[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: tot === 0 ? 0 : 1 - se / tot, mape: ape / n };
}

/** Whether a metric is better when higher (accuracy) or lower (rmse). */
export { higherIsBetter } from '../common/vocabulary';
