/** How a dataset's rows divide into training (in the order they are fed) and held-out rows. */
import type { TrainingParams } from '../common/pipeline-request';
import { holdoutSplit, shuffledIndices } from '../common/random';
import type { Columns } from './preprocess';

/**
 * Which rows train (in the order they are fed) and which are held out. Seeded random by default;
 * by a time column, the latest rows are held out and training rows stay in time order, so the
 * validation split (the tail) is the most recent too.
 */
export function splitRows(data: { rows: number; columns: Columns }, params: TrainingParams): { order: number[]; holdout: number[] } {
  if (!params.split?.by) {
    const { train, holdout } = holdoutSplit(data.rows, params.holdoutFraction, params.seed);
    // the order rows are fed in: seeded, so two runs with one seed learn the same model
    return { order: shuffledIndices(train.length, params.seed + 1).map((i) => train[i]), holdout };
  }
  const time = data.columns[`__extra.${params.split.by}`];
  const numeric = time.every((v) => v === null || !Number.isNaN(Number(v)));
  const key = (v: unknown) => (v === null ? -Infinity : numeric ? Number(v) : String(v));
  const idx = Array.from({ length: data.rows }, (_, i) => i)
    .sort((a, b) => { const [x, y] = [key(time[a]), key(time[b])]; return x < y ? -1 : x > y ? 1 : a - b; });
  const holdoutSize = Math.max(1, Math.round(data.rows * params.holdoutFraction));
  return { order: idx.slice(0, data.rows - holdoutSize), holdout: idx.slice(data.rows - holdoutSize) };
}
