/**
 * Serving: each model's deployment (production, and a canary with its weight and mode) is kept in
 * memory and refreshed the moment it changes (NOTIFY perennial_deployments), so a request reads no
 * database. Only models that exist are kept; a name that does not exist is remembered briefly, in a
 * bounded set. Bundles are loaded once per version, warmed when a version is deployed, and disposed
 * once no deployment has used them for a while. Every answer goes to the prediction log, off the
 * request path.
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
import { ModelName } from '../common/pipeline-request';
import { predictInstances, servable, type InstanceErrors, type Prediction, type ServableBundle } from '../ml/serving';
import { ApiError, conflict, notFound } from './errors';
import { createExpiringSet } from './expiring-set';
import { predictionId, type PredictionLog, type PredictionRow } from './prediction-log';


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
  /** how long a name that is not a model is answered 404 without reading the database (default 5 s) */
  missingCacheMs?: number;
  /** how many such names are remembered (default 1,000; the oldest are forgotten first) */
  missingCacheSize?: number;
  /** how long a bundle no deployment uses is kept before it is disposed (default 5 min) */
  bundleGraceMs?: number;
  /** instances × the network's weights one request may cost (default 2e9 multiply-adds) */
  maxCostPerRequest?: number;
}

export const DEFAULT_MAX_COST_PER_REQUEST = 2e9;

/** Who asked and how to route: the entity key steers the split, the owner may label the answers later. */
export interface PredictOptions { entityKey?: string; requestedBy?: string }

interface AnswerContext { at: Date; entityKey: string | null; requestedBy: string | null; shadowOf?: string[] }
/** `outputs`: each prediction as JSON text, written once for both the answer and the log */
type Answer = { predictions: Prediction[]; ids: string[]; outputs: string[] } | { refused: ApiError };
/** what a request was answered with, the predictions' JSON text included */
interface Served { predictions: Prediction[]; modelVersion: number; predictionIds: string[]; outputs: string[] }

/** The 422 for instances a model refuses: the first errors, how many there were, and the features it knows, once. */
function invalidInstances(result: InstanceErrors, b: ServableBundle): ApiError {
  const shown = result.errors.slice(0, 5).map((e) => `instance ${e.instance}: ${e.message}`).join('; ');
  const more = result.total > 5 ? ` (and ${result.total - 5} more)` : '';
  return new ApiError(422, 'invalid_instance', `${shown}${more}`, {
    errors: result.errors, total: result.total, knownFeatures: b.meta.features.map((f) => f.name),
  });
}

const invalidName = () => new ApiError(400, 'invalid_request',
  'A model name is 1 to 63 letters, digits, "_", "." or "-", starting with a letter or a digit.');

