/**
 * Train and evaluate: the activities of the training task queue (GPU workers in production).
 * They read the dataset from the artifact store and write the model back to it; they need no database.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { availableBackends, loadBackend, withTrainingBackend, type BackendPreference } from '../ml/backend';
import { chooseTrainingBackend } from '../ml/backend-choice';
import { classificationMetrics, regressionMetrics } from '../ml/metrics';
import { buildMlp, compileMlp, fitMlp, loadMlp, predictMlp, saveMlp } from '../ml/mlp';
import {
  encodeTarget, fitPreprocessor, transformFeatures, type Columns,
} from '../ml/preprocess';
import { shuffledIndices } from '../common/random';
import { referenceScoresKey, type ReferenceScores } from '../common/domain';
import type { ArtifactStore } from '../db/artifacts';
import { readModelColumns, readServingRows, sourceSql, withDuckDb } from './duckdb';
import type { ColumnSchema, ServabilityCheck } from '../common/pipeline-status';
import type { DatasetVersion, EvaluationResult, ServingSample } from '../common/domain';
import type { EvaluateInput, TrainInput, TrainProgress, TrainResult } from './types';
import type { ModelTask } from '../common/vocabulary';
import type { TrainingParams } from '../common/pipeline-request';
import { predictInstances, servable } from '../ml/serving';
import { bundleDigest, derivedInputs, loadBundle, type ModelBundleMeta } from '../ml/bundle';
import { fairness } from '../ml/fairness';
import { splitRows } from '../ml/split';
import { ErrorTypes } from '../common/names';

export interface TrainingDeps {
  artifacts: ArtifactStore;
  backend: BackendPreference;
}

type LoadedColumns = { columns: Columns; target: Columns[string]; rows: number };
type ColumnReader = ReturnType<typeof columnReader>;
const CACHED_READS = 2;
const MAX_CACHED_CELLS = 2_000_000;

/**
 * The last few column reads of this worker, by what was read: evaluation reads the columns training has just read,
 * and a worker training many models on one table reads it once. Only reads up to MAX_CACHED_CELLS are kept,
 * frozen, so no activity can change what the next one is given.
 */
export function columnReader(artifacts: ArtifactStore) {
  const recent = new Map<string, Promise<LoadedColumns>>();
  return function loadColumns(dataset: DatasetVersion, features: ColumnSchema[], target: string, task: ModelTask, extra: string[] = []): Promise<LoadedColumns> {
    const key = JSON.stringify([dataset.hash, dataset.format, dataset.readOptions ?? {}, features, target, task, extra]);
    const hit = recent.get(key);
    if (hit) return hit;
    const read = (async () => {
      const file = await artifacts.localPath(dataset.artifactKey);
      const { columns, rows } = await withDuckDb((conn) =>
        readModelColumns(conn, sourceSql(file, dataset.format, dataset.readOptions ?? {}), features, { name: target, numeric: task === 'regression' }, extra));
      return { columns: columns as Columns, target: columns.__target, rows };
    })();
    recent.set(key, read);
    read.then((loaded) => {
      if (loaded.rows * Object.keys(loaded.columns).length > MAX_CACHED_CELLS) { recent.delete(key); return; }
      for (const c of Object.values(loaded.columns)) Object.freeze(c);
      while (recent.size > CACHED_READS) recent.delete(recent.keys().next().value!);
    }, () => recent.delete(key));
    return read;
  };
}

/** how often a training activity says it is alive, whatever it is doing */
const HEARTBEAT_EVERY_MS = 10_000;

