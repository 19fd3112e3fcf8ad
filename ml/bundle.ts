/**
 * A model bundle: the network and, beside it, what turns raw rows into its inputs and its outputs
 * into answers. Training writes it; evaluation, the servability check and serving load it the same way.
 */
import crypto from 'node:crypto';
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

/** The files of a bundle, in the order they are read. */
export const BUNDLE_FILES = ['perennial.json', 'model.json', 'weights.bin'] as const;

/**
 * The bundle's fingerprint: sha256 over each file's name, length and bytes. The servability check
 * takes it from the bytes it loaded, so that what later takes traffic can be shown to be those bytes.
 */
export function bundleDigest(files: ReadonlyMap<string, Uint8Array>): string {
  const hash = crypto.createHash('sha256');
  for (const name of BUNDLE_FILES) {
    const bytes = files.get(name);
    if (!bytes) throw new Error(`the bundle has no ${name}`);
    hash.update(`${name}\0${bytes.byteLength}\0`).update(bytes);
  }
  return hash.digest('hex');
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
