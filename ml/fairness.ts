/** Fairness per group of a sensitive column: how often the positive class is predicted, and found when true. */
import type { FairnessReport } from '../common/domain';

/**
 * groups: [value, indices into the held-out rows]; predicted and truth: class indices per held-out row;
 * positive: the index of the class that counts as selected.
 */
export function fairness(groups: [string, number[]][], predicted: number[], truth: ArrayLike<number>, positive: number, positiveClass: string): FairnessReport {
  const rows = groups.map(([value, idx]) => {
    const positives = idx.filter((i) => truth[i] === positive);
    return {
      value, rows: idx.length,
      selectionRate: idx.filter((i) => predicted[i] === positive).length / idx.length,
      truePositiveRate: positives.length ? positives.filter((i) => predicted[i] === positive).length / positives.length : null,
    };
  });
  return {
    positiveClass, groups: rows,
    selectionRateGap: gap(rows.map((g) => g.selectionRate)),
    truePositiveRateGap: gap(rows.map((g) => g.truePositiveRate)),
  };
}

/** the largest difference between two groups, ignoring groups without a value */
function gap(xs: (number | null)[]): number {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) - Math.min(...v) : 0;
}
