/** Hyperparameter search, deterministic: which trials to run, and a bounded pool to run them. */
import { shuffledIndices } from '../common/random';
import type { TrainingParams, TuningSpec } from '../common/pipeline-request';

/**
 * `trials` points of the grid over the space's values, in a seeded order: the same seed picks the
 * same trials, and a cut grid is sampled evenly. The grid itself is never built: each point is
 * decoded from its index (the last parameter varies fastest), so its size costs only the indices.
 */
export function trialParams(tuning: TuningSpec, seed: number): Partial<TrainingParams>[] {
  const dimensions = Object.entries(tuning.space).flatMap(([name, values]) => (values?.length ? [{ name, values: values as unknown[] }] : []));
  const size = dimensions.reduce((n, d) => n * d.values.length, 1);
  return shuffledIndices(size, seed).slice(0, tuning.trials).map((index) => {
    const picks: number[] = [];
    for (let d = dimensions.length - 1; d >= 0; d--) {
      picks[d] = index % dimensions[d].values.length;
      index = Math.floor(index / dimensions[d].values.length);
    }
    return Object.fromEntries(dimensions.map((d, i) => [d.name, d.values[picks[i]]])) as Partial<TrainingParams>;
  });
}
