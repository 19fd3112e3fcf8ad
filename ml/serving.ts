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

/** the errors found so far: the first INSTANCE_LIMITS.maxErrors described, all counted */
class ErrorList implements InstanceErrors {
  errors: InstanceError[] = [];
  total = 0;
  // only the first errors are described: an answer must not grow with what a request repeats
  add(instance: number, feature: string, message: () => string) {
    this.total++;
    if (this.errors.length < INSTANCE_LIMITS.maxErrors) this.errors.push({ instance, feature, message: message() });
  }
  wrongType(instance: number, feature: string, expected: string, v: unknown) {
    this.add(instance, feature, () => `"${feature}" must be ${expected}, got ${describeValue(v)}`);
  }
}

export function columnsFromInstances(features: ServingFeature[], instances: unknown[]): { columns: Columns } & InstanceErrors {
  const columns: Columns = {};
  const found = new ErrorList();
  const n = instances.length;
  for (const f of features) {
    if (f.kind === 'datetime') for (const p of ['year', 'month', 'dayofweek']) columns[`${f.name}.${p}`] = new Array(n).fill(null);
    else columns[f.name] = new Array(n).fill(null);
  }
  // (no closures per instance or feature: this runs for every prediction)
  for (let i = 0; i < n; i++) {
    const raw = instances[i];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      found.add(i, '(instance)', () => `an instance must be an object of feature values, got ${describeValue(raw)}`);
      continue;
    }
    const instance = raw as Record<string, unknown>;
    const keys = Object.keys(instance);
    if (keys.length > INSTANCE_LIMITS.maxFeatures) {
      found.add(i, '(instance)', () => `an instance has ${keys.length} features (at most ${INSTANCE_LIMITS.maxFeatures})`);
      continue;
    }
    const known = featureNames(features);
    for (const key of keys) {
      if (!known.has(key)) found.add(i, printableName(key) ?? '(unprintable name)', () => `unknown feature ${quoteName(key)}`);
    }
    for (const f of features) {
      const v = instance[f.name];
      if (v === undefined || v === null) continue; // imputed as in training
      if (f.kind === 'numeric') {
        if (typeof v === 'number' && Number.isFinite(v)) columns[f.name][i] = v; else found.wrongType(i, f.name, 'a finite number', v);
      } else if (f.kind === 'boolean') {
        if (typeof v === 'boolean') columns[f.name][i] = v ? 1 : 0; else found.wrongType(i, f.name, 'true or false', v);
      } else if (typeof v !== 'string') {
        found.wrongType(i, f.name, f.kind === 'datetime' ? 'an ISO-8601 date such as "2015-06-01"' : 'a string', v);
      } else {
        const problem = stringValueProblem(v);
        if (problem) { found.add(i, f.name, () => `"${f.name}" ${problem}`); continue; }
        if (f.kind !== 'datetime') { columns[f.name][i] = v; continue; }
        const d = parseIsoDate(v);
        if (!d) { found.wrongType(i, f.name, 'an ISO-8601 date such as "2015-06-01" or "2015-06-01T12:00:00Z"', v); continue; }
        columns[`${f.name}.year`][i] = d.getUTCFullYear();
        columns[`${f.name}.month`][i] = d.getUTCMonth() + 1;
        columns[`${f.name}.dayofweek`][i] = d.getUTCDay(); // Sunday 0, as DuckDB's dayofweek
      }
    }
  }
  return { columns, errors: found.errors, total: found.total };
}

/** a model's feature names, built once per loaded bundle */
const namesOf = new WeakMap<ServingFeature[], Set<string>>();
function featureNames(features: ServingFeature[]): Set<string> {
  let names = namesOf.get(features);
  if (!names) namesOf.set(features, names = new Set(features.map((f) => f.name)));
  return names;
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
