/**
 * The train stage: reuse an earlier run's model for the same data, parameters and code; or run a
 * hyperparameter search, every trial its own durable training activity; or train once.
 */
import { patched } from '@temporalio/workflow';
import type { DatasetVersion, ValidationReport } from '../common/domain';
import type { PipelineSpec, TrainingParams, TuningSpec } from '../common/pipeline-request';
import type { TrainingStatus } from '../common/pipeline-status';
import type { OrchestrationActivities, TrainingActivities } from '../activities';
import type { TrainResult, TrialResult } from '../activities/types';
import { Patches } from './patches';
import { mapBounded } from '../common/map-bounded';
import { trialParams } from './tuning';

type Tuned = TrainResult & { trials: TrialResult[]; bestTrial: number };
type Reused = { artifactKey: string; backend: string; cachedFrom: { version: number; pipelineId: string } };
export type TrainOutcome = TrainResult | Tuned | Reused;

export interface TrainStageContext {
  pipelineId: string;
  spec: PipelineSpec;
  dataset: DatasetVersion;
  report: ValidationReport;
  records: Pick<OrchestrationActivities, 'findCachedModel'>;
  training: Pick<TrainingActivities, 'trainModel'>;
}

const isTuned = (t: TrainOutcome): t is Tuned => 'trials' in t;

/** the training parameters the cache compares: all but the switch that turns the cache off */
export function cacheKeyParams(params: TrainingParams): Omit<TrainingParams, 'cache'> {
  const { cache: _cache, ...rest } = params;
  return rest;
}

export async function trainOrReuse(ctx: TrainStageContext): Promise<TrainOutcome> {
  const { spec, dataset, report } = ctx;
  if (patched(Patches.reuseTrainedModels) && spec.training.cache !== false && !spec.tuning) {
    const hit = await ctx.records.findCachedModel({
      model: spec.model, datasetHash: dataset.hash, target: spec.target, features: report.features.map((f) => f.name), params: cacheKeyParams(spec.training),
    });
    if (hit) return { artifactKey: hit.artifactKey, backend: hit.backend, cachedFrom: { version: hit.version, pipelineId: hit.pipelineId } };
  }
  const train = (pipelineId: string, params: TrainingParams) => ctx.training.trainModel({
    pipelineId, model: spec.model, dataset, target: spec.target, task: report.task, features: report.features, params,
  });
  if (spec.tuning) return tune(spec.tuning, spec.training, (params, i) => train(`${ctx.pipelineId}/trial-${i + 1}`, params));
  return train(ctx.pipelineId, spec.training);
}

/** every trial a durable training activity of its own (a killed trial retries alone); the best one wins */
async function tune(tuning: TuningSpec, base: TrainingParams, train: (p: TrainingParams, i: number) => Promise<TrainResult>): Promise<Tuned> {
  const candidates = trialParams(tuning, base.seed);
  const results = await mapBounded(candidates, tuning.parallelism, (params, i) => train({ ...base, ...params }, i));
  const trials: TrialResult[] = results.map((r, i) => ({
    trial: i + 1, params: candidates[i], valLoss: r.finalValLoss, loss: r.finalLoss, epochs: r.epochs, artifactKey: r.artifactKey,
  }));
  const score = (t: TrialResult) => (tuning.metric === 'loss' ? t.loss : t.valLoss ?? t.loss);
  const best = trials.reduce((a, b) => (score(b) < score(a) ? b : a));
  return { ...results[best.trial - 1], trials, bestTrial: best.trial };
}

/** what the pipeline's status shows of the train stage */
export function trainingStatus(trained: TrainOutcome, epochs: number): TrainingStatus {
  if ('cachedFrom' in trained) {
    return { epoch: 0, epochs, loss: null, backend: trained.backend, trainSeconds: 0, cached: true, cachedFrom: trained.cachedFrom };
  }
  return {
    epoch: trained.epochs, epochs, loss: trained.finalLoss, valLoss: trained.finalValLoss,
    backend: trained.backend, device: trained.device, backendReason: trained.backendReason, trainSeconds: trained.trainSeconds, resumedFromEpoch: trained.resumedFromEpoch, cached: false,
    ...(isTuned(trained) ? { trials: trained.trials.map(({ artifactKey: _a, ...t }) => t), bestTrial: trained.bestTrial } : {}),
  };
}

/** the parameters the registered version was trained with: the request's, and the winning trial's */
export function trainedParams(spec: PipelineSpec, trained: TrainOutcome): Record<string, unknown> {
  return { ...cacheKeyParams(spec.training), ...(isTuned(trained) ? trained.trials[trained.bestTrial - 1].params : {}) };
}
