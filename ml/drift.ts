/** Distribution distances: arrays of counts in, a number out. */
const EPS = 1e-6;

function proportions(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/**
 * Population Stability Index between a reference and a current histogram over the same bins.
 * Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
 */
export function psi(reference: number[], current: number[]): number {
  const [e, a] = [proportions(reference), proportions(current)];
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const [ei, ai] = [Math.max(e[i], EPS), Math.max(a[i], EPS)];
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

/** Jensen-Shannon distance (base 2, so between 0 and 1) between two count vectors over the same categories. */
export function jensenShannonDistance(reference: number[], current: number[]): number {
  const [p, q] = [proportions(reference), proportions(current)];
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.sqrt(Math.max(0, js));
}