export function createModelServer(deps: ModelServerDeps) {
  const { db } = deps.database;
  const log = deps.log ?? (() => {});
  const ttl = deps.cacheTtlMs ?? 30_000;
  const bundleGraceMs = deps.bundleGraceMs ?? 5 * 60_000;
  const maxCost = deps.maxCostPerRequest ?? DEFAULT_MAX_COST_PER_REQUEST;
  /** `loaded`: the bundle once its load finished, so a request for a warm version awaits nothing */
  const bundles = new Map<string, { value: Promise<ServableBundle>; loaded?: ServableBundle; unusedSince: number | null }>();
  /** models that exist, as last read */
  const deployments = new Map<string, { at: number; value: Deployment }>();
  /** the last deployment read for each model: served on when the database cannot be reached */
  const lastKnown = new Map<string, Deployment>();
  const missing = createExpiringSet({ maxSize: deps.missingCacheSize ?? 1_000, ttlMs: deps.missingCacheMs ?? 5_000 });
  /** reads under way, one per name: a burst of requests for one name costs one read */
  const reads = new Map<string, Promise<Deployment | null>>();
  /** bumped by every change announced for a model: a read that started before it must not overwrite it */
  const generation = new Map<string, number>();
  let unlisten: (() => Promise<void>) | undefined;

  function bundle(artifactKey: string): Promise<ServableBundle> {
    const entry = bundles.get(artifactKey);
    if (entry) return entry.value;
    const value = (async () => {
      await loadBackend(deps.backend);
      return servable(await loadBundle((file) => deps.artifacts.getBytes(`${artifactKey}/${file}`)));
    })();
    const created = { value, loaded: undefined as ServableBundle | undefined, unusedSince: null };
    value.then((b) => { created.loaded = b; }, () => bundles.delete(artifactKey)); // a failed load is tried again next time
    bundles.set(artifactKey, created);
    return value;
  }
  /** the bundle itself when it is loaded, else the promise of it */
  const bundleNow = (artifactKey: string): ServableBundle | Promise<ServableBundle> => bundles.get(artifactKey)?.loaded ?? bundle(artifactKey);

  /** disposes the bundles no deployment has used for the grace period; the count disposed */
  function disposeUnusedBundles(now = Date.now()): number {
    const used = new Set<string>();
    for (const d of lastKnown.values()) for (const v of [d.production, d.canary]) if (v) used.add(v.artifactKey);
    let disposed = 0;
    for (const [key, entry] of bundles) {
      if (used.has(key)) { entry.unusedSince = null; continue; }
      entry.unusedSince ??= now;
      if (now - entry.unusedSince < bundleGraceMs) continue;
      bundles.delete(key);
      disposed++;
      entry.value.then((b) => b.model.dispose(), () => {});
    }
    return disposed;
  }
  const sweeper = setInterval(() => disposeUnusedBundles(), Math.max(1_000, Math.min(bundleGraceMs, 60_000)));
  sweeper.unref();

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

  /** keeps what a read found: the deployment of a model that exists, or the name as missing for a while */
  function remember(name: string, d: Deployment | null) {
    if (d) {
      lastKnown.set(name, d);
      deployments.set(name, { at: Date.now(), value: d });
      missing.delete(name);
    } else {
      lastKnown.delete(name);
      deployments.delete(name);
      missing.add(name);
    }
  }

  /** the deployment as cached (a promise only when it must be read) */
  function deployment(name: string): Deployment | null | Promise<Deployment | null> {
    const cached = deployments.get(name);
    if (cached && Date.now() - cached.at < ttl) return cached.value;
    if (!cached && missing.has(name)) return null;
    let read = reads.get(name);
    if (read) return read;
    const startedAt = generation.get(name) ?? 0;
    read = readDeployment(name).then((d) => {
      if ((generation.get(name) ?? 0) === startedAt) remember(name, d);
      return d;
    }, (err) => {
      const last = lastKnown.get(name);
      if (!last) throw err;
      log(`serving: could not re-read ${name}'s deployment (${(err as Error).message.split('\n')[0]}); serving the last one read`);
      return last;
    }).finally(() => reads.delete(name));
    reads.set(name, read);
    return read;
  }

  /**
   * A deployment changed: read it again and load its versions, then switch to it, so no request
   * pays for a cold load. Until then requests follow the deployment as it was. Resolves once this
   * change, or a later one, is what this replica serves.
   */
  const latestRefresh = new Map<string, Promise<void>>();
  function refresh(name: string): Promise<void> {
    const mine = (generation.get(name) ?? 0) + 1;
    generation.set(name, mine);
    const done = (async () => {
      try {
        const d = await readDeployment(name);
        await Promise.all([d?.production, d?.canary].filter((v): v is ServedVersion => !!v).map((v) => bundle(v.artifactKey)));
        // two changes in quick succession: the later one wins, however the reads interleave
        if (generation.get(name) === mine) remember(name, d);
      } catch (err) {
        if (generation.get(name) === mine) deployments.delete(name); // read afresh by the next request
        log(`serving: could not warm ${name}: ${(err as Error).message}`);
      }
      if (generation.get(name) !== mine) await latestRefresh.get(name);
    })();
    latestRefresh.set(name, done);
    void done.finally(() => { if (latestRefresh.get(name) === done) latestRefresh.delete(name); });
    return done;
  }

  function answer(model: string, role: PredictionRole, target: ServedVersion, b: ServableBundle, instances: unknown[], ctx: AnswerContext): Answer {
    const weights = b.weights ?? 0;
    if (instances.length * weights > maxCost) {
      return { refused: new ApiError(413, 'too_costly',
        `Version ${target.version} of ${model} answers at most ${Math.max(1, Math.floor(maxCost / weights))} instances a request `
        + `(${weights} weights each; the limit is ${maxCost} multiply-adds a request).`) };
    }
    const started = performance.now();
    const result = predictInstances(b, instances);
    if (!result.predictions) return { refused: invalidInstances(result, b) };
    // per instance, so one large request weighs in the latency percentiles as much as its instances, no more
    const latencyMs = (performance.now() - started) / instances.length;
    const { predictions } = result;
    const n = predictions.length;
    const ids = new Array<string>(n);
    const outputs = new Array<string>(n);
    const rows = new Array<PredictionRow>(n);
    for (let i = 0; i < n; i++) {
      const p = predictions[i];
      ids[i] = predictionId();
      outputs[i] = JSON.stringify(p);
      rows[i] = {
        id: ids[i], modelName: model, version: target.version, role, shadowOf: ctx.shadowOf?.[i] ?? null, entityKey: ctx.entityKey,
        requestedBy: ctx.requestedBy, features: instances[i] as Record<string, unknown>, output: p,
        label: 'label' in p ? p.label : null, value: 'value' in p ? p.value : null, latencyMs, createdAt: ctx.at,
      };
    }
    deps.predictionLog.record(rows, outputs);
    deps.onPrediction?.(model, target.version, role, instances.length);
    return { predictions, ids, outputs };
  }

  /** production's answer, or its refusal thrown (the caller's instances were at fault) */
  function answerOrThrow(model: string, production: ServedVersion, b: ServableBundle, instances: unknown[], ctx: AnswerContext) {
    const result = answer(model, 'production', production, b, instances, ctx);
    if ('refused' in result) throw result.refused;
    return result;
  }

  /**
   * The candidate could not answer instances production answered: one error row each, so the
   * refusal counts against it. Only called after production accepted the instances, so what is
   * logged has passed production's checks.
   */
  function logFailure(model: string, role: PredictionRole, target: ServedVersion, instances: unknown[], why: string, ctx: AnswerContext) {
    deps.predictionLog.record(instances.map((features, i): PredictionRow => ({
      id: predictionId(), modelName: model, version: target.version, role, shadowOf: ctx.shadowOf?.[i] ?? null, entityKey: ctx.entityKey,
      requestedBy: ctx.requestedBy, features: features as Record<string, unknown>, output: null, error: why.slice(0, 500), latencyMs: 0, createdAt: ctx.at,
    })));
  }

  const refusal = (err: ApiError) => `refused (${err.status} ${err.code}): ${err.message}`;
  const failure = (model: string, role: PredictionRole, target: ServedVersion, err: unknown) => {
    const message = (err as Error)?.message ?? String(err);
    log(`serving: ${model} v${target.version} (${role}) failed: ${message.split('\n')[0]}`);
    return message;
  };

  const served = (result: { predictions: Prediction[]; ids: string[]; outputs: string[] }, by: ServedVersion): Served => (
    { predictions: result.predictions, modelVersion: by.version, predictionIds: result.ids, outputs: result.outputs });

  async function serve(name: string, instances: unknown[], opts: PredictOptions): Promise<Served> {
    if (!deployments.has(name) && !ModelName.safeParse(name).success) throw invalidName();
    const found = deployment(name);
    const d = found instanceof Promise ? await found : found;
    if (!d) throw notFound(`Model ${name}`);
    if (!d.production) throw conflict(`Model ${name} has no version in production yet.`);
    const production = d.production;
    const { canary } = d;
    const inCanary = !!canary && canary.weight > 0
      && (opts.entityKey !== undefined ? trafficBucket(name, opts.entityKey) : Math.random() * 100) < canary.weight;
    const ctx: AnswerContext = { at: new Date(), entityKey: opts.entityKey ?? null, requestedBy: opts.requestedBy ?? null };

    if (inCanary && canary.mode === 'split') {
      let canaryFailed: string;
      try {
        const b = bundleNow(canary.artifactKey);
        const result = answer(name, 'canary', canary, b instanceof Promise ? await b : b, instances, ctx);
        if (!('refused' in result)) return served(result, canary);
        canaryFailed = refusal(result.refused);
      } catch (err) {
        canaryFailed = failure(name, 'canary', canary, err);
      }
      // production answers what the canary could not; when production refuses too, the instances were the caller's fault
      const b = bundleNow(production.artifactKey);
      const result = answerOrThrow(name, production, b instanceof Promise ? await b : b, instances, ctx);
      logFailure(name, 'canary', canary, instances, canaryFailed, ctx);
      return served(result, production);
    }
    const b = bundleNow(production.artifactKey);
    const result = answerOrThrow(name, production, b instanceof Promise ? await b : b, instances, ctx);
    if (inCanary && canary.mode === 'shadow') {
      // the candidate sees the same request after the answer has gone; its answer, or its refusal, is only logged
      setImmediate(() => {
        const shadowCtx = { ...ctx, shadowOf: result.ids };
        bundle(canary.artifactKey)
          .then((b) => {
            const shadow = answer(name, 'shadow', canary, b, instances, shadowCtx);
            if ('refused' in shadow) logFailure(name, 'shadow', canary, instances, refusal(shadow.refused), shadowCtx);
          })
          .catch((err) => logFailure(name, 'shadow', canary, instances, failure(name, 'shadow', canary, err), shadowCtx));
      });
    }
    return served(result, production);
  }

  return {
    /** listens for deployment changes and warms every deployed version */
    async start() {
      unlisten = await deps.database.listen(DEPLOYMENTS_CHANNEL, (name) => { void refresh(name); }, () => { deployments.clear(); missing.clear(); });
      const names = await db.select({ name: models.name }).from(models);
      await Promise.all(names.map((n) => refresh(n.name)));
    },

    /** reads a model's deployment again and warms it; resolves when this replica serves it */
    refresh,
    /** writes the prediction log's buffered rows (feedback looks its ids up after this) */
    flushPredictionLog: () => deps.predictionLog.flush(),
    disposeUnusedBundles,
    /** how many bundles are loaded or loading, and how many names are remembered as missing */
    get cacheSizes() { return { bundles: bundles.size, deployments: deployments.size, missing: missing.size }; },

    /** the answer to a request: production's, or the canary's for its share of traffic */
    async predict(name: string, instances: unknown[], opts: PredictOptions = {}):
    Promise<{ predictions: Prediction[]; modelVersion: number; predictionIds: string[] }> {
      const { predictions, modelVersion, predictionIds } = await serve(name, instances, opts);
      return { predictions, modelVersion, predictionIds };
    },

    /** the same answer as predict's, as the JSON text of the response body (the HTTP fast path sends it as is) */
    async predictJson(name: string, instances: unknown[], opts: PredictOptions = {}): Promise<string> {
      const { outputs, modelVersion, predictionIds } = await serve(name, instances, opts);
      return `{"predictions":[${outputs.join(',')}],"modelVersion":${modelVersion},"predictionIds":${JSON.stringify(predictionIds)}}`;
    },

    async close() {
      clearInterval(sweeper);
      await unlisten?.().catch(() => {});
      await deps.predictionLog.close();
    },
  };
}
export type ModelServer = ReturnType<typeof createModelServer>;
