/**
 * Raw prediction instances into the columns the model's preprocessing reads, the same derived
 * inputs as training (a date becomes year, month and day of week). Wrong types and unknown
 * features are errors naming the feature; a missing feature is null, imputed as in training.
 */
import type { Columns } from './preprocess';

export interface ServingFeature { name: string; kind: 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'text' | 'unsupported' }
export interface InstanceError { instance: number; feature: string; message: string }

export function columnsFromInstances(features: ServingFeature[], instances: Record<string, unknown>[]): { columns: Columns; errors: InstanceError[] } {
  const known = new Set(features.map((f) => f.name));
  const columns: Columns = {};
  const errors: InstanceError[] = [];
  const put = (name: string, i: number, v: number | string | null) => { (columns[name] ??= new Array(instances.length).fill(null))[i] = v; };
  for (const f of features) {
    if (f.kind === 'datetime') for (const p of ['year', 'month', 'dayofweek']) columns[`${f.name}.${p}`] = new Array(instances.length).fill(null);
    else columns[f.name] = new Array(instances.length).fill(null);
  }
  instances.forEach((instance, i) => {
    if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
      errors.push({ instance: i, feature: '(instance)', message: 'an instance must be an object of feature values' });
      return;
    }
    for (const key of Object.keys(instance)) {
      if (!known.has(key)) errors.push({ instance: i, feature: key, message: `unknown feature "${key}" (the model knows ${[...known].join(', ')})` });
    }
    for (const f of features) {
      const v = instance[f.name];
      if (v === undefined || v === null) continue; // imputed as in training
      const wrong = (expected: string) => errors.push({ instance: i, feature: f.name, message: `"${f.name}" must be ${expected}, got ${JSON.stringify(v)}` });
      if (f.kind === 'numeric') {
        if (typeof v === 'number' && Number.isFinite(v)) put(f.name, i, v); else wrong('a number');
      } else if (f.kind === 'boolean') {
        if (typeof v === 'boolean') put(f.name, i, v ? 1 : 0); else wrong('true or false');
      } else if (f.kind === 'datetime') {
        const d = typeof v === 'string' ? new Date(v) : null;
        if (!d || Number.isNaN(d.getTime())) { wrong('a date such as "2015-06-01"'); continue; }
        put(`${f.name}.year`, i, d.getUTCFullYear());
        put(`${f.name}.month`, i, d.getUTCMonth() + 1);
        put(`${f.name}.dayofweek`, i, d.getUTCDay()); // Sunday 0, as DuckDB's dayofweek
      } else if (typeof v === 'string') put(f.name, i, v);
      else wrong('a string');
    }
  });
  return { columns, errors };
}