export function createTrainingActivities({ artifacts, backend }: TrainingDeps) {
  const loadColumns = columnReader(artifacts);
  /** trains, reporting each epoch's progress (with its checkpoint) to `report` */
  async function train(input: TrainInput, ctx: Context, report: (p: TrainProgress) => void): Promise<TrainResult> {
    const started = Date.now();
    const { params, task } = input;
    const data = await loadColumns(input.dataset, input.features, input.target, task, splitColumns(params));
    const { order } = splitRows(data, params);
    if (order.length < 2) throw ApplicationFailure.nonRetryable(`Too few rows to train on (${order.length}).`, ErrorTypes.dataset);

    const pre = fitPreprocessor(data.columns, derivedInputs(input.features), data.target, task, order);
    const x = transformFeatures(pre, data.columns, order);
    const y = encodeTarget(pre.target, data.target, order);
    const outputSize = task === 'classification' ? pre.target.labels!.length : 1;
    const spec = {
      inputSize: pre.inputSize, hiddenUnits: params.hiddenUnits, outputSize, task, learningRate: params.learningRate, seed: params.seed,
      dropout: params.dropout, l2: params.l2,
    };
    // the backend for this model: forced by PERENNIAL_TF_BACKEND, or chosen from its size
    const choice = backend === 'auto'
      ? chooseTrainingBackend({ ...spec, batchSize: params.batchSize, available: await availableBackends() })
      : { backend, reason: `PERENNIAL_TF_BACKEND=${backend}` };
    ctx.log.info('training backend', { backend: choice.backend, reason: choice.reason });

    return withTrainingBackend(choice.backend, async (info) => {
      // A worker that died mid-run left its last checkpoint in its heartbeat: go on from there.
      const previous = ctx.info.heartbeatDetails as TrainProgress | undefined;
      let model: Awaited<ReturnType<typeof loadMlp>>;
      let resumedFromEpoch = 0;
      if (previous?.checkpointKey && (await artifacts.exists(`${previous.checkpointKey}/model.json`))) {
        model = await loadMlp({
          modelJson: (await artifacts.getBytes(`${previous.checkpointKey}/model.json`)).toString('utf8'),
          weights: new Uint8Array(await artifacts.getBytes(`${previous.checkpointKey}/weights.bin`)),
        });
        compileMlp(model, spec);
        resumedFromEpoch = previous.checkpointEpoch;
        ctx.log.info('resuming training from a checkpoint', { epoch: resumedFromEpoch, checkpoint: previous.checkpointKey });
      } else {
        model = buildMlp(spec);
      }

      const key = `models/${input.model}/${input.pipelineId}`;
      let checkpoint = { key: resumedFromEpoch ? previous!.checkpointKey : null, epoch: resumedFromEpoch };
      const last = await fitMlp(model, x, y, order.length, pre.inputSize, task, {
        epochs: params.epochs,
        initialEpoch: resumedFromEpoch,
        batchSize: params.batchSize,
        validationSplit: params.split?.validationFraction ?? params.validationSplit,
        onEpochEnd: async (epoch, logs) => {
          if (epoch % params.checkpointEvery === 0 && epoch < params.epochs) {
            const saved = await saveMlp(model);
            const checkpointKey = `${key}/checkpoints/epoch-${epoch}`;
            await artifacts.putBytes(`${checkpointKey}/weights.bin`, saved.weights);
            await artifacts.putBytes(`${checkpointKey}/model.json`, saved.modelJson); // written last: its presence means complete
            checkpoint = { key: checkpointKey, epoch };
          }
          const progress: TrainProgress = {
            epoch, epochs: params.epochs, loss: logs.loss, valLoss: logs.valLoss,
            checkpointKey: checkpoint.key, checkpointEpoch: checkpoint.epoch, resumedFromEpoch,
          };
          report(progress);
        },
        shouldStop: () => ctx.cancellationSignal.aborted,
        patience: params.patience,
        classWeight: params.classWeight === 'balanced' && task === 'classification' ? balancedWeights(y, outputSize) : undefined,
      });
      if (ctx.cancellationSignal.aborted) {
        model.dispose();
        throw ctx.cancellationSignal.reason ?? new Error('cancelled');
      }

      const saved = await saveMlp(model);
      model.dispose();
      const meta: ModelBundleMeta = {
        format: 'perennial-mlp-v1', task, target: input.target, features: input.features, preprocessor: pre, params, backend: info.name,
      };
      await artifacts.putBytes(`${key}/model.json`, saved.modelJson);
      await artifacts.putBytes(`${key}/weights.bin`, saved.weights);
      await artifacts.putBytes(`${key}/perennial.json`, JSON.stringify(meta));
      return {
        artifactKey: key,
        backend: info.name,
        device: info.device,
        backendReason: choice.reason,
        epochs: last.epochs,
        trainRows: order.length,
        holdoutRows: data.rows - order.length,
        finalLoss: last.loss,
        finalValLoss: last.valLoss,
        trainSeconds: (Date.now() - started) / 1000,
        resumedFromEpoch,
        stoppedEarly: last.stoppedEarly,
      };
    });
  }

  return {
    /** Fits preprocessing on the training split, trains the MLP, and stores both as one model bundle. */
    async trainModel(input: TrainInput): Promise<TrainResult> {
      const ctx = Context.current();
      // alive while it loads and between epochs too (a first epoch may take minutes): the last progress, checkpoint included
      let progress = ctx.info.heartbeatDetails as TrainProgress | undefined;
      const alive = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
      try {
        return await train(input, ctx, (p) => { progress = p; ctx.heartbeat(p); });
      } finally {
        clearInterval(alive);
      }
    },
    /** Metrics on the held-out rows, for the candidate and, on the same rows, the current production model. */
    async evaluateModel(input: EvaluateInput): Promise<EvaluationResult> {
      await loadBackend(backend);
      const candidate = await evaluateBundle(artifacts, loadColumns, input.candidateArtifactKey, input, true);
      let championMetrics: Record<string, number> | undefined;
      if (input.championArtifactKey) {
        try {
          championMetrics = (await evaluateBundle(artifacts, loadColumns, input.championArtifactKey, input)).metrics;
        } catch (err) {
          // A champion that cannot read this data (its features are gone) cannot be compared; say so in the log.
          Context.current().log.warn('champion could not be evaluated on the new data', { error: (err as Error).message });
        }
      }
      return { ...candidate, championMetrics };
    },

    /**
     * Before a version takes any traffic: load it through the serving code path and send it the
     * held-out rows evaluation answered. A bundle that does not load, or answers differently, is not servable.
     */
    async checkServability(input: {
      artifactKey: string; sample?: ServingSample; sampleKey?: string;
      /** recent requests production answered (activities/servability.ts): the candidate must accept them too */
      productionRequestsKey?: string;
    }): Promise<ServabilityCheck> {
      await loadBackend(backend);
      let bundle: Awaited<ReturnType<typeof loadBundle>>;
      const read = new Map<string, Uint8Array>();
      try {
        bundle = servable(await loadBundle(async (file) => {
          const bytes = await artifacts.getBytes(`${input.artifactKey}/${file}`);
          read.set(file, bytes);
          return bytes;
        }));
      } catch (err) {
        return { servable: false, problem: `the model bundle could not be loaded: ${(err as Error).message.split('\n')[0]}`, instances: 0 };
      }
      // the fingerprint of the bytes judged: a bundle changed after the check is not what was judged
      const bundleSha256 = bundleDigest(read);
      const judged = (check: Omit<ServabilityCheck, 'bundleSha256'>): ServabilityCheck => ({ ...check, bundleSha256 });
      try {
        if (input.productionRequestsKey) {
          // what production answers, the candidate must not refuse: a renamed or dropped feature shows here
          const recent = JSON.parse((await artifacts.getBytes(input.productionRequestsKey)).toString('utf8')) as Record<string, unknown>[];
          const replayed = predictInstances(bundle, recent);
          if (!('outputs' in replayed)) {
            return judged({ servable: false, problem: `the candidate refuses requests production answers (${recent.length} recent ones replayed): ${replayed.errors[0].message}`, instances: recent.length });
          }
        }
        const sample = input.sample ?? (input.sampleKey ? JSON.parse((await artifacts.getBytes(input.sampleKey)).toString('utf8')) as ServingSample : undefined);
        if (!sample?.instances.length) return judged({ servable: true, instances: 0 });
        const answered = predictInstances(bundle, sample.instances);
        if (!('outputs' in answered)) {
          return judged({ servable: false, problem: `the serving path refused the held-out rows: ${answered.errors[0].message}`, instances: sample.instances.length });
        }
        const { outputs } = answered;
        if (outputs.length !== sample.outputs.length) {
          return judged({ servable: false, problem: `the served model gives ${outputs.length} outputs for the held-out rows, evaluation gave ${sample.outputs.length}`, instances: sample.instances.length });
        }
        const worst = sample.outputs.reduce((m, v, i) => Math.max(m, Math.abs(v - outputs[i])), 0);
        if (!(worst <= SERVING_TOLERANCE)) {
          return judged({
            servable: false, instances: sample.instances.length,
            problem: `the served model answers the held-out rows differently from evaluation (largest difference ${Number.isNaN(worst) ? 'NaN' : worst.toPrecision(3)})`,
          });
        }
        return judged({ servable: true, instances: sample.instances.length });
      } finally {
        bundle.model.dispose();
      }
    },
  };
}

