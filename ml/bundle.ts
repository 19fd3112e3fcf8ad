/**
 * A model bundle: the network and, beside it, what turns raw rows into its inputs and its outputs
 * into answers. Training writes it; evaluation, the servability check and serving load it the same way.
 */
import type { TrainingParams } from '../common/pipeline-request';
import type { ColumnSchema } from '../common/pipeline-status';
import type { ModelTask } from '../common/vocabulary';
import { loadMlp } from './mlp';
import type { Preprocessor } from './preprocess';

export const BUNDLE_FORMAT = 'perennial-mlp-v1';

/** What is saved beside the network: enough to turn raw rows into its inputs and its outputs into answers. */
export interface ModelBundleMeta {
  format: typeof BUNDLE_FORMAT;
  task: ModelTask;
  target: string;
  features: ColumnSchema[];
  preprocessor: Preprocessor;
  params: TrainingParams;
  backend: string;
}

/** The preprocessing inputs that a feature column turns into (a datetime becomes three numbers). */
export function derivedInputs(features: ColumnSchema[]): { name: string; kind: 'numeric' | 'categorical' }[] {
  return features.flatMap((f): { name: string; kind: 'numeric' | 'categorical' }[] => {
    if (f.kind === 'datetime') return ['year', 'month', 'dayofweek'].map((p) => ({ name: `${f.name}.${p}`, kind: 'numeric' as const }));
    if (f.kind === 'numeric' || f.kind === 'boolean') return [{ name: f.name, kind: 'numeric' as const }];
    return [{ name: f.name, kind: 'categorical' as const }];
  });
}

/** Loads a bundle through `read`, which returns one of its files (perennial.json, model.json, weights.bin). */
export async function loadBundle(read: (file: string) => Promise<Uint8Array>) {
  const meta: ModelBundleMeta = JSON.parse(Buffer.from(await read('perennial.json')).toString('utf8'));
  if (meta?.format !== BUNDLE_FORMAT) throw new Error(`not a model bundle of format ${BUNDLE_FORMAT}`);
  const model = await loadMlp({
    modelJson: Buffer.from(await read('model.json')).toString('utf8'),
    weights: new Uint8Array(await read('weights.bin')),
  });
  return { meta, model };
}
