/**
 * trainingPipeline: one model's way from raw data to production.
 *
 *   ingest -> validate -> train -> evaluate -> (quality gates) -> approval -> servability -> (canary) -> promote
 *
 * Bad data, failed gates, a refusal, a model that does not serve as it evaluated, and a canary that
 * does worse than production end the run as `rejected` with the reason, never as a crash.
 * The run waits for a person durably, for days if need be; a timeout rejects. Every decision is audited.
 */
import {
  ActivityFailure, ApplicationFailure, CancellationScope, condition, executeChild, isCancellation, patched, proxyActivities, setHandler,
  upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { OrchestrationActivities, TrainingActivities } from '../activities';
import type { Principal, TrainResult, TrialResult } from '../activities/types';
import { canaryRollout } from './canary';
import { msOf } from './durations';
import { inPool, trialParams } from './tuning';

type TrainOutcome =
  | TrainResult
  | (TrainResult & { trials: TrialResult[]; bestTrial: number })
  | { artifactKey: string; backend: string; cachedFrom: { version: number; pipelineId: string } };
const isTuned = (t: TrainOutcome): t is TrainResult & { trials: TrialResult[]; bestTrial: number } => 'trials' in t;
import {
  approveUpdate, DecisionRefusal, mayDecide, ModelNameKey, PipelineStageKey, rejectUpdate, statusQuery, type DecisionInput,
} from './definitions';
import { checkGates } from './gates';
import {
  initialStatus, type PipelineInput, type PipelineStatus, type PipelineStatusName, type RejectionReason, type StageName,
} from './status';

const nonRetryableData = ['DatasetError'];

export async function trainingPipeline(input: PipelineInput): Promise<PipelineStatus> {
  const { workflowId: id, runId } = workflowInfo();
  const { spec } = input;
  const data = proxyActivities<OrchestrationActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: nonRetryableData },
  });
  // a source that is down gets a few tries; bad data gets none
  const ingest = proxyActivities<OrchestrationActivities>({
    startToCloseTimeout: '2 hours',
    retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: nonRetryableData },
  });
  const training = proxyActivities<TrainingActivities>({
    taskQueue: input.trainingTaskQueue ?? 'perennial-training',
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: input.trainingHeartbeatTimeout ?? '2 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: nonRetryableData },
  });

  const status = initialStatus(id, runId, input, new Date());
  let decision: (DecisionInput & { verdict: 'approved' | 'rejected' }) | undefined;
  let decisionRecorded = false;

  setHandler(statusQuery, () => status);
  const decide = (verdict: 'approved' | 'rejected') => async (d: DecisionInput) => {
    decision = { ...d, verdict };
    await condition(() => decisionRecorded);
    return status;
  };
  const validateDecision = (d: DecisionInput) => {
    if (status.status !== 'awaiting_approval' || decision) {
      throw ApplicationFailure.nonRetryable(`Pipeline ${id} is not awaiting approval (status: ${status.status}, stage: ${status.stage}).`, DecisionRefusal.notAwaiting);
    }
    if (!mayDecide(d.by)) {
      throw ApplicationFailure.nonRetryable(`Role ${d.by.role} may not decide on promotions; approver is needed.`, DecisionRefusal.forbidden);
    }
    if (input.requestedBy && d.by.keyId === input.requestedBy.keyId) {
      throw ApplicationFailure.nonRetryable('Four-eyes rule: the key that started a pipeline may not decide on it.', DecisionRefusal.fourEyes);
    }
  };
  setHandler(approveUpdate, decide('approved'), { validator: validateDecision });
  setHandler(rejectUpdate, decide('rejected'), { validator: validateDecision });

  upsertSearchAttributes([{ key: ModelNameKey, value: spec.model }]);

  async function stage<T>(name: StageName, work: () => Promise<T>): Promise<T> {
    status.stage = name;
    const record = { name, status: 'running' as const, startedAt: new Date().toISOString(), endedAt: null as string | null };
    status.stages.push(record);
    upsertSearchAttributes([{ key: PipelineStageKey, value: name }]);
    try {
      const result = await work();
      Object.assign(record, { status: 'completed', endedAt: new Date().toISOString() });
      return result;
    } catch (err) {
      Object.assign(record, { status: 'failed', endedAt: new Date().toISOString() });
      throw err;
    }
  }

  async function finish(outcome: PipelineStatusName, reason: RejectionReason | null = null): Promise<PipelineStatus> {
    status.status = outcome;
    status.reason = reason;
    if (outcome === 'completed') status.stage = 'done';
    status.endedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: PipelineStageKey, value: outcome === 'completed' ? 'done' : status.stage }]);
    await data.recordPipelineOutcome({ pipelineId: id, status: outcome, reason: reason ?? undefined, outcome: status });
    return status;
  }

  try {
    await data.recordPipelineStart({ pipelineId: id, runId, model: spec.model, startedBy: input.requestedBy?.keyId, request: spec });

    const dataset = await stage('ingest', () => ingest.ingestDataset(spec.dataset));
    status.dataset = { hash: dataset.hash, rows: dataset.rows, deduplicated: dataset.deduplicated };

    const report = await stage('validate', () =>
      data.validateDataset({ model: spec.model, dataset, target: spec.target, features: spec.features, task: spec.task, options: spec.validation }));
    status.validation = { passed: report.passed, anomalies: report.anomalies, reference: report.reference };
    status.task = report.task;
    if (!report.passed) return await finish('rejected', 'validation');

    const { cache, ...trainingParams } = spec.training;
    const trained = await stage('train', async (): Promise<TrainOutcome> => {
      // the same data, parameters and code as an earlier run: reuse its model (versioned change)
      if (patched('reuse-trained-models') && cache !== false && !spec.tuning) {
        const hit = await data.findCachedModel({
          model: spec.model, datasetHash: dataset.hash, target: spec.target, features: report.features.map((f) => f.name), params: trainingParams,
        });
        if (hit) return { artifactKey: hit.artifactKey, backend: hit.backend, cachedFrom: { version: hit.version, pipelineId: hit.pipelineId } };
      }
      if (spec.tuning) return tune(spec.tuning);
      return training.trainModel({
        pipelineId: id, model: spec.model, dataset, target: spec.target, task: report.task, features: report.features, params: spec.training,
      });
    });

    /** every trial a durable training activity of its own (a killed trial retries alone); the best one wins */
    async function tune(tuning: NonNullable<typeof spec.tuning>): Promise<TrainResult & { trials: TrialResult[]; bestTrial: number }> {
      const candidates = trialParams(tuning, spec.training.seed);
      const results = await inPool(candidates, tuning.parallelism, (params, i) => training.trainModel({
        pipelineId: `${id}/trial-${i + 1}`, model: spec.model, dataset, target: spec.target, task: report.task, features: report.features,
        params: { ...spec.training, ...params },
      }));
      const trials: TrialResult[] = results.map((r, i) => ({
        trial: i + 1, params: candidates[i], valLoss: r.finalValLoss, loss: r.finalLoss, epochs: r.epochs, artifactKey: r.artifactKey,
      }));
      const score = (t: TrialResult) => (tuning.metric === 'loss' ? t.loss : t.valLoss ?? t.loss);
      const best = trials.reduce((a, b) => (score(b) < score(a) ? b : a));
      return { ...results[best.trial - 1], trials, bestTrial: best.trial };
    }
    status.training = 'cachedFrom' in trained
      ? { epoch: 0, epochs: spec.training.epochs, loss: null, backend: trained.backend, trainSeconds: 0, cached: true, cachedFrom: trained.cachedFrom }
      : {
        epoch: trained.epochs, epochs: spec.training.epochs, loss: trained.finalLoss, valLoss: trained.finalValLoss,
        backend: trained.backend, device: trained.device, trainSeconds: trained.trainSeconds, resumedFromEpoch: trained.resumedFromEpoch, cached: false,
        ...(isTuned(trained) ? { trials: trained.trials.map(({ artifactKey: _a, ...t }) => t), bestTrial: trained.bestTrial } : {}),
      };
    const bestParams = isTuned(trained) ? trained.trials[trained.bestTrial - 1].params : {};

    let championVersion: number | undefined;
    const evaluation = await stage('evaluate', async () => {
      const champion = await data.getProductionModel(spec.model);
      championVersion = champion?.version;
      return training.evaluateModel({
        dataset, target: spec.target, params: spec.training, evaluation: spec.evaluation,
        candidateArtifactKey: trained.artifactKey, championArtifactKey: champion?.artifactKey,
      });
    });
    status.metrics = evaluation.metrics;
    status.championMetrics = evaluation.championMetrics ?? null;

    const { version } = await data.registerCandidate({
      pipelineId: id, runId, model: spec.model, task: report.task, datasetHash: dataset.hash, target: spec.target,
      features: report.features.map((f) => f.name), params: { ...trainingParams, ...bestParams }, metrics: evaluation.metrics,
      artifactKey: trained.artifactKey, backend: trained.backend, intendedUse: spec.intendedUse,
      evaluation: {
        rows: evaluation.rows, primaryMetric: evaluation.primaryMetric, perClass: evaluation.perClass,
        confusionMatrix: evaluation.confusionMatrix, championMetrics: evaluation.championMetrics ?? null, championVersion: championVersion ?? null,
        slices: evaluation.slices, importance: evaluation.importance, fairness: evaluation.fairness,
      },
      training: { ...status.training },
    });
    status.modelVersion = version;

    status.gates = checkGates(spec.gates, evaluation);
    if (!status.gates.passed) {
      await data.rejectVersion({ pipelineId: id, model: spec.model, version, reason: 'gates', details: status.gates });
      return await finish('rejected', 'gates');
    }

    let approver: Principal | undefined;
    if (spec.approval.required) {
      const outcome = await stage('approval', async () => {
        status.status = 'awaiting_approval';
        status.approval.deadline = new Date(Date.now() + msOf(spec.approval.timeout)).toISOString();
        const decided = await condition(() => decision !== undefined, spec.approval.timeout);
        status.status = 'running';
        const at = new Date().toISOString();
        const verdict = decided ? decision!.verdict : 'timed_out';
        await data.recordDecision({
          pipelineId: id, model: spec.model, version, decision: verdict, by: decision?.by, comment: decision?.comment, at,
        });
        Object.assign(status.approval, { decision: verdict, by: decision?.by.name ?? null, at, comment: decision?.comment ?? null });
        decisionRecorded = true;
        return verdict;
      });
      if (outcome === 'timed_out') return await finish('rejected', 'approval_timeout');
      if (outcome === 'rejected') return await finish('rejected', 'approval');
      approver = decision!.by;
    }

    // before any traffic: the version loads through the serving code path and answers as it evaluated
    if (patched('servability-check')) {
      const check = await stage('servability', () => training.checkServability({ artifactKey: trained.artifactKey, sample: evaluation.servingSample }));
      status.servability = check;
      if (!check.servable) {
        await data.rejectVersion({ pipelineId: id, model: spec.model, version, reason: 'servability', details: check });
        return await finish('rejected', 'servability');
      }
    }

    // live traffic in steps, judged against production; the first version has nothing to be judged against
    if (spec.canary && patched('canary-rollout')) {
      const production = await data.getProductionModel(spec.model);
      if (production) {
        const canary = await stage('canary', () => executeChild(canaryRollout, {
          workflowId: `canary-${spec.model}-v${version}`,
          args: [{ pipelineId: id, model: spec.model, version, task: report.task, spec: spec.canary! }],
        }));
        status.canary = canary;
        if (canary.outcome === 'rolled_back') return await finish('rejected', 'canary');
      } else {
        status.canary = { skipped: 'no version in production to compare with: promoted directly' };
      }
    }

    await stage('promote', () => data.promoteVersion({
      pipelineId: id, model: spec.model, version, actor: approver ? `${approver.name} (${approver.keyId})` : 'system:auto-approval',
    }));
    return await finish('completed');
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finish('cancelled'));
      throw err;
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === 'DatasetError') {
      // the data cannot be read or used: a validation outcome, not a crash
      status.validation = { passed: false, anomalies: [{ kind: 'unreadable', severity: 'error', message: cause.message }] };
      return await finish('rejected', 'validation');
    }
    status.error = cause instanceof Error ? cause.message : String(cause);
    await finish('failed');
    throw err;
  }
}
