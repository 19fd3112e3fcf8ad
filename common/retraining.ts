/**
 * The one way a retraining starts, whoever asks (the monitor on drift or a performance drop, a
 * schedule, new data, or a person): workflow `retrain-<model>`, which runs the model's last
 * production pipeline spec (or the schedule's) on fresh data as an ordinary pipeline. The workflow
 * id makes a second trigger while one runs join it: one retraining per model at a
 * time. The pipeline's id follows from the retraining's run id, so whoever joins learns it too.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { ModelNameKey, TASK_QUEUES, workflowIds } from './names';
import type { PipelineSpec, PipelineTrigger } from './pipeline-request';
import type { PipelineQueues } from './pipeline-start';

export interface RetrainingInput {
  model: string;
  trigger: PipelineTrigger;
  /** the spec to run (a schedule's); else the model's last production pipeline spec */
  spec?: PipelineSpec;
  /** new data to train on (an arrival): replaces the spec's dataset */
  datasetUri?: string;
  trainingTaskQueue: string;
  trainingHeartbeatTimeout?: string;
}

export interface RetrainingStarted {
  /** the retraining's pipeline: `pipeline-<model>-<retraining run id>` */
  pipelineId: string;
  /** false: a retraining of this model was already running, and this trigger joined it */
  started: boolean;
  /** what started the running retraining this trigger joined */
  runningTrigger?: PipelineTrigger;
}

export const RETRAINING_WORKFLOW = 'retrainModel';

/** What a Temporal Schedule (`/v1/schedules`) starts: workflow scheduledRetraining (workflows/retrain.ts) with this input. */
export const SCHEDULED_RETRAINING_WORKFLOW = 'scheduledRetraining';
export interface ScheduledRetrainingInput {
  model: string;
  scheduleId: string;
  /** the schedule's pipeline request, validated when the schedule was made */
  spec: PipelineSpec;
}

/** The pipeline a retraining run starts: derived, so a caller that joins a running retraining can name it. */
export const retrainingPipelineId = (model: string, retrainingRunId: string) => workflowIds.pipeline(model, `r${retrainingRunId.replaceAll('-', '')}`);

export async function startRetraining(client: Client, request: Omit<RetrainingInput, 'trainingTaskQueue' | 'trainingHeartbeatTimeout'>,
  queues: PipelineQueues = { orchestration: TASK_QUEUES.orchestration, training: TASK_QUEUES.training }): Promise<RetrainingStarted> {
  const input: RetrainingInput = { ...request, trainingTaskQueue: queues.training, trainingHeartbeatTimeout: queues.heartbeatTimeout };
  try {
    const handle = await client.workflow.start(RETRAINING_WORKFLOW, {
      taskQueue: queues.orchestration,
      workflowId: workflowIds.retrain(request.model),
      args: [input],
      typedSearchAttributes: [{ key: ModelNameKey, value: request.model }],
      memo: { trigger: request.trigger },
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    return { pipelineId: retrainingPipelineId(request.model, handle.firstExecutionRunId), started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // one is running: this trigger joins it
    const running = await client.workflow.getHandle(workflowIds.retrain(request.model)).describe();
    const runningTrigger = running.memo?.trigger as PipelineTrigger | undefined;
    return { pipelineId: retrainingPipelineId(request.model, running.runId), started: false, ...(runningTrigger ? { runningTrigger } : {}) };
  }
}
