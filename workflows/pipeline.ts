/**
 * trainingPipeline: one model's way from raw data to production.
 *
 *   ingest -> validate -> train -> evaluate -> (quality gates) -> servability -> approval -> (canary) -> promote
 *
 * Bad data, failed gates, a refusal, a model that does not serve as it evaluated, and a canary that
 * does worse than production end the run as `rejected` with the reason, never as a crash.
 * The run waits for a person durably, for days if need be; a timeout rejects. Every decision is audited.
 */
import {
  ActivityFailure, ApplicationFailure, CancellationScope, executeChild, isCancellation, ParentClosePolicy, patched, proxyActivities, TemporalFailure,
} from '@temporalio/workflow';
import { personActor, SystemActors, type Actor } from '../common/actors';
import { ErrorTypes, workflowIds } from '../common/names';
import type { PipelineInput } from '../common/pipeline-start';
import type { PipelineStatus, ServabilityCheck } from '../common/pipeline-status';
import type { OrchestrationActivities, TrainingActivities } from '../activities';
import { committing, evaluating, ingesting, recordkeeping, training as trainingOn, waitingForCanarySlot } from './activity-options';
import { approvalDesk } from './approval';
import { canaryRollout } from './canary';
import { failureMessage } from './failures';
import { checkGates } from './gates';
import { Patches } from './patches';
import { trackRun } from './run-status';
import { trainedParams, trainingStatus, trainOrReuse } from './train-stage';

