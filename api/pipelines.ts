/**
 * Pipelines as the API sees them: started, queried, decided on and cancelled through Temporal;
 * listed from the database, where each run records its start and its end.
 */
import crypto from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { and, desc, eq, type SQL } from 'drizzle-orm';
import type { PipelineSpec, Principal, TrainProgress } from '../activities/types';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { pipelineRuns, type PipelineStatusName } from '../db/schema';
import {
  abortCanaryUpdate, approveUpdate, CanaryRefusal, canaryStatusQuery, DecisionRefusal, ModelNameKey, promoteCanaryUpdate, rejectUpdate,
  statusQuery, type CanaryStatus,
} from '../workflows/definitions';
import type { PipelineInput, PipelineStatus } from '../workflows/status';
import { ApiError, conflict, forbidden, notFound } from './errors';

export const WORKFLOW_TYPE = 'trainingPipeline';

export interface PipelineServiceDeps {
  client: Client;
  db: Db;
  config: Config;
}

export type PipelineView = PipelineStatus & { temporalUiUrl: string };

/** Live training progress: the train activity's last heartbeat, as Temporal holds it. */
function trainingProgress(description: WorkflowExecutionDescription): PipelineStatus['training'] {
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!payload) return null;
  const p = defaultPayloadConverter.fromPayload<TrainProgress>(payload as never);
  return {
    epoch: p.epoch, epochs: p.epochs, loss: p.loss, valLoss: p.valLoss, backend: null, trainSeconds: null,
    resumedFromEpoch: p.resumedFromEpoch, ...(pending?.attempt && pending.attempt > 1 ? { attempt: pending.attempt } : {}),
  } as PipelineStatus['training'];
}

