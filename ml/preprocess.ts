/**
 * Preprocessing fitted on the training split only and saved with the model: numeric columns are
 * imputed with the median and standardised, with a missing-value indicator when training saw gaps;
 * categorical columns are one-hot over their K most frequent training values plus an "other"
 * input for every other value (unseen ones included); a missing category is all zeros.
 */
export type Cell = number | string | null;
export type Columns = Record<string, Cell[]>;

export interface NumericStep { name: string; kind: 'numeric'; median: number; mean: number; std: number; indicator?: boolean }
export interface CategoricalStep { name: string; kind: 'categorical'; categories: string[]; other?: boolean }
export type FeatureStep = NumericStep | CategoricalStep;

export interface TargetEncoding {
  task: 'classification' | 'regression';
  /** classification: the class labels, in output order */
  labels?: string[];
  /** regression: the target is standardised for training */
  mean?: number;
  std?: number;
}

export interface Preprocessor {
  steps: FeatureStep[];
  inputSize: number;
  target: TargetEncoding;
}

export const TOP_K_CATEGORIES = 20;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fitPreprocessor(columns: Columns, features: { name: string; kind: 'numeric' | 'categorical' }[],
  target: Cell[], task: 'classification' | 'regression', rows: number[]): Preprocessor {
  const steps: FeatureStep[] = features.map((f) => {
    const values = rows.map((r) => columns[f.name][r]);
    if (f.kind === 'numeric') {
      const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const med = median(present);
      const imputed = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : med));
      const mean = imputed.reduce((a, b) => a + b, 0) / Math.max(1, imputed.length);
      const variance = imputed.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, imputed.length);
      return { name: f.name, kind: 'numeric', median: med, mean, std: Math.sqrt(variance) || 1, indicator: present.length < values.length };
    }
    const counts = new Map<string, number>();
    for (const v of values) if (v !== null) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    const categories = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_K_CATEGORIES).map(([c]) => c).sort();
    return { name: f.name, kind: 'categorical', categories, other: true };
  });
  const inputSize = steps.reduce((n, s) => n + width(s), 0);

  let encoding: TargetEncoding;
  const y = rows.map((r) => target[r]);
  if (task === 'classification') {
    encoding = { task, labels: [...new Set(y.map(String))].sort() };
  } else {
    const nums = y.map(Number);
    const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
    const std = Math.sqrt(nums.reduce((a, b) => a + (b - mean) ** 2, 0) / nums.length) || 1;
    encoding = { task, mean, std };
  }
  return { steps, inputSize, target: encoding };
}

/** how many model inputs a step produces */
const width = (s: FeatureStep) => (s.kind === 'numeric' ? 1 + (s.indicator ? 1 : 0) : s.categories.length + (s.other ? 1 : 0));

/** The model's input matrix for the given rows, row-major. */
export function transformFeatures(p: Preprocessor, columns: Columns, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * p.inputSize);
  rows.forEach((r, i) => {
    let o = i * p.inputSize;
    for (const s of p.steps) {
      const v = columns[s.name]?.[r] ?? null;
      if (s.kind === 'numeric') {
        const present = typeof v === 'number' && Number.isFinite(v);
        out[o++] = ((present ? (v as number) : s.median) - s.mean) / s.std;
        if (s.indicator) out[o++] = present ? 0 : 1;
      } else {
        const k = v === null ? -1 : s.categories.indexOf(String(v));
        if (k >= 0) out[o + k] = 1;
        else if (v !== null && s.other) out[o + s.categories.length] = 1;
        o += width(s);
      }
    }
  });
  return out;
}

/** Class indices (classification) or standardised values (regression) for the given rows. */
export function encodeTarget(t: TargetEncoding, target: Cell[], rows: number[]): Float32Array {
  if (t.task === 'classification') {
    const index = new Map(t.labels!.map((l, i) => [l, i]));
    return Float32Array.from(rows, (r) => index.get(String(target[r])) ?? -1);
  }
  return Float32Array.from(rows, (r) => (Number(target[r]) - t.mean!) / t.std!);
}
