/**
 * Serving: each model's deployment (production, and a canary with its weight and mode) is kept in
 * memory and refreshed the moment it changes (NOTIFY perennial_deployments), so a request reads no
 * database. Bundles are loaded once per version and warmed when a version is deployed. Every answer
 * goes to the prediction log, off the request path.
 */
import crypto from 'node:crypto';
import { alias } from 'drizzle-orm/pg-core';
import { and, eq } from 'drizzle-orm';
import type { ArtifactStore } from '../db/artifacts';
import { loadBundle } from '../ml/bundle';
import type { Database } from '../db/client';
import { models, modelVersions } from '../db/schema';
import type { CanaryMode, PredictionRole } from '../common/vocabulary';
import { loadBackend, type BackendPreference } from '../ml/backend';
import { predictInstances, servable, type InstanceError, type Prediction, type ServableBundle } from '../ml/serving';
import { ApiError, conflict, notFound } from './errors';
import type { PredictionLog, PredictionRow } from './prediction-log';


export interface ServedVersion { version: number; artifactKey: string }
export interface Deployment {
  name: string;
  production: ServedVersion | null;
  canary: (ServedVersion & { weight: number; mode: CanaryMode }) | null;
}

export const DEPLOYMENTS_CHANNEL = 'perennial_deployments';

/** 0-99 from the entity key: the same key lands in the same bucket, so it always meets the same version. */
export function trafficBucket(model: string, entityKey: string): number {
  const digest = crypto.createHash('sha1').update(`${model}\0${entityKey}`).digest();
  return digest.readUInt32BE(0) % 100;
}

export interface ModelServerDeps {
  database: Database;
  artifacts: ArtifactStore;
  backend: BackendPreference;
  predictionLog: PredictionLog;
  onPrediction?: (model: string, version: number, role: PredictionRole, count: number) => void;
  log?: (msg: string) => void;
  /** a safety net under NOTIFY: a deployment is read again after this long regardless */
  cacheTtlMs?: number;
}

