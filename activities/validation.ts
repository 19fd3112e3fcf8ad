/**
 * The data checks, as pure functions over statistics: what a model needs from any dataset, and,
 * once a model has a data contract, how a new version compares with it and with the previous one.
 * Every anomaly names its column, what was observed and what was expected.
 */
import { jensenShannonDistance, psi } from '../ml/drift';
import type { Anomaly, ColumnSchema } from '../common/pipeline-status';
import type { ColumnStatistics, ContractColumn, DatasetStatistics, DatasetVersion } from '../common/domain';
import type { ModelTask } from '../common/vocabulary';
import type { ValidationOptions } from '../common/pipeline-request';

/** The defaults, documented in README.md; a pipeline's `validation` overrides any of them. */
export const DEFAULT_VALIDATION: ValidationOptions = {
  unseenCategoryShare: 0.05, // error: more than 5 % of a column's rows hold categories the contract never saw
  missingRateIncrease: 0.1, // error: a column's missing share rose by more than 10 points over the contract
  outOfRangeShare: 0.05, // warning: more than 5 % of values fall outside the contract's [min, max]
  rowCountFactor: 10, // warning: 10x more or fewer rows than the previous version
  duplicateRowShare: 0.05, // warning: more than 5 % of rows repeat an earlier row
  psi: 0.25, // warning: numeric drift against the previous version (PSI over its quantile bins)
  jsDistance: 0.2, // warning: categorical drift against the previous version (Jensen-Shannon distance)
  failOnDrift: false,
};

const MAX_CONTRACT_CATEGORIES = 20;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export class Findings {
  readonly anomalies: Anomaly[] = [];
  error(kind: string, message: string, extra: Partial<Anomaly> = {}) {
    this.anomalies.push({ kind, severity: 'error', message, ...extra });
  }
  warning(kind: string, message: string, extra: Partial<Anomaly> = {}) {
    this.anomalies.push({ kind, severity: 'warning', message, ...extra });
  }
  get passed() {
    return !this.anomalies.some((a) => a.severity === 'error');
  }
}

/** What any model needs from its data: rows, a usable target, usable features. */
export function checkUsable(f: Findings, dataset: DatasetVersion, stats: DatasetStatistics, target: string,
  requestedFeatures: string[] | undefined, requestedTask: ModelTask | undefined): { task: ModelTask; features: ColumnSchema[] } {
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  const statsOf = new Map(stats.columns.map((s) => [s.name, s]));

  if (dataset.rows === 0) f.error('no_rows', 'The dataset has no rows.', { observed: 0 });
  const targetColumn = byName.get(target);
  if (!targetColumn) {
    f.error('target_missing', `Target column "${target}" is not in the dataset (columns: ${[...byName.keys()].join(', ')}).`,
      { column: target, expected: target, observed: [...byName.keys()] });
  }

  const featureNames = requestedFeatures ?? dataset.columns.map((c) => c.name).filter((n) => n !== target);
  const features: ColumnSchema[] = [];
  for (const name of featureNames) {
    const col = byName.get(name);
    if (!col) { f.error('feature_missing', `Feature "${name}" is not in the dataset.`, { column: name }); continue; }
    if (name === target) { f.error('feature_is_target', `"${name}" is the target and cannot also be a feature.`, { column: name }); continue; }
    if (col.kind === 'unsupported') {
      f.error('unsupported_type', `Feature "${name}" has type ${col.type}, which models cannot use.`, { column: name, observed: col.type });
      continue;
    }
    features.push(col);
  }
  if (featureNames.length === 0) f.error('no_features', 'There are no feature columns besides the target.');

  if (dataset.rows > 0) {
    for (const col of features) {
      const s = statsOf.get(col.name);
      if (s && s.count === 0) f.error('all_null', `Column "${col.name}" is entirely null.`, { column: col.name, observed: { missing: s.missing } });
      else if (s && s.distinct <= 1) f.warning('constant', `Column "${col.name}" has a single value; it cannot inform the model.`, { column: col.name });
    }
  }

  let task: ModelTask = requestedTask ?? 'classification';
  if (targetColumn) {
    const s = statsOf.get(target);
    if (s && dataset.rows > 0 && s.count === 0) {
      f.error('target_all_null', `Target "${target}" is entirely null.`, { column: target });
    }
    if (targetColumn.kind === 'unsupported' || targetColumn.kind === 'datetime') {
      f.error('unsupported_type', `Target "${target}" has type ${targetColumn.type}; it must be a category, boolean or number.`, { column: target });
    } else if (!requestedTask) {
      task = inferTask(targetColumn, s);
    } else if (requestedTask === 'regression' && targetColumn.kind !== 'numeric') {
      f.error('task_mismatch', `Regression needs a numeric target; "${target}" is ${targetColumn.kind}.`, { column: target });
    }
    if (task === 'classification' && s && s.count > 0 && s.distinct < 2) {
      f.error('single_class', `Target "${target}" has a single class; there is nothing to learn.`, { column: target });
    }
  }
  return { task, features };
}

