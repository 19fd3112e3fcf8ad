/** Hyperparameter search, deterministic: which trials to run, and a bounded pool to run them. */
import type { TrainingParams, TuningSpec } from '../activities/types';

/** The grid over the space's values, in a seeded order, cut to `trials`. */
export function trialParams(tuning: TuningSpec, seed: number): Partial<TrainingParams>[] {
  let grid: Partial<TrainingParams>[] = [{}];
  for (const [name, values] of Object.entries(tuning.space)) {
    if (!values?.length) continue;
    grid = grid.flatMap((g) => values.map((v) => ({ ...g, [name]: v })));
  }
  // a seeded shuffle (mulberry32), so a cut grid samples it evenly and the same seed picks the same trials
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = grid.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [grid[i], grid[j]] = [grid[j], grid[i]];
  }
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
