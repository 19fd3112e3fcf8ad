/**
 * Predictions from the production version of a model: its bundle (network, preprocessing, feature
 * schema) loaded from the artifact store once per version and kept in memory.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { and, eq } from 'drizzle-orm';
import type { ArtifactStore } from '../activities/artifacts';
import { loadBundle, type ModelBundleMeta } from '../activities/training';
import type { Db } from '../db/client';
import { models, modelVersions } from '../db/schema';
import { loadBackend, type BackendPreference } from '../ml/backend';
import { predictMlp } from '../ml/mlp';
import { transformFeatures } from '../ml/preprocess';
import { columnsFromInstances } from '../ml/serving';
import { ApiError, conflict, notFound } from './errors';

export type Prediction = { label: string; probabilities: Record<string, number> } | { value: number };

export function createModelServer(deps: { db: Db; artifacts: ArtifactStore; backend: BackendPreference }) {
  const loaded = new Map<string, Promise<{ meta: ModelBundleMeta; model: LayersModel }>>();

  function load(key: string) {
    if (!loaded.has(key)) {
      const p = (async () => {
        await loadBackend(deps.backend);
        return loadBundle(deps.artifacts, key);
      })();
      p.catch(() => loaded.delete(key)); // a failed load is tried again next time
      loaded.set(key, p);
    }
    return loaded.get(key)!;
  }

  return {
    async predict(name: string, instances: unknown[]): Promise<{ predictions: Prediction[]; modelVersion: number }> {
      const [m] = await deps.db.select().from(models).where(eq(models.name, name));
      if (!m) throw notFound(`Model ${name}`);
      if (m.productionVersion === null) throw conflict(`Model ${name} has no version in production yet.`);
      const [v] = await deps.db.select({ artifactKey: modelVersions.artifactKey }).from(modelVersions)
        .where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, m.productionVersion)));
      const { meta, model } = await load(v.artifactKey);

      const { columns, errors } = columnsFromInstances(meta.features, instances as Record<string, unknown>[]);
      if (errors.length) {
        throw new ApiError(422, 'invalid_instance', errors.slice(0, 5).map((e) => `instance ${e.instance}: ${e.message}`).join('; '), errors);
      }
      const rows = instances.map((_, i) => i);
      const out = predictMlp(model, transformFeatures(meta.preprocessor, columns, rows), rows.length, meta.preprocessor.inputSize);
      const t = meta.preprocessor.target;
      const predictions: Prediction[] = rows.map((i) => {
        if (meta.task === 'regression') return { value: out[i] * t.std! + t.mean! };
        const labels = t.labels!;
        const probabilities = Object.fromEntries(labels.map((l, k) => [l, out[i * labels.length + k]]));
        const best = labels.reduce((a, b) => (probabilities[b] > probabilities[a] ? b : a));
        return { label: best, probabilities };
      });
      return { predictions, modelVersion: m.productionVersion };
    },
  };
}
export type ModelServer = ReturnType<typeof createModelServer>;