const SERVING_SAMPLE_ROWS = 20;
/** held-out rows kept for the monitor's CBPE reference: enough for its calibration and sampling error */
const MAX_REFERENCE_SCORE_ROWS = 100_000;

/** how far the serving path's outputs may be from evaluation's (float32 arithmetic, nothing more) */
const SERVING_TOLERANCE = 1e-4;

const splitColumns = (params: TrainingParams) => (params.split?.by ? [params.split.by] : []);

/** n / (classes * count): rare classes weigh more, so the loss does not ignore them */
function balancedWeights(y: Float32Array, classes: number): Record<number, number> {
  const counts = new Array<number>(classes).fill(0);
  for (const k of y) counts[k]++;
  return Object.fromEntries(counts.map((c, k) => [k, c ? y.length / (classes * c) : 0]));
}

async function evaluateBundle(artifacts: ArtifactStore, loadColumns: ColumnReader, key: string, input: EvaluateInput, deep = false): Promise<EvaluationResult> {
  const { meta, model } = await loadBundle((file) => artifacts.getBytes(`${key}/${file}`));
  try {
    const spec = input.evaluation ?? { slices: [], sensitive: [] };
    const extra = [...new Set([...(deep ? [...spec.slices, ...spec.sensitive] : []), ...splitColumns(input.params)])];
    const missing = extra.filter((c) => !input.dataset.columns.some((d) => d.name === c));
    if (missing.length) throw ApplicationFailure.nonRetryable(`Evaluation columns not in the dataset: ${missing.join(', ')}`, ErrorTypes.dataset);
    const data = await loadColumns(input.dataset, meta.features, input.target, meta.task, extra);
    const { holdout } = splitRows(data, input.params);
    const pre = meta.preprocessor;
    const predict = (columns: Columns, rows: number[]) => predictMlp(model, transformFeatures(pre, columns, rows), rows.length, pre.inputSize);
    const labels = pre.target.labels ?? [];
    const y = meta.task === 'classification' ? encodeTarget(pre.target, data.target, holdout) : null;
    const score = (out: Float32Array, rows: number[], truth: ArrayLike<number> | null): { metrics: Record<string, number> } & Partial<ReturnType<typeof classificationMetrics>> => (meta.task === 'classification'
      ? classificationMetrics(truth!, out, labels.length, labels)
      : { metrics: regressionMetrics(rows.map((r) => Number(data.target[r])), Array.from(out, (v) => v * pre.target.std! + pre.target.mean!)) });

    const out = predict(data.columns, holdout);
    const overall = score(out, holdout, y);
    const primaryMetric = meta.task === 'classification' ? 'accuracy' : 'rmse';
    const result: EvaluationResult = {
      metrics: overall.metrics, primaryMetric, rows: holdout.length,
      ...(overall.confusionMatrix ? { confusionMatrix: overall.confusionMatrix, perClass: overall.perClass } : {}),
    };
    if (!deep) return result;

    // a few held-out rows as a client would send them, with this network's answers on the evaluation path
    const file = await artifacts.localPath(input.dataset.artifactKey);
    const sample = await withDuckDb((conn) => readServingRows(conn, sourceSql(file, input.dataset.format, input.dataset.readOptions ?? {}),
      meta.features, { name: input.target, numeric: meta.task === 'regression' }, holdout.slice(0, SERVING_SAMPLE_ROWS)));
    const sampleRows = sample.instances.map((_, i) => i);
    const servingSample: ServingSample = { instances: sample.instances, outputs: Array.from(predict(sample.columns as Columns, sampleRows)) };
    result.servingSampleKey = `${key}/serving-sample.json`;
    await artifacts.putBytes(result.servingSampleKey, JSON.stringify(servingSample));

    // the held-out answers with their truth: the monitor's reference for prediction drift and for estimating accuracy without labels (CBPE)
    // (regression: its held-out answers, the reference of prediction drift)
    const rows = Math.min(holdout.length, MAX_REFERENCE_SCORE_ROWS);
    const scores: ReferenceScores = y
      ? { labels, truth: Array.from(y.subarray(0, rows)), probabilities: Array.from(out.subarray(0, rows * labels.length)) }
      : { labels: [], truth: [], probabilities: [], values: Array.from(out.subarray(0, rows), (v) => v * pre.target.std! + pre.target.mean!) };
    await artifacts.putBytes(referenceScoresKey(key), JSON.stringify(scores));

    // slices: the same metrics for each value of each slice column
    const groupsOf = (column: string) => {
      const groups = new Map<string, number[]>();
      holdout.forEach((r, i) => {
        const v = String(data.columns[`__extra.${column}`][r] ?? '(missing)');
        const group = groups.get(v);
        if (group) group.push(i);
        else groups.set(v, [i]);
      });
      return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    };
    const pick = (arr: ArrayLike<number>, idx: number[], width = 1) => Float32Array.from(idx.flatMap((i) => Array.from({ length: width }, (_, k) => arr[i * width + k])));
    if (spec.slices.length) {
      result.slices = Object.fromEntries(spec.slices.map((column) => [column, groupsOf(column).map(([value, idx]) => ({
        value, rows: idx.length,
        metrics: score(pick(out, idx, meta.task === 'classification' ? labels.length : 1), idx.map((i) => holdout[i]), y ? pick(y, idx) : null).metrics,
      }))]));
    }

    // fairness: per group, how often the positive class is predicted, and how often it is found when true
    if (spec.sensitive.length && meta.task === 'classification') {
      const positive = spec.positiveClass ?? labels[labels.length - 1];
      const k = labels.indexOf(positive);
      const predicted = Array.from({ length: holdout.length }, (_, i) => {
        let best = 0;
        for (let c = 1; c < labels.length; c++) if (out[i * labels.length + c] > out[i * labels.length + best]) best = c;
        return best;
      });
      result.fairness = Object.fromEntries(spec.sensitive.map((column) => [column, fairness(groupsOf(column), predicted, y!, k, positive)]));
    }

    // permutation importance: shuffle one feature's held-out values (seeded), see how much worse the model does
    const base = overall.metrics[primaryMetric];
    const lowerBetter = primaryMetric === 'rmse';
    result.importance = meta.features.map((f, n) => {
      const inputs = derivedInputs([f]).map((d) => d.name);
      const order = shuffledIndices(holdout.length, input.params.seed + 7 + n);
      const permuted: Columns = { ...data.columns };
      for (const name of inputs) {
        const col = [...data.columns[name]];
        holdout.forEach((r, i) => { col[r] = data.columns[name][holdout[order[i]]]; });
        permuted[name] = col;
      }
      const m = score(predict(permuted, holdout), holdout, y).metrics[primaryMetric];
      return { feature: f.name, importance: lowerBetter ? m - base : base - m };
    }).sort((a, b) => b.importance - a.importance);
    return result;
  } finally {
    model.dispose();
  }
}
