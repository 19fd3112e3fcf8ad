/**
 * Raw prediction instances into the columns the model's preprocessing reads, the same derived
 * inputs as training (a date becomes year, month and day of week). Wrong types and unknown
 * features are errors naming the feature; a missing feature is null, imputed as in training.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { compileForward, type Forward } from './forward';
import { predictMlp } from './mlp';
import { transformFeatures, type Columns, type Preprocessor } from './preprocess';

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

export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

/** What a saved bundle needs to answer: its task, feature schema, preprocessing and network. */
export interface ServableBundle {
  meta: { task: 'classification' | 'regression'; features: ServingFeature[]; preprocessor: Preprocessor };
  model: LayersModel;
  /** the plain-JS forward pass, when the network is one it can run (otherwise TF.js predicts) */
  forward?: Forward | null;
}

/** A loaded bundle made ready to serve: its forward pass compiled once. */
export function servable<B extends ServableBundle>(bundle: B): B {
  return { ...bundle, forward: compileForward(bundle.model) };
}

/**
 * The serving code path: raw JSON instances in, answers out. The API and the servability check
 * both call this, so a model that passes the check answers the same way in production.
 */
export function predictInstances(bundle: ServableBundle, instances: Record<string, unknown>[]):
{ predictions: Prediction[]; outputs: Float32Array; errors: [] } | { errors: InstanceError[] } {
  const { meta, model } = bundle;
  const { columns, errors } = columnsFromInstances(meta.features, instances);
  if (errors.length) return { errors };
  const rows = instances.map((_, i) => i);
  const x = transformFeatures(meta.preprocessor, columns, rows);
  const outputs = bundle.forward ? bundle.forward(x, rows.length) : predictMlp(model, x, rows.length, meta.preprocessor.inputSize);
  const t = meta.preprocessor.target;
  const predictions: Prediction[] = rows.map((i) => {
    if (meta.task === 'regression') return { value: outputs[i] * t.std! + t.mean! };
    const labels = t.labels!;
    const probabilities = Object.fromEntries(labels.map((l, k) => [l, outputs[i * labels.length + k]]));
    const best = labels.reduce((a, b) => (probabilities[b] > probabilities[a] ? b : a));
    return { label: best, probabilities };
  });
  return { predictions, outputs, errors: [] };
}