export function createPipelineService({ client, db, config }: PipelineServiceDeps) {
  const uiUrl = (id: string, runId: string) =>
    `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(id)}/${encodeURIComponent(runId)}/history`;

  /** The handle of a pipeline that exists, or a 404. */
  async function describe(id: string) {
    const handle = client.workflow.getHandle(id);
    try {
      const d = await handle.describe();
      if (d.type !== WORKFLOW_TYPE) throw notFound(`Pipeline ${id}`);
      return { handle, description: d };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`Pipeline ${id}`);
      throw err;
    }
  }

  /** What a closed pipeline recorded as its end, or what Temporal knows when it could not record it. */
  async function closedStatus(id: string, runId: string, temporalStatus: string): Promise<PipelineStatus> {
    const [row] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.id, id));
    if (row?.outcome && row.runId === runId) return row.outcome as PipelineStatus;
    const status: PipelineStatusName = temporalStatus === 'CANCELLED' ? 'cancelled' : temporalStatus === 'COMPLETED' ? 'completed' : 'failed';
    return {
      ...(row?.outcome as PipelineStatus | undefined),
      id, runId, model: row?.modelName ?? 'unknown', status, error: status === 'failed' ? `workflow ${temporalStatus.toLowerCase()}` : null,
    } as PipelineStatus;
  }

  async function get(id: string): Promise<PipelineView> {
    const { handle, description } = await describe(id);
    let status: PipelineStatus;
    if (description.status.name === 'RUNNING') {
      status = await handle.query(statusQuery);
      if (status.stage === 'train') status = { ...status, training: trainingProgress(description) ?? status.training };
      if (status.stage === 'canary' && status.modelVersion !== null) {
        // the rollout runs as a child workflow: ask it where it stands
        const canary = await canaryHandle(status).query(canaryStatusQuery).catch(() => null);
        if (canary) status = { ...status, canary };
      }
    } else {
      status = await closedStatus(id, description.runId, description.status.name);
    }
    return { ...status, temporalUiUrl: uiUrl(id, description.runId) };
  }

  const canaryHandle = (p: PipelineStatus) => client.workflow.getHandle(`canary-${p.model}-v${p.modelVersion}`);

  return {
    get,

    /** abort (roll back now) or promote now: an Update on the pipeline's canary rollout */
    async canary(id: string, action: 'abort' | 'promote', by: Principal, comment?: string): Promise<{ pipelineId: string; canary: CanaryStatus }> {
      const pipeline = await get(id);
      if (pipeline.status !== 'running' || pipeline.stage !== 'canary' || pipeline.modelVersion === null) {
        throw conflict(`Pipeline ${id} has no canary in progress (status: ${pipeline.status}, stage: ${pipeline.stage}).`);
      }
      try {
        const canary = await canaryHandle(pipeline).executeUpdate(action === 'abort' ? abortCanaryUpdate : promoteCanaryUpdate, { args: [{ by, comment }] });
        return { pipelineId: id, canary };
      } catch (err) {
        const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        if (cause instanceof ApplicationFailure) {
          if (cause.type === CanaryRefusal.notRunning) throw conflict(cause.message);
          if (cause.type === CanaryRefusal.forbidden) throw forbidden(cause.message);
        }
        if (err instanceof WorkflowNotFoundError) throw conflict(`Pipeline ${id} has no canary in progress.`);
        throw err;
      }
    },

    async start(spec: PipelineSpec, by: Principal, idempotencyKey?: string): Promise<{ id: string; runId: string; temporalUiUrl: string }> {
      const workflowId = idempotencyKey
        ? `pipeline-${spec.model}-${crypto.createHash('sha256').update(`${by.keyId}\0${idempotencyKey}`).digest('hex').slice(0, 32)}`
        : `pipeline-${spec.model}-${crypto.randomUUID()}`;
      const input: PipelineInput = {
        spec, requestedBy: by, trainingTaskQueue: config.taskQueues.training, trainingHeartbeatTimeout: config.heartbeatTimeout,
      };
      try {
        const handle = await client.workflow.start(WORKFLOW_TYPE, {
          taskQueue: config.taskQueues.orchestration,
          workflowId,
          args: [input],
          typedSearchAttributes: [{ key: ModelNameKey, value: spec.model }],
          // the same Idempotency-Key returns the same pipeline, running or ended
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        return { id: workflowId, runId: handle.firstExecutionRunId, temporalUiUrl: uiUrl(workflowId, handle.firstExecutionRunId) };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError && idempotencyKey) {
          const d = await client.workflow.getHandle(workflowId).describe();
          return { id: workflowId, runId: d.runId, temporalUiUrl: uiUrl(workflowId, d.runId) };
        }
        throw err;
      }
    },

    async list(filter: { model?: string; status?: PipelineStatusName; limit: number }): Promise<PipelineView[]> {
      const where: SQL[] = [];
      if (filter.model) where.push(eq(pipelineRuns.modelName, filter.model));
      // running rows may be awaiting approval: ask them; ended rows carry their final status
      const inFlight = !filter.status || filter.status === 'running' || filter.status === 'awaiting_approval';
      if (filter.status && !inFlight) where.push(eq(pipelineRuns.status, filter.status));
      if (filter.status && inFlight) where.push(eq(pipelineRuns.status, 'running'));
      const rows = await db.select().from(pipelineRuns).where(where.length ? and(...where) : undefined)
        .orderBy(desc(pipelineRuns.createdAt)).limit(filter.limit);
      const items = await Promise.all(rows.map(async (row): Promise<PipelineView | null> => {
        if (row.outcome) return { ...(row.outcome as PipelineStatus), temporalUiUrl: uiUrl(row.id, row.runId) };
        try {
          return await get(row.id);
        } catch {
          return null; // gone from Temporal (retention) before recording its end
        }
      }));
      return items.filter((i): i is PipelineView => i !== null && (!filter.status || i.status === filter.status));
    },

    async decide(id: string, verdict: 'approve' | 'reject', by: Principal, comment?: string): Promise<PipelineView> {
      const { handle, description } = await describe(id);
      if (description.status.name !== 'RUNNING') {
        throw conflict(`Pipeline ${id} is not awaiting approval: it has ended (${description.status.name.toLowerCase()}).`);
      }
      try {
        const status = await handle.executeUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, { args: [{ by, comment }] });
        return { ...status, temporalUiUrl: uiUrl(id, description.runId) };
      } catch (err) {
        const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
        if (cause instanceof ApplicationFailure) {
          if (cause.type === DecisionRefusal.notAwaiting) throw conflict(cause.message);
          if (cause.type === DecisionRefusal.fourEyes) throw forbidden(cause.message, 'four_eyes');
          if (cause.type === DecisionRefusal.forbidden) throw forbidden(cause.message);
        }
        if (err instanceof WorkflowNotFoundError) throw conflict(`Pipeline ${id} is not awaiting approval: it has ended.`);
        throw err;
      }
    },

    async cancel(id: string): Promise<{ id: string; status: 'cancelling' }> {
      const { handle, description } = await describe(id);
      if (description.status.name !== 'RUNNING') {
        throw new ApiError(409, 'conflict', `Pipeline ${id} has already ended (${description.status.name.toLowerCase()}).`);
      }
      await handle.cancel();
      return { id, status: 'cancelling' };
    },
  };
}
export type PipelineService = ReturnType<typeof createPipelineService>;
