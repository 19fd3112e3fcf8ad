/**
 * retrainModel (`retrain-<model>`): the model's retraining, one at a time. It takes the spec the
 * trigger brought (a schedule's) or the model's last production pipeline spec, under the model's
 * policy as it is now, on fresh data (the source read again, or the new data that arrived), and
 * runs it as an ordinary pipeline: the same gates, approval and canary. Its result is the pipeline's.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import { ModelNameKey } from '../common/names';
import type { PipelineStatus } from '../common/pipeline-status';
import { retrainingPipelineId, type RetrainingInput, type RetrainingStarted, type ScheduledRetrainingInput } from '../common/retraining';
import { recordkeeping } from './activity-options';
import { trainingPipeline } from './pipeline';

export async function retrainModel(input: RetrainingInput): Promise<PipelineStatus> {
  const records = proxyActivities<OrchestrationActivities>(recordkeeping);
  const spec = await records.retrainingSpec({ model: input.model, spec: input.spec, datasetUri: input.datasetUri });
  return executeChild(trainingPipeline, {
    workflowId: retrainingPipelineId(input.model, workflowInfo().runId),
    typedSearchAttributes: [{ key: ModelNameKey, value: input.model }],
    memo: { trigger: input.trigger },
    args: [{
      spec, trigger: input.trigger, requestedBy: null,
      trainingTaskQueue: input.trainingTaskQueue, trainingHeartbeatTimeout: input.trainingHeartbeatTimeout,
    }],
  });
}

export { SCHEDULED_RETRAINING_WORKFLOW, type ScheduledRetrainingInput } from '../common/retraining';

/**
 * What a Temporal Schedule starts (`/v1/schedules`): a retraining through the same one-per-model
 * path as every other trigger. A schedule firing while the model retrains joins that retraining.
 */
export async function scheduledRetraining(input: ScheduledRetrainingInput): Promise<RetrainingStarted> {
  const records = proxyActivities<OrchestrationActivities>(recordkeeping);
  return records.requestRetraining({
    model: input.model, spec: input.spec, trigger: { kind: 'schedule', by: `schedule:${input.scheduleId}`, scheduleId: input.scheduleId },
  });
}