export async function trainingPipeline(input: PipelineInput): Promise<PipelineStatus> {
  const { spec } = input;
  const records = proxyActivities<OrchestrationActivities>(recordkeeping);
  const source = proxyActivities<OrchestrationActivities>(ingesting);
  const commits = proxyActivities<OrchestrationActivities>(committing);
  const training = proxyActivities<TrainingActivities>(trainingOn(input.trainingTaskQueue, input.trainingHeartbeatTimeout));
  const judging = proxyActivities<TrainingActivities>(evaluating(input.trainingTaskQueue));
  const slot = proxyActivities<OrchestrationActivities>(waitingForCanarySlot);
  const run = trackRun(input, (status) => records.recordPipelineOutcome({ pipelineId: status.id, status: status.status, reason: status.reason ?? undefined, outcome: status }));
  const { status, stage, finish } = run;
  const desk = approvalDesk(input, status);
  const pipelineId = status.id;

  try {
    // the request that was accepted is recorded even when a cancellation comes at once: a run is never without its row
    const recordStart = () => records.recordPipelineStart({
      pipelineId, runId: status.runId, model: spec.model, startedBy: input.requestedBy?.keyId, request: spec, trigger: input.trigger, requestedBy: input.requestedBy,
    });
    await (patched(Patches.startRecordedThroughCancel) ? CancellationScope.nonCancellable(recordStart) : recordStart());

    const dataset = await stage('ingest', () => source.ingestDataset(spec.dataset));
    status.dataset = { hash: dataset.hash, rows: dataset.rows, deduplicated: dataset.deduplicated };

    const report = await stage('validate', () =>
      records.validateDataset({ model: spec.model, dataset, target: spec.target, features: spec.features, task: spec.task, options: spec.validation }));
    status.validation = { passed: report.passed, anomalies: report.anomalies, reference: report.reference };
    status.task = report.task;
    if (!report.passed) return await finish('rejected', 'validation');

    const trained = await stage('train', () => trainOrReuse({ pipelineId, spec, dataset, report, records, training }));
    status.training = trainingStatus(trained, spec.training.epochs);

    let championVersion: number | null = null;
    const evaluation = await stage('evaluate', async () => {
      const champion = await records.getProductionModel(spec.model);
      championVersion = champion?.version ?? null;
      return judging.evaluateModel({
        dataset, target: spec.target, params: spec.training, evaluation: spec.evaluation,
        candidateArtifactKey: trained.artifactKey, championArtifactKey: champion?.artifactKey,
      });
    });
    status.metrics = evaluation.metrics;
    status.championMetrics = evaluation.championMetrics ?? null;

    const { metrics, servingSample: _sample, servingSampleKey: _sampleKey, ...evaluated } = evaluation;
    const { version } = await records.registerCandidate({
      pipelineId, runId: status.runId, model: spec.model, task: report.task, datasetHash: dataset.hash, target: spec.target,
      features: report.features.map((f) => f.name), params: trainedParams(spec, trained), metrics,
      artifactKey: trained.artifactKey, backend: trained.backend, intendedUse: spec.intendedUse,
      evaluation: { ...evaluated, championMetrics: evaluation.championMetrics ?? null, championVersion },
      training: status.training,
    });
    status.modelVersion = version;

    status.gates = checkGates(spec.gates, evaluation);
    if (!status.gates.passed) {
      await records.rejectVersion({ pipelineId, runId: status.runId, model: spec.model, version, reason: 'gates', details: status.gates });
      return await finish('rejected', 'gates');
    }

    // before anyone is asked, and before any traffic: the stored version loads through the serving code path and
    // answers the evaluation's sample and recent production requests as it evaluated; one that does not is rejected
    const checkServability = () => stage('servability', async () => {
      const production = patched(Patches.replayProductionRequests) ? await records.sampleProductionRequests({ pipelineId, model: spec.model }) : null;
      return judging.checkServability({
        artifactKey: trained.artifactKey, sample: evaluation.servingSample, sampleKey: evaluation.servingSampleKey, productionRequestsKey: production?.key,
      });
    });
    const rejectUnservable = async (check: ServabilityCheck) => {
      status.servability = check;
      await records.rejectVersion({ pipelineId, runId: status.runId, model: spec.model, version, reason: 'servability', details: check });
      return await finish('rejected', 'servability');
    };
    const checkedBeforeApproval = patched(Patches.servabilityBeforeApproval);
    if (checkedBeforeApproval) {
      status.servability = await checkServability();
      if (!status.servability.servable) return await rejectUnservable(status.servability);
    }

    let actor = SystemActors.autoApproval;
    if (spec.approval.required) {
      const about = { pipelineId, runId: status.runId, model: spec.model, version };
      // what the approvers are shown, kept with each decision
      const shown = {
        metrics: status.metrics, championMetrics: status.championMetrics, gates: { result: status.gates, terms: spec.gates }, canary: spec.canary,
        ...(status.servability ? { servability: status.servability } : {}),
      };
      const verdict = await stage('approval', () => desk.awaitDecision({
        decision: ({ approvedBy, ...v }) => commits.recordDecision({
          ...about, ...v, approvedBy: approvedBy?.map((p) => p.name).join(', '),
          details: { shown, ...(approvedBy ? { approvers: approvedBy.map(personActor) } : {}) },
        }),
        vote: (vote) => commits.recordApprovalVote({ ...about, ...vote, shown }),
        notice: (kind, details) => records.recordApprovalNotice({ ...about, kind, details }),
      }, shown));
      if (verdict.decision === 'timed_out') return await finish('rejected', 'approval_timeout');
      if (verdict.decision === 'rejected') return await finish('rejected', 'approval');
      actor = verdict.approvedOnTimeout ? SystemActors.approvalTimeout : personActor(verdict.by!);
    }

    if (checkedBeforeApproval && spec.approval.required && status.servability?.bundleSha256) {
      // the wait may have lasted days: what takes traffic must be, byte for byte, the bundle the check judged
      const judged = status.servability.bundleSha256;
      const now = await records.confirmBundleUnchanged({ artifactKey: trained.artifactKey, bundleSha256: judged });
      if (!now.unchanged) {
        return await rejectUnservable({
          ...status.servability, servable: false,
          problem: `the stored model bundle changed after its servability check (sha256 ${judged.slice(0, 12)}… when checked, ${now.bundleSha256 ? `${now.bundleSha256.slice(0, 12)}… now` : 'its files gone now'})`,
        });
      }
    } else if (!checkedBeforeApproval && patched(Patches.servabilityCheck)) {
      // pipelines that started before the check moved ahead of the approval make it here, after the decision
      status.servability = await checkServability();
      if (!status.servability.servable) return await rejectUnservable(status.servability);
    }

    let promotion: { actor: Actor; details: Record<string, unknown> } | undefined;
    // live traffic in steps, judged against production; the first version has nothing to be judged against
    if (spec.canary && patched(Patches.canaryRollout)) {
      const production = await records.getProductionModel(spec.model);
      if (production) {
        const canary = await stage('canary', () => executeChild(canaryRollout, {
          workflowId: workflowIds.canary(spec.model, version),
          // a pipeline that ends for any reason (even terminated) asks its canary to stop, which takes its traffic away
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          args: [{ pipelineId, model: spec.model, version, task: report.task, spec: spec.canary! }],
        }));
        status.canary = canary;
        if (canary.outcome === 'rolled_back') return await finish('rejected', 'canary');
        // promoted before its steps were done: the person who ordered it is who promoted it
        if (canary.reason === 'promoted_now' && canary.decider) {
          promotion = { actor: canary.decider, details: { approvedBy: actor.name, promotedNow: true } };
        }
      } else {
        status.canary = { skipped: 'no version in production to compare with: promoted directly' };
      }
    }

    await stage('promote', async () => {
      // one promotion of a model at a time, through its canary slot: an older canary that passes later cannot overwrite this one
      if (patched(Patches.promotionTakesSlot)) await slot.claimCanarySlot({ model: spec.model, version, workflowId: pipelineId });
      await commits.promoteVersion({ pipelineId, runId: status.runId, model: spec.model, version, ...(promotion ?? { actor }) });
    });
    // from now on the model's monitor watches this version; a monitor that cannot be reached does not undo the promotion
    if (patched(Patches.monitorOnPromotion)) {
      await records.watchModel({ model: spec.model, version, settings: spec.monitor }).catch((err) => {
        if (!(err instanceof ActivityFailure)) throw err;
      });
    }
    return await finish('completed');
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => finish('cancelled'));
      throw err;
    }
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type === ErrorTypes.dataset) {
      // the data cannot be read or used: a validation outcome, not a crash
      status.validation = { passed: false, anomalies: [{ kind: 'unreadable', severity: 'error', message: cause.message }] };
      return await finish('rejected', 'validation');
    }
    status.error = failureMessage(err);
    await finish('failed');
    // a bug (not a Temporal failure) would fail the workflow task and be retried forever: fail the run instead
    if (!(err instanceof TemporalFailure)) throw ApplicationFailure.nonRetryable(status.error, 'UnexpectedError');
    throw err;
  }
}
