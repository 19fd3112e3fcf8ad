/**
 * Raw prediction instances into the columns the model's preprocessing reads, the same derived
 * inputs as training (a date becomes year, month and day of week). Wrong types and unknown
 * features are errors naming the feature; a missing feature is null, imputed as in training.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { compileForward, type Forward } from './forward';
import { predictMlp } from './mlp';
import { describeValue, INSTANCE_LIMITS, parseIsoDate, printableName, quoteName, stringValueProblem } from './instance-values';
import { transformFeatures, type Columns, type Preprocessor } from './preprocess';

export interface ServingFeature { name: string; kind: 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'text' | 'unsupported' }
export interface InstanceError { instance: number; feature: string; message: string }
/** the first errors found (at most INSTANCE_LIMITS.maxErrors) and how many there were in all */
export interface InstanceErrors { errors: InstanceError[]; total: number }

export function columnsFromInstances(features: ServingFeature[], instances: unknown[]): { columns: Columns } & InstanceErrors {
  const known = new Set(features.map((f) => f.name));
  const columns: Columns = {};
  const errors: InstanceError[] = [];
  let total = 0;
  // only the first errors are described: an answer must not grow with what a request repeats
  const fail = (instance: number, feature: string, message: () => string) => {
    total++;
    if (errors.length < INSTANCE_LIMITS.maxErrors) errors.push({ instance, feature, message: message() });
  };
  const put = (name: string, i: number, v: number | string | null) => { (columns[name] ??= new Array(instances.length).fill(null))[i] = v; };
  for (const f of features) {
    if (f.kind === 'datetime') for (const p of ['year', 'month', 'dayofweek']) columns[`${f.name}.${p}`] = new Array(instances.length).fill(null);
    else columns[f.name] = new Array(instances.length).fill(null);
  }
  instances.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      fail(i, '(instance)', () => `an instance must be an object of feature values, got ${describeValue(raw)}`);
      return;
    }
    const instance = raw as Record<string, unknown>;
    const keys = Object.keys(instance);
    if (keys.length > INSTANCE_LIMITS.maxFeatures) {
      fail(i, '(instance)', () => `an instance has ${keys.length} features (at most ${INSTANCE_LIMITS.maxFeatures})`);
      return;
    }
    for (const key of keys) {
      if (!known.has(key)) fail(i, printableName(key) ?? '(unprintable name)', () => `unknown feature ${quoteName(key)}`);
    }
    for (const f of features) {
      const v = instance[f.name];
      if (v === undefined || v === null) continue; // imputed as in training
      const wrong = (expected: string) => fail(i, f.name, () => `"${f.name}" must be ${expected}, got ${describeValue(v)}`);
      if (f.kind === 'numeric') {
        if (typeof v === 'number' && Number.isFinite(v)) put(f.name, i, v); else wrong('a finite number');
      } else if (f.kind === 'boolean') {
        if (typeof v === 'boolean') put(f.name, i, v ? 1 : 0); else wrong('true or false');
      } else if (typeof v !== 'string') {
        wrong(f.kind === 'datetime' ? 'an ISO-8601 date such as "2015-06-01"' : 'a string');
      } else {
        const problem = stringValueProblem(v);
        if (problem) { fail(i, f.name, () => `"${f.name}" ${problem}`); continue; }
        if (f.kind !== 'datetime') { put(f.name, i, v); continue; }
        const d = parseIsoDate(v);
        if (!d) { wrong('an ISO-8601 date such as "2015-06-01" or "2015-06-01T12:00:00Z"'); continue; }
        put(`${f.name}.year`, i, d.getUTCFullYear());
        put(`${f.name}.month`, i, d.getUTCMonth() + 1);
        put(`${f.name}.dayofweek`, i, d.getUTCDay()); // Sunday 0, as DuckDB's dayofweek
      }
    }
  });
  return { columns, errors, total };
}

export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

/** What a saved bundle needs to answer: its task, feature schema, preprocessing and network. */
export interface ServableBundle {
  meta: { task: 'classification' | 'regression'; features: ServingFeature[]; preprocessor: Preprocessor };
  model: LayersModel;
  /** the plain-JS forward pass, when the network is one it can run (otherwise TF.js predicts) */
  forward?: Forward | null;
  /** the network's weights: multiply-adds per instance, near enough, for the per-request cost cap */
  weights?: number;
}

/** A loaded bundle made ready to serve: its forward pass compiled once. */
export function servable<B extends ServableBundle>(bundle: B): B {
  return { ...bundle, forward: compileForward(bundle.model), weights: bundle.model.countParams() };
}

/**
 * The serving code path: raw JSON instances in, answers out. The API and the servability check
 * both call this, so a model that passes the check answers the same way in production.
 */
export function predictInstances(bundle: ServableBundle, instances: unknown[]):
{ predictions: Prediction[]; outputs: Float32Array; errors: [] } | ({ predictions?: undefined } & InstanceErrors) {
  const { meta, model } = bundle;
  const { columns, errors, total } = columnsFromInstances(meta.features, instances);
  if (total) return { errors, total };
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
