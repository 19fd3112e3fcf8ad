/** Quality gates: may this candidate go on to approval? Pure, deterministic. */
import type { EvaluationResult } from '../common/domain';
import type { GatesSpec } from '../common/pipeline-request';
import { higherIsBetter } from '../common/vocabulary';

export function checkGates(gates: GatesSpec, evaluation: EvaluationResult): { passed: boolean; failures: string[] } {
  const failures: string[] = [];
  const m = evaluation.metrics;
  for (const [name, min] of Object.entries(gates.minMetrics)) {
    if (!(name in m)) failures.push(`${name}: not a metric of this model (it has ${Object.keys(m).join(', ')})`);
    else if (!(m[name] >= min)) failures.push(`${name} ${fmt(m[name])} is below the minimum ${min}`);
  }
  for (const [name, maxValue] of Object.entries(gates.maxMetrics)) {
    if (!(name in m)) failures.push(`${name}: not a metric of this model (it has ${Object.keys(m).join(', ')})`);
    else if (!(m[name] <= maxValue)) failures.push(`${name} ${fmt(m[name])} is above the maximum ${maxValue}`);
  }
  const champion = evaluation.championMetrics;
  if (gates.mustBeatProduction && champion) {
    const key = evaluation.primaryMetric;
    const [c, p] = [m[key], champion[key]];
    const beats = !higherIsBetter(key) ? c <= p * (1 + gates.tolerance) : c >= p - gates.tolerance;
    if (!beats) failures.push(`${key} ${fmt(c)} does not beat production's ${fmt(p)} (tolerance ${gates.tolerance})`);
  }
  if (gates.maxFairnessGap != null) {
    for (const [column, f] of Object.entries(evaluation.fairness ?? {})) {
      const gap = Math.max(f.selectionRateGap, f.truePositiveRateGap);
      if (gap > gates.maxFairnessGap) {
        failures.push(`fairness on ${column}: a gap of ${fmt(gap)} between groups (selection rate ${fmt(f.selectionRateGap)}, true positive rate ${fmt(f.truePositiveRateGap)}) is above the maximum ${gates.maxFairnessGap}`);
      }
    }
  }
  return { passed: failures.length === 0, failures };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
