/** Evaluation metrics: arrays in, numbers out. */
export function classificationMetrics(trueIdx: ArrayLike<number>, probs: Float32Array, numClasses: number, labels: string[]) {
  const n = trueIdx.length;
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) if (probs[i * numClasses + k] > probs[i * numClasses + best]) best = k;
    const t = trueIdx[i];
    if (t >= 0) {
      matrix[t][best]++;
      if (best === t) correct++;
      logLoss -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, probs[i * numClasses + t])));
    } else {
      logLoss -= Math.log(1e-15); // a class never seen in training is always wrong
    }
  }
  let f1Sum = 0;
  let classesPresent = 0;
  for (let k = 0; k < numClasses; k++) {
    const tp = matrix[k][k];
    const fp = matrix.reduce((s, row, j) => s + (j === k ? 0 : row[k]), 0);
    const fn = matrix[k].reduce((s, v, j) => s + (j === k ? 0 : v), 0);
    if (tp + fp + fn === 0) continue;
    classesPresent++;
    f1Sum += (2 * tp) / (2 * tp + fp + fn);
  }
  return {
    metrics: { accuracy: correct / n, f1_macro: classesPresent ? f1Sum / classesPresent : 0, log_loss: logLoss / n },
    confusionMatrix: { labels, matrix },
  };
}

export function regressionMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>) {
  const n = actual.length;
  let se = 0, ae = 0, mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] / n;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i] - actual[i];
    se += e * e;
    ae += Math.abs(e);
    tot += (actual[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: tot === 0 ? 0 : 1 - se / tot };
}

/** Whether a metric is better when higher (accuracy) or lower (rmse). */
export const higherIsBetter = (metric: string) => !['rmse', 'mae', 'log_loss', 'mape'].includes(metric);