/** Categories and booleans are classes; a whole-number column with few values is too; else regression. */
export function inferTask(column: ColumnSchema, s: ColumnStatistics | undefined): ModelTask {
  if (column.kind !== 'numeric') return 'classification';
  const integral = /INT/.test(column.type.toUpperCase());
  return integral && s && s.distinct <= 10 ? 'classification' : 'regression';
}

/** The contract a first accepted dataset sets for its model. */
export function contractFrom(stats: DatasetStatistics): ContractColumn[] {
  return stats.columns.map((s) => ({
    name: s.name,
    kind: s.kind,
    nullable: s.missing > 0,
    missingRate: stats.rows ? s.missing / stats.rows : 0,
    ...(s.top && s.distinct <= MAX_CONTRACT_CATEGORIES && s.top.length >= s.distinct ? { categories: s.top.map((t) => t.value) } : {}),
    ...(s.kind === 'numeric' ? { min: (s.min as number | null) ?? null, max: (s.max as number | null) ?? null } : {}),
  }));
}

/** Exact measurements of the new version, taken with DuckDB, that statistics alone cannot give. */
export interface Measurements {
  /** per numeric column: values outside the contract's [min, max] */
  outOfRange: Record<string, number>;
  /** per numeric column: counts in the previous version's quantile bins, for it and for the new version */
  bins: Record<string, { previous: number[]; current: number[] }>;
}