export function createModelServer(deps: ModelServerDeps) {
  const { db } = deps.database;
  const log = deps.log ?? (() => {});
  const ttl = deps.cacheTtlMs ?? 30_000;
  const bundles = new Map<string, Promise<ServableBundle>>();
  const deployments = new Map<string, { at: number; value: Promise<Deployment | null> }>();
  let unlisten: (() => Promise<void>) | undefined;

  function bundle(artifactKey: string): Promise<ServableBundle> {
    let p = bundles.get(artifactKey);
    if (!p) {
      p = (async () => {
        await loadBackend(deps.backend);
        return servable(await loadBundle((file) => deps.artifacts.getBytes(`${artifactKey}/${file}`)));
      })();
      p.catch(() => bundles.delete(artifactKey)); // a failed load is tried again next time
      bundles.set(artifactKey, p);
    }
    return p;
  }

  async function readDeployment(name: string): Promise<Deployment | null> {
    const prod = alias(modelVersions, 'prod');
    const canary = alias(modelVersions, 'canary');
    const [row] = await db.select({
      model: models, prodKey: prod.artifactKey, canaryKey: canary.artifactKey,
    }).from(models)
      .leftJoin(prod, and(eq(prod.modelName, models.name), eq(prod.version, models.productionVersion)))
      .leftJoin(canary, and(eq(canary.modelName, models.name), eq(canary.version, models.canaryVersion)))
      .where(eq(models.name, name));
    if (!row) return null;
    const m = row.model;
    return {
      name,
      production: m.productionVersion !== null && row.prodKey ? { version: m.productionVersion, artifactKey: row.prodKey } : null,
      canary: m.canaryVersion !== null && row.canaryKey
        ? { version: m.canaryVersion, artifactKey: row.canaryKey, weight: m.canaryWeight, mode: m.canaryMode }
        : null,
    };
  }

  /** the last deployment read for each model: served on when the database cannot be reached */
  const lastKnown = new Map<string, Deployment | null>();
  function deployment(name: string): Promise<Deployment | null> {
    const cached = deployments.get(name);
    if (cached && Date.now() - cached.at < ttl) return cached.value;
    const value = readDeployment(name).then((d) => {
      lastKnown.set(name, d);
      return d;
    }, (err) => {
      deployments.delete(name);
      if (!lastKnown.has(name)) throw err;
      log(`serving: could not re-read ${name}'s deployment (${(err as Error).message.split('\n')[0]}); serving the last one read`);
      return lastKnown.get(name)!;
    });
    deployments.set(name, { at: Date.now(), value });
    return value;
  }

  /**
   * A deployment changed: read it again and load its versions, then switch to it, so no request
   * pays for a cold load. Until then requests follow the deployment as it was.
   */
  const generation = new Map<string, number>();
  async function refresh(name: string) {
    const mine = (generation.get(name) ?? 0) + 1;
    generation.set(name, mine);
    try {
      const d = await readDeployment(name);
      await Promise.all([d?.production, d?.canary].filter((v): v is ServedVersion => !!v).map((v) => bundle(v.artifactKey)));
      // two changes in quick succession: the later one wins, however the reads interleave
      if (generation.get(name) === mine) {
        lastKnown.set(name, d);
        deployments.set(name, { at: Date.now(), value: Promise.resolve(d) });
      }
    } catch (err) {
      deployments.delete(name); // read afresh by the next request
      log(`serving: could not warm ${name}: ${(err as Error).message}`);
    }
  }

  function answer(model: string, role: PredictionRole, target: ServedVersion, b: ServableBundle, instances: Record<string, unknown>[], ctx: {
    at: Date; entityKey: string | null; shadowOf?: string[];
  }): { errors: InstanceError[] } | { predictions: Prediction[]; ids: string[] } {
    const started = performance.now();
    const result = predictInstances(b, instances);
    if (!('predictions' in result)) return { errors: result.errors };
    const latencyMs = performance.now() - started;
    const ids = instances.map(() => crypto.randomUUID());
    const { predictions } = result;
    deps.predictionLog.record(predictions.map((p, i): PredictionRow => ({
      id: ids[i], modelName: model, version: target.version, role, shadowOf: ctx.shadowOf?.[i] ?? null, entityKey: ctx.entityKey,
      features: instances[i], output: p, label: 'label' in p ? p.label : null, value: 'value' in p ? p.value : null,
      latencyMs, createdAt: ctx.at,
    })));
    deps.onPrediction?.(model, target.version, role, instances.length);
    return { predictions, ids };
  }

  /** the canary could not answer: logged as its error, and production answers instead */
  function logFailure(model: string, role: PredictionRole, target: ServedVersion, instances: Record<string, unknown>[], err: unknown, ctx: { at: Date; entityKey: string | null; shadowOf?: string[] }) {
    const message = (err as Error)?.message ?? String(err);
    deps.predictionLog.record(instances.map((features, i): PredictionRow => ({
      id: crypto.randomUUID(), modelName: model, version: target.version, role, shadowOf: ctx.shadowOf?.[i] ?? null, entityKey: ctx.entityKey,
      features, output: null, error: message.slice(0, 500), latencyMs: 0, createdAt: ctx.at,
    })));
    log(`serving: ${model} v${target.version} (${role}) failed: ${message}`);
  }

  const invalid = (errors: { instance: number; message: string }[]) =>
    new ApiError(422, 'invalid_instance', errors.slice(0, 5).map((e) => `instance ${e.instance}: ${e.message}`).join('; '), errors);

  return {
    /** listens for deployment changes and warms every deployed version */
    async start() {
      unlisten = await deps.database.listen(DEPLOYMENTS_CHANNEL, (name) => { void refresh(name); }, () => deployments.clear());
      const names = await db.select({ name: models.name }).from(models);
      await Promise.all(names.map((n) => refresh(n.name)));
    },

    async predict(name: string, instances: Record<string, unknown>[], opts: { entityKey?: string } = {}):
    Promise<{ predictions: Prediction[]; modelVersion: number; predictionIds: string[] }> {
      const d = await deployment(name);
      if (!d) throw notFound(`Model ${name}`);
      if (!d.production) throw conflict(`Model ${name} has no version in production yet.`);
      const { canary } = d;
      const inCanary = !!canary && canary.weight > 0
        && (opts.entityKey !== undefined ? trafficBucket(name, opts.entityKey) : Math.random() * 100) < canary.weight;
      const ctx = { at: new Date(), entityKey: opts.entityKey ?? null };

      if (inCanary && canary.mode === 'split') {
        try {
          const result = answer(name, 'canary', canary, await bundle(canary.artifactKey), instances, ctx);
          if ('ids' in result) return { predictions: result.predictions, modelVersion: canary.version, predictionIds: result.ids };
          throw invalid(result.errors);
        } catch (err) {
          if (err instanceof ApiError) throw err;
          logFailure(name, 'canary', canary, instances, err, ctx);
        }
      }
      const result = answer(name, 'production', d.production, await bundle(d.production.artifactKey), instances, ctx);
      if (!('ids' in result)) throw invalid(result.errors);
      if (inCanary && canary.mode === 'shadow') {
        // the candidate sees the same request after the answer has gone; its answer is only logged
        setImmediate(() => {
          const shadowCtx = { ...ctx, shadowOf: result.ids };
          bundle(canary.artifactKey)
            .then((b) => answer(name, 'shadow', canary, b, instances, shadowCtx))
            .catch((err) => logFailure(name, 'shadow', canary, instances, err, shadowCtx));
        });
      }
      return { predictions: result.predictions, modelVersion: d.production.version, predictionIds: result.ids };
    },

    async close() {
      await unlisten?.().catch(() => {});
      await deps.predictionLog.close();
    },
  };
}
export type ModelServer = ReturnType<typeof createModelServer>;
