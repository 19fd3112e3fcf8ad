/**
 * Per-feature drift statistics between a reference sample and a current one, each equal to a named
 * reference implementation (scipy 1.16 / Evidently 0.7; test/fixtures/drift holds the proof).
 * Numeric inputs are Float64Arrays sorted ascending (see sortedFloat64); every function here is a
 * single pass or a merge of the two sorted arrays, so a million values take milliseconds.
 */
import { chiSquaredSf } from './chi-squared';
import { jensenShannonDistance } from './drift';
import { kolmogorovSf } from './kolmogorov-distribution';

export interface TestResult {
  statistic: number;
  pValue: number;
}

export interface CategoryCounts {
  categories: string[];
  reference: number[];
  current: number[];
}

/**
 * The finite values, sorted ascending: null, NaN and ±Infinity are dropped. One allocation: the
 * result is a view of it (the buffer may hold the dropped values' room too).
 */
export function sortedFloat64(values: ArrayLike<number | null>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

/**
 * One categorical feature's sample: its values, or how many times each category occurs (what every
 * categorical statistic needs, and all a monitoring window keeps: a million rows of a few categories
 * are a few numbers).
 */
export type CategoricalSample = readonly string[] | ReadonlyMap<string, number>;

export function tallyOf(sample: CategoricalSample): ReadonlyMap<string, number> {
  if (!Array.isArray(sample)) return sample as ReadonlyMap<string, number>;
  const m = new Map<string, number>();
  for (const v of sample as readonly string[]) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** The sample's values in all. */
export function sizeOf(sample: CategoricalSample): number {
  if (Array.isArray(sample)) return sample.length;
  let n = 0;
  for (const c of (sample as ReadonlyMap<string, number>).values()) n += c;
  return n;
}

/** Count vectors aligned over the union of both samples' categories, sorted by code unit. */
export function categoryCounts(reference: CategoricalSample, current: CategoricalSample): CategoryCounts {
  const [ref, cur] = [tallyOf(reference), tallyOf(current)];
  const categories = [...new Set([...ref.keys(), ...cur.keys()])].sort();
  return {
    categories,
    reference: categories.map((c) => ref.get(c) ?? 0),
    current: categories.map((c) => cur.get(c) ?? 0),
  };
}

function requireNonEmpty(reference: Float64Array, current: Float64Array): void {
  if (reference.length === 0 || current.length === 0) throw new RangeError('drift statistics need two non-empty samples');
}

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Two-sided two-sample Kolmogorov-Smirnov test, equal to scipy.stats.ks_2samp(ref, cur, method='asymp').
 * The statistic is the largest gap between the two empirical CDFs, each evaluated after every value
 * equal to the point (scipy's searchsorted side='right'), so ties never open a false gap. The p-value
 * is scipy's asymptotic one: kstwo.sf(D, round(m·n/(m+n))), the exact one-sample Kolmogorov
 * distribution at the effective sample size. scipy's default method='auto' would instead use the
 * exact two-sample distribution when both samples have at most 10,000 values; we use 'asymp' at
 * every size so a statistic means the same thing whatever the window's size (and stays O(n)).
 */
export function ks2Sample(reference: Float64Array, current: Float64Array): TestResult {
  requireNonEmpty(reference, current);
  const [n1, n2] = [reference.length, current.length];
  let [i, j] = [0, 0];
  let [maxDiff, minDiff] = [-Infinity, Infinity];
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && reference[i] <= current[j]) ? reference[i] : current[j];
    while (i < n1 && reference[i] === x) i++;
    while (j < n2 && current[j] === x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(1, Math.max(0, -minDiff));
  const statistic = minS > maxDiff ? minS : maxDiff;
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const effectiveN = roundHalfEven((m * n) / (m + n));
  return { statistic, pValue: Math.min(1, Math.max(0, kolmogorovSf(effectiveN, statistic))) };
}

/** numpy.quantile(sorted, q) with the default 'linear' method, numpy's lerp included. */
export function quantileLinear(sorted: Float64Array, q: number): number {
  const virtual = (sorted.length - 1) * q;
  const lo = Math.floor(virtual);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = virtual - lo;
  const [a, b] = [sorted[lo], sorted[hi]];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The distinct reference deciles (10%, ..., 90%, numpy's linear quantile): the inner bin edges. */
export function referenceDecileEdges(reference: Float64Array): Float64Array {
  const edges: number[] = [];
  for (let k = 1; k <= 9; k++) {
    const e = quantileLinear(reference, k / 10);
    if (edges.length === 0 || e !== edges[edges.length - 1]) edges.push(e);
  }
  return Float64Array.from(edges);
}

/** Counts per bin; bin b holds edges[b-1] < v <= edges[b] (first and last bins open-ended). */
function binCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (bin < edges.length && sorted[i] > edges[bin]) bin++;
    counts[bin]++;
  }
  return counts;
}

/** Evidently 0.7's get_binned_data: a zero share becomes 1e-4, or min(non-zero share)/1e6 when that minimum is <= 1e-4. */
function fillZeroShares(shares: number[]): number[] {
  let min = Infinity;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/**
 * Population Stability Index over the reference's deciles: sum((ref - cur) · ln(ref / cur)).
 * Bins: edges at the reference's 10%...90% quantiles (numpy's linear method), identical edges merged,
 * first and last bins open-ended, a value equal to an edge in the bin below it. A bin empty in both
 * samples is left out. Zero shares are filled as Evidently 0.7's psi stattest fills them
 * (fillZeroShares). This equals Evidently's `psi` applied to the decile bin labels as a categorical
 * column; Evidently's own numeric PSI bins differently (Sturges bins over both samples together).
 */
export function psiByReferenceDeciles(reference: Float64Array, current: Float64Array): number {
  requireNonEmpty(reference, current);
  const edges = referenceDecileEdges(reference);
  const [ref, cur] = [binCounts(reference, edges), binCounts(current, edges)];
  const refShares: number[] = [];
  const curShares: number[] = [];
  for (let b = 0; b < ref.length; b++) {
    if (ref[b] === 0 && cur[b] === 0) continue;
    refShares.push(ref[b] / reference.length);
    curShares.push(cur[b] / current.length);
  }
  const [e, a] = [fillZeroShares(refShares), fillZeroShares(curShares)];
  let sum = 0;
  for (let b = 0; b < e.length; b++) sum += (e[b] - a[b]) * Math.log(e[b] / a[b]);
  return sum;
}

/** scipy.stats.wasserstein_distance(u, v): the area between the two empirical CDFs, by one merge. */
export function wassersteinDistance(u: Float64Array, v: Float64Array): number {
  requireNonEmpty(u, v);
  const [nu, nv] = [u.length, v.length];
  let [i, j] = [0, 0];
  let prev = Math.min(u[0], v[0]);
  let total = 0;
  while (i < nu || j < nv) {
    const takeU = j >= nv || (i < nu && u[i] <= v[j]);
    const x = takeU ? u[i] : v[j];
    total += Math.abs(i / nu - j / nv) * (x - prev);
    prev = x;
    if (takeU) i++;
    else j++;
  }
  return total;
}

/** Population standard deviation (numpy.std, ddof=0), two passes. */
export function populationStd(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  const mean = sum / x.length;
  let squares = 0;
  for (let i = 0; i < x.length; i++) squares += (x[i] - mean) ** 2;
  return Math.sqrt(squares / x.length);
}

/**
 * Evidently 0.7's normed Wasserstein: wasserstein_distance(ref, cur) / max(std(ref, ddof=0), 0.001);
 * the floor keeps a constant reference from dividing by zero.
 */
export function wassersteinNormed(reference: Float64Array, current: Float64Array): number {
  return wassersteinDistance(reference, current) / Math.max(populationStd(reference), 0.001);
}

/**
 * Evidently 0.7's chi-square stattest: expected = reference counts × (current total / reference
 * total), then scipy.stats.chisquare(current, expected), k - 1 degrees of freedom.
 * A category the reference never saw but the current has gives an expected 0: like Evidently (and
 * scipy) the statistic is Infinity and the p-value 0, the strongest drift. Categories empty in both
 * are left out; with fewer than two categories left there is nothing to compare and the answer is
 * {statistic: 0, pValue: 1} (scipy would answer a NaN p-value).
 */
export function chiSquare(referenceCounts: number[], currentCounts: number[]): TestResult {
  if (referenceCounts.length !== currentCounts.length) throw new RangeError('count vectors differ in length');
  const [ref, cur] = [[] as number[], [] as number[]];
  referenceCounts.forEach((r, k) => {
    if (r !== 0 || currentCounts[k] !== 0) [ref.push(r), cur.push(currentCounts[k])];
  });
  const [refTotal, curTotal] = [ref.reduce((a, b) => a + b, 0), cur.reduce((a, b) => a + b, 0)];
  if (refTotal === 0 || curTotal === 0) throw new RangeError('chi-square needs two non-empty samples');
  if (ref.length < 2) return { statistic: 0, pValue: 1 };
  const scale = curTotal / refTotal;
  let statistic = 0;
  for (let k = 0; k < ref.length; k++) {
    const expected = ref[k] * scale;
    statistic += (cur[k] - expected) ** 2 / expected;
  }
  return { statistic, pValue: statistic === Infinity ? 0 : chiSquaredSf(statistic, ref.length - 1) };
}

/** Jensen-Shannon distance, base 2, between category count vectors: scipy.spatial.distance.jensenshannon(p, q, base=2). */
export const jensenShannon = jensenShannonDistance;
