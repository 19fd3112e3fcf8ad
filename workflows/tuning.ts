/** Hyperparameter search, deterministic: which trials to run, and a bounded pool to run them. */
import { seededShuffle } from '../common/random';
import type { TrainingParams, TuningSpec } from '../common/pipeline-request';

/** The grid over the space's values, in a seeded order, cut to `trials`. */
export function trialParams(tuning: TuningSpec, seed: number): Partial<TrainingParams>[] {
  let grid: Partial<TrainingParams>[] = [{}];
  for (const [name, values] of Object.entries(tuning.space)) {
    if (!values?.length) continue;
    grid = grid.flatMap((g) => values.map((v) => ({ ...g, [name]: v })));
  }
  // a seeded shuffle, so a cut grid samples it evenly and the same seed picks the same trials
  seededShuffle(grid, seed);
  return grid.slice(0, tuning.trials);
}

/** Runs `work` for each item, at most `parallelism` at once, results in item order. */
export async function inPool<T, R>(items: T[], parallelism: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, lane));
  return results;
}
