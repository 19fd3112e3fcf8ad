/**
 * The one way a pipeline starts, whoever starts it (the API today; the monitor, schedules and
 * arrivals next): its workflow id, search attributes, memo and trigger are set here and nowhere else.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Principal } from './domain';
import { ModelNameKey, TASK_QUEUES, workflowIds, WORKFLOW_TYPES } from './names';
import type { PipelineSpec, PipelineTrigger } from './pipeline-request';
import type { PipelineStatus } from './pipeline-status';

/** What the pipeline workflow receives. */
export interface PipelineInput {
  spec: PipelineSpec;
  /** who started it; null when started outside the API */
  requestedBy?: Principal | null;
  /** what started it (absent in runs started before triggers were recorded) */
  trigger?: PipelineTrigger;
  /** task queue of the training workers; defaults to `perennial-training` */
  trainingTaskQueue?: string;
  /** how long a training worker may go silent before another takes over from its checkpoint */
  trainingHeartbeatTimeout?: string;
}

export interface PipelineStartRequest {
  spec: PipelineSpec;
  trigger: PipelineTrigger;
  requestedBy?: Principal | null;
  /** the same key from the same caller finds the same pipeline, running or ended */
  idempotencyKey?: string;
}

export interface PipelineQueues {
  orchestration: string;
  training: string;
  heartbeatTimeout?: string;
}

const sha256Hex = async (text: string) => {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Buffer.from(digest).toString('hex');
};

/** Starts a pipeline (or finds the one an Idempotency-Key started) and returns its id and first run. */
export async function startPipeline(client: Client, request: PipelineStartRequest, queues: PipelineQueues = {
  orchestration: TASK_QUEUES.orchestration, training: TASK_QUEUES.training,
}): Promise<{ workflowId: string; runId: string }> {
  const { spec, trigger, requestedBy, idempotencyKey } = request;
  const key = idempotencyKey
    ? (await sha256Hex(`${requestedBy?.keyId ?? trigger.kind}\0${idempotencyKey}`)).slice(0, 32)
    : globalThis.crypto.randomUUID();
  const workflowId = workflowIds.pipeline(spec.model, key);
  const input: PipelineInput = {
    spec, requestedBy: requestedBy ?? null, trigger, trainingTaskQueue: queues.training, trainingHeartbeatTimeout: queues.heartbeatTimeout,
  };
  try {
    const handle = await client.workflow.start(WORKFLOW_TYPES.pipeline, {
      taskQueue: queues.orchestration,
      workflowId,
      args: [input],
      typedSearchAttributes: [{ key: ModelNameKey, value: spec.model }],
      memo: { trigger },
      // the same Idempotency-Key returns the same pipeline, running or ended
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError && idempotencyKey) {
      const d = await client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: d.runId };
    }
    throw err;
  }
}

/** A pipeline's status before anything has happened: where the workflow starts, and what the API shows of a run that never recorded its end. */
export function initialStatus(run: {
  id: string; runId: string; model: string; task?: string | null; approvalRequired: boolean; startedBy?: string | null; startedByOwner?: string | null; startedAt: Date;
  trigger?: PipelineTrigger | null;
}): PipelineStatus {
  return {
    id: run.id, runId: run.runId, model: run.model, status: 'running', stage: 'ingest', reason: null, error: null, modelVersion: null,
    task: run.task ?? null, dataset: null, validation: null, training: null, metrics: null, championMetrics: null, gates: null,
    approval: { required: run.approvalRequired, decision: null, by: null, at: null, comment: null, deadline: null },
    canary: null, stages: [], startedBy: run.startedBy ?? null, startedByOwner: run.startedByOwner ?? null, trigger: run.trigger ?? null, startedAt: run.startedAt.toISOString(), endedAt: null,
  };
}