/** Holds a new version against the contract (schema) and the previous version (drift). */
export function checkAgainstContract(f: Findings, opts: ValidationOptions, contract: ContractColumn[], current: DatasetStatistics,
  previous: DatasetStatistics, measured: Measurements, target: string) {
  const now = new Map(current.columns.map((c) => [c.name, c]));
  const before = new Map(previous.columns.map((c) => [c.name, c]));
  const inContract = new Set(contract.map((c) => c.name));

  for (const c of contract) {
    const s = now.get(c.name);
    if (!s) {
      f.error('missing_column', `Column "${c.name}" of the model's data contract is missing.`, { column: c.name, expected: c.kind });
      continue;
    }
    if (s.kind !== c.kind && !(c.kind === 'categorical' && s.kind === 'text') && !(c.kind === 'text' && s.kind === 'categorical')) {
      f.error('kind_change', `Column "${c.name}" was ${c.kind} and is now ${s.kind}.`, { column: c.name, expected: c.kind, observed: s.kind });
      continue;
    }
    const missingRate = current.rows ? s.missing / current.rows : 0;
    if (missingRate > c.missingRate + opts.missingRateIncrease) {
      f.error('missing_rate', `Column "${c.name}" is ${pct(missingRate)} missing, up from ${pct(c.missingRate)} (allowed: +${pct(opts.missingRateIncrease)}).`,
        { column: c.name, observed: missingRate, expected: c.missingRate });
    }
    if (c.categories && s.top && s.count > 0) {
      const allowed = new Set(c.categories);
      const seen = s.top.filter((t) => allowed.has(t.value)).reduce((n, t) => n + t.count, 0);
      const unseenShare = (s.count - seen) / s.count;
      if (unseenShare > opts.unseenCategoryShare) {
        const unseen = s.top.filter((t) => !allowed.has(t.value)).map((t) => t.value);
        f.error('unseen_categories', `Column "${c.name}": ${pct(unseenShare)} of rows hold categories the contract never saw (${unseen.slice(0, 5).join(', ')}).`,
          { column: c.name, observed: unseen, expected: c.categories });
      }
    }
    const outside = measured.outOfRange[c.name];
    if (outside !== undefined && s.count > 0 && outside / s.count > opts.outOfRangeShare) {
      f.warning('out_of_range', `Column "${c.name}": ${pct(outside / s.count)} of values fall outside the contract's range [${c.min}, ${c.max}].`,
        { column: c.name, observed: { share: outside / s.count, min: s.min, max: s.max }, expected: { min: c.min, max: c.max } });
    }
  }
  for (const s of current.columns) {
    if (!inContract.has(s.name)) f.warning('new_column', `Column "${s.name}" is not in the model's data contract.`, { column: s.name, observed: s.kind });
  }

  const factor = previous.rows > 0 ? current.rows / previous.rows : Infinity;
  if (factor > opts.rowCountFactor || factor < 1 / opts.rowCountFactor) {
    f.warning('row_count', `${current.rows} rows, against ${previous.rows} in the previous version (more than ${opts.rowCountFactor}x apart).`,
      { observed: current.rows, expected: previous.rows });
  }

  const t0 = before.get(target);
  const t1 = now.get(target);
  if (t0?.top && t1?.top && t0.distinct <= MAX_CONTRACT_CATEGORIES && t0.top.length >= t0.distinct) {
    const present = new Set(t1.top.map((t) => t.value));
    const gone = t0.top.map((t) => t.value).filter((v) => !present.has(v));
    // with more distinct values than the top list holds, absence from it is not proof
    if (gone.length && t1.top.length >= t1.distinct) {
      f.error('target_classes_disappeared', `Target "${target}" lost classes the previous version had: ${gone.join(', ')}.`,
        { column: target, observed: [...present], expected: t0.top.map((t) => t.value) });
    }
  }

  const drift = (message: string, extra: Partial<Anomaly>) =>
    (opts.failOnDrift ? f.error('drift', message, extra) : f.warning('drift', message, extra));
  for (const [name, { previous: p, current: c }] of Object.entries(measured.bins)) {
    const value = psi(p, c);
    if (value > opts.psi) drift(`Column "${name}" drifted from the previous version: PSI ${value.toFixed(3)} > ${opts.psi}.`, { column: name, observed: value, expected: opts.psi });
  }
  for (const s of current.columns) {
    const p = before.get(s.name);
    if (!s.top || !p?.top || s.kind !== 'categorical') continue;
    const values = [...new Set([...p.top.map((t) => t.value), ...s.top.map((t) => t.value)])];
    const counts = (col: ColumnStatistics) => {
      const m = new Map(col.top!.map((t) => [t.value, t.count]));
      const listed = values.map((v) => m.get(v) ?? 0);
      return [...listed, Math.max(0, col.count - col.top!.reduce((n, t) => n + t.count, 0))]; // + "other"
    };
    const value = jensenShannonDistance(counts(p), counts(s));
    if (value > opts.jsDistance) drift(`Column "${s.name}" drifted from the previous version: Jensen-Shannon distance ${value.toFixed(3)} > ${opts.jsDistance}.`, { column: s.name, observed: value, expected: opts.jsDistance });
  }
}

/** Rows repeated exactly, above a share. */
export function checkDuplicates(f: Findings, stats: DatasetStatistics, opts: ValidationOptions) {
  const share = stats.rows ? stats.duplicateRows / stats.rows : 0;
  if (share > opts.duplicateRowShare) {
    f.warning('duplicate_rows', `${stats.duplicateRows} rows (${pct(share)}) repeat an earlier row exactly.`, { observed: share, expected: opts.duplicateRowShare });
  }
}
