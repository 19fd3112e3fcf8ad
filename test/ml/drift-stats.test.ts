/** Drift statistics against scipy and Evidently on fixed inputs (test/fixtures/drift: values and how they were made). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chiSquaredSf } from '../../ml/chi-squared';
import {
  categoryCounts, chiSquare, jensenShannon, ks2Sample, psiByReferenceDeciles, sortedFloat64, wassersteinDistance, wassersteinNormed,
} from '../../ml/drift-stats';
import { kolmogorovSf } from '../../ml/kolmogorov-distribution';

type Num = number | 'Infinity' | '-Infinity' | 'NaN';
interface NumericCase {
  name: string; reference: number[]; current: number[];
  ks: { statistic: number; pValue: number }; psi: number; wasserstein: number; wassersteinNormed: number;
}
interface CategoricalCase {
  name: string; reference: string[]; current: string[]; categories: string[];
  referenceCounts: number[]; currentCounts: number[];
  chiSquare: { statistic: Num; pValue: Num }; jensenShannon: number;
}
interface Fixtures {
  numeric: NumericCase[]; categorical: CategoricalCase[];
  kolmogorovSf: [number, number, number][]; chiSquaredSf: [number, number, number][];
}

const fixtures: Fixtures = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/drift/fixtures.json'), 'utf8'));
const num = (v: Num) => (typeof v === 'number' ? v : Number(v));

function closeRelative(actual: number, expected: number, what: string, rel = 1e-9) {
  const ok = actual === expected || Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-15;
  assert.ok(ok, `${what}: ${actual} vs reference ${expected}`);
}
function closeAbsolute(actual: number, expected: number, what: string, abs = 1e-6) {
  assert.ok(Math.abs(actual - expected) <= abs, `${what}: ${actual} vs reference ${expected}`);
}

for (const c of fixtures.numeric) {
  test(`numeric drift statistics equal scipy's and Evidently's: ${c.name}`, () => {
    const [ref, cur] = [sortedFloat64(c.reference), sortedFloat64(c.current)];
    const ks = ks2Sample(ref, cur);
    closeRelative(ks.statistic, c.ks.statistic, 'KS statistic');
    closeAbsolute(ks.pValue, c.ks.pValue, 'KS p-value');
    closeRelative(psiByReferenceDeciles(ref, cur), c.psi, 'PSI');
    closeRelative(wassersteinDistance(ref, cur), c.wasserstein, 'Wasserstein');
    closeRelative(wassersteinNormed(ref, cur), c.wassersteinNormed, 'normed Wasserstein');
  });
}

for (const c of fixtures.categorical) {
  test(`categorical drift statistics equal scipy's and Evidently's: ${c.name}`, () => {
    const counts = categoryCounts(c.reference, c.current);
    assert.deepEqual(counts, { categories: c.categories, reference: c.referenceCounts, current: c.currentCounts });
    const chi = chiSquare(counts.reference, counts.current);
    closeRelative(chi.statistic, num(c.chiSquare.statistic), 'chi-square statistic');
    closeAbsolute(chi.pValue, num(c.chiSquare.pValue), 'chi-square p-value');
    closeRelative(jensenShannon(counts.reference, counts.current), c.jensenShannon, 'Jensen-Shannon');
  });
}

test('the Kolmogorov survival function equals scipy.stats.kstwo.sf on every branch', () => {
  for (const [n, x, expected] of fixtures.kolmogorovSf) closeAbsolute(kolmogorovSf(n, x), expected, `kstwo.sf(${x}, ${n})`, 1e-9);
});

test('the chi-squared survival function equals scipy.stats.chi2.sf to 1e-9 relative above 1e-300', () => {
  for (const [x, k, expected] of fixtures.chiSquaredSf) {
    const actual = chiSquaredSf(x, k);
    if (expected > 1e-300) closeRelative(actual, expected, `chi2.sf(${x}, ${k})`);
    else assert.ok(actual <= 1e-300, `chi2.sf(${x}, ${k}) = ${actual}, reference ${expected}`);
  }
});

test('sortedFloat64 drops null, NaN and infinities and sorts what is left numerically', () => {
  assert.deepEqual([...sortedFloat64([3, null, NaN, -1, Infinity, 10, -Infinity, 2])], [-1, 2, 3, 10]);
});

test('a current category the reference never saw gives chi-square Infinity and p-value 0', () => {
  assert.deepEqual(chiSquare([5, 5, 0], [3, 3, 4]), { statistic: Infinity, pValue: 0 });
});

test('a single category has nothing to compare: chi-square 0, p-value 1', () => {
  assert.deepEqual(chiSquare([7, 0], [3, 0]), { statistic: 0, pValue: 1 });
});

test('empty samples are refused', () => {
  assert.throws(() => ks2Sample(new Float64Array(0), Float64Array.of(1)), RangeError);
  assert.throws(() => psiByReferenceDeciles(Float64Array.of(1), new Float64Array(0)), RangeError);
});

test('a million values each side: sorted, compared, every statistic finite', () => {
  let seed = 12345;
  const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const ref = sortedFloat64(Float64Array.from({ length: 1_000_000 }, () => uniform()));
  const cur = sortedFloat64(Float64Array.from({ length: 1_000_000 }, () => uniform() * 1.01));
  const ks = ks2Sample(ref, cur);
  for (const v of [ks.statistic, ks.pValue, psiByReferenceDeciles(ref, cur), wassersteinNormed(ref, cur)]) {
    assert.ok(Number.isFinite(v), `${v} is finite`);
  }
});
