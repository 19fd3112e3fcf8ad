/**
 * Pipelines as the API sees them: started, queried, decided on and cancelled through Temporal;
 * listed from the database, where each run records its start and its end.
 */
import {
  WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Principal } from '../common/domain';
import { ErrorTypes, workflowIds, WORKFLOW_TYPES } from '../common/names';
import type { PipelineRequest, PipelineSpec, PipelineTrigger } from '../common/pipeline-request';
import { applyPolicy } from '../common/policy';
import { mayDecide, personActor } from '../common/actors';
import { writeAudit } from '../db/audit';
import { policyOf } from './routes/policy';
import { mapBounded } from '../common/map-bounded';
import { withDeadline } from '../common/temporal-deadline';
import { initialStatus, startPipeline } from '../common/pipeline-start';
import {
  TrainingStatusSchema, type CanaryStatus, type PipelineRules, type PipelineStatus, type PipelineView, type TrainingStatus,
} from '../common/pipeline-status';
import type { PipelineStatusName, TriggerKind } from '../common/vocabulary';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { pipelineRuns } from '../db/schema';
import { abortCanaryUpdate, canaryStatusQuery, promoteCanaryUpdate } from '../workflows/canary-messages';
import { approveUpdate, rejectUpdate, statusQuery } from '../workflows/pipeline-messages';
import { ApiError, conflict, forbidden, notFound, validationError } from './errors';
import { checkDatasetSource } from './source-check';
import { sourcePolicyOf, type SourcePolicy } from '../activities/source-policy';
import { workflowUiUrl } from '../common/temporal-ui';

export interface PipelineServiceDeps {
  client: Client;
  db: Db;
  config: Config;
}

/** What the train activity heartbeats that a person may see (its checkpoint key stays inside). */
const TrainHeartbeat = TrainingStatusSchema.pick({ epoch: true, epochs: true, loss: true, valLoss: true, resumedFromEpoch: true });

/** Live training progress: the train activity's last heartbeat, as Temporal holds it (encrypted, with a codec: decoded here). */
async function trainingProgress(client: Client, description: WorkflowExecutionDescription): Promise<TrainingStatus | null> {
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
  const payloads = pending?.heartbeatDetails?.payloads;
  if (!payloads?.length) return null;
  const details = await decodeFromPayloadsAtIndex(client.workflow.options.loadedDataConverter, 0, payloads).catch(() => null);
  const heartbeat = TrainHeartbeat.safeParse(details);
  if (!heartbeat.success) return null;
  return {
    ...heartbeat.data, backend: null, trainSeconds: null, ...(pending?.attempt && pending.attempt > 1 ? { attempt: pending.attempt } : {}),
  };
}

/** A workflow's refusal of a decision or a canary order, as the HTTP status it means. */
function refusal(err: unknown): ApiError | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  switch (cause.type) {
    case ErrorTypes.notAwaitingApproval: case ErrorTypes.canaryNotRunning: return conflict(cause.message);
    case ErrorTypes.fourEyes: return forbidden(cause.message, 'four_eyes');
    case ErrorTypes.notListedApprover: return forbidden(cause.message, 'not_an_approver');
    case ErrorTypes.sameApprover: return forbidden(cause.message, 'same_approver');
    case ErrorTypes.roleTooLow: return forbidden(cause.message);
    default: return undefined;
  }
}

type PipelineRun = typeof pipelineRuns.$inferSelect;

/** A run that ended without recording its end (terminated, or failed outside its own code): what its start record knows. */
function unrecordedEnd(id: string, description: WorkflowExecutionDescription, row: PipelineRun | undefined): PipelineStatus {
  const name = description.status.name;
  const status: PipelineStatusName = name === 'CANCELLED' ? 'cancelled' : name === 'COMPLETED' ? 'completed' : 'failed';
  const start = initialStatus({
    id, runId: description.runId, model: row?.modelName ?? 'unknown', task: row?.request.task,
    approvalRequired: row?.request.approval.required ?? true, startedBy: row?.startedBy, trigger: row?.trigger, startedAt: description.startTime,
  });
  return {
    ...start, status, stage: status === 'completed' ? 'done' : 'ingest', error: status === 'failed' ? `workflow ${name.toLowerCase()}` : null,
    endedAt: description.closeTime?.toISOString() ?? null,
  };
}

/** the most rows GET /v1/pipelines answers with */
export const MAX_LIST_LIMIT = 100;
const LIVE_STATUS_CONCURRENCY = 8;
/** a query waits for a worker to replay the workflow; with none polling it would wait 30 s */
const LIVE_STATUS_DEADLINE_MS = 5_000;
export const LIVE_STATUS_UNAVAILABLE = 'live status unavailable';
/** GET /v1/pipelines/:id: a describe and a query, each normally a few milliseconds */
const STATUS_DEADLINE_MS = 10_000;

const rulesFrom = (spec: PipelineSpec): PipelineRules => ({ approval: spec.approval, gates: spec.gates, canary: spec.canary });

/** What a run's start record adds to its status: the rules it runs under and what started it. */
const recorded = (row: Pick<PipelineRun, 'request' | 'trigger'> | undefined): { rules: PipelineRules | null; trigger: PipelineTrigger | null } =>
  ({ rules: row ? rulesFrom(row.request) : null, trigger: row?.trigger ?? null });

/**
 * A pipeline request under its model's policy, its dataset source checked: the spec to run, or the
 * 403 (`policy`) or 400 (`source_refused`, `unknown_dataset`) that refuses it. `raw` is the body as
 * sent; `field` prefixes the fields a refusal names (`pipeline.` in a schedule's body).
 */
export async function admitPipeline(db: Db, sources: SourcePolicy, raw: PipelineRequest, requested: PipelineSpec, field = ''): Promise<PipelineSpec> {
  const { spec, refusals } = applyPolicy(raw, requested, await policyOf(db, requested.model));
  if (refusals.length) {
    const named = refusals.map((r) => ({ ...r, field: field + r.field }));
    throw new ApiError(403, 'policy', `The policy of model ${requested.model} does not allow this: ${named.map((r) => `${r.field}: ${r.message}`).join('; ')}.`, named);
  }
  try {
    await checkDatasetSource(spec.dataset, sources, db);
  } catch (err) {
    if (!field || !(err instanceof ApiError) || !Array.isArray(err.details)) throw err;
    throw new ApiError(err.status, err.code, err.message, err.details.map((d: { field: string }) => ({ ...d, field: field + d.field })));
  }
  return spec;
}

/** a cursor from an earlier page: where it ended (time and id), or a 400 */
function cursorOf(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(at)) {
    throw validationError([{ path: ['cursor'], message: 'a cursor from an earlier page (nextCursor)' }]);
  }
  return { at, id };
}

export function createPipelineService({ client, db, config }: PipelineServiceDeps) {
  const sources = sourcePolicyOf(config);
  const uiUrl = (id: string, runId: string) => workflowUiUrl(config.temporal, id, runId);

  /** The handle of a pipeline that exists, or a 404. */
  async function describe(id: string) {
    const handle = client.workflow.getHandle(id);
    try {
      const d = await handle.describe();
      if (d.type !== WORKFLOW_TYPES.pipeline) throw notFound(`Pipeline ${id}`);
      return { handle, description: d };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`Pipeline ${id}`);
      throw err;
    }
  }

  /** What a closed pipeline recorded as its end, or what Temporal knows when it could not record it. */
  async function closedStatus(id: string, description: WorkflowExecutionDescription): Promise<PipelineStatus> {
    const [row] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.id, id));
    if (row?.outcome && row.runId === description.runId) return row.outcome;
    const end = unrecordedEnd(id, description, row);
    // an earlier run recorded its end (the workflow was reset): that account, with this run's end
    return row?.outcome ? { ...row.outcome, id, runId: end.runId, model: end.model, status: end.status, error: end.error } : end;
  }

  async function get(id: string): Promise<PipelineView> {
    const { handle, description } = await describe(id);
    let status: PipelineStatus;
    if (description.status.name === 'RUNNING') {
      const live = await withDeadline(client, LIVE_STATUS_DEADLINE_MS, () => handle.query(statusQuery)).catch((err: Error) => err);
      if (live instanceof Error) {
        // Temporal has just answered the describe: no worker replays the workflow now (one restarting, or none running).
        // What the start record knows, marked as such, rather than a 503 that would blame Temporal.
        const [row] = await db.select().from(pipelineRuns).where(eq(pipelineRuns.id, id));
        if (!row) throw live;
        return { ...liveStatusUnavailable(row), ...recorded(row) };
      }
      status = live;
      if (status.stage === 'train') status = { ...status, training: await trainingProgress(client, description) ?? status.training };
      if (status.stage === 'canary' && status.modelVersion !== null) {
        // the rollout runs as a child workflow: ask it where it stands
        const canary = await canaryHandle(status.model, status.modelVersion).query(canaryStatusQuery).catch(() => null);
        if (canary) status = { ...status, canary };
      }
    } else {
      status = await closedStatus(id, description);
    }
    return { ...status, temporalUiUrl: uiUrl(id, description.runId), ...await recordOf(id) };
  }

  /** the approval terms, gates and canary limits the run was started with (its model's policy applied), and what started it */
  async function recordOf(id: string) {
    const [row] = await db.select({ request: pipelineRuns.request, trigger: pipelineRuns.trigger }).from(pipelineRuns).where(eq(pipelineRuns.id, id));
    return recorded(row);
  }

  /** A run in flight that Temporal cannot answer for now (the worker is down): what its start record knows, marked as such. */
  function liveStatusUnavailable(row: PipelineRun): PipelineView {
    const start = initialStatus({
      id: row.id, runId: row.runId, model: row.modelName, task: row.request.task, approvalRequired: row.request.approval.required,
      startedBy: row.startedBy, startedAt: row.createdAt,
    });
    return { ...start, status: row.status, error: LIVE_STATUS_UNAVAILABLE, temporalUiUrl: uiUrl(row.id, row.runId), trigger: row.trigger ?? null };
  }

  const canaryHandle = (model: string, version: number) => client.workflow.getHandle(workflowIds.canary(model, version));

  return {
    /** one pipeline's status, bounded: with Temporal away a caller gets a 503 after this long, not after the client's retries */
    get: (id: string) => withDeadline(client, STATUS_DEADLINE_MS, () => get(id)),

    /** abort (roll back now) or promote now: an Update on the pipeline's canary rollout */
    async canary(id: string, action: 'abort' | 'promote', by: Principal, comment?: string): Promise<{ pipelineId: string; canary: CanaryStatus }> {
      const pipeline = await get(id);
      if (pipeline.status !== 'running' || pipeline.stage !== 'canary' || pipeline.modelVersion === null) {
        throw conflict(`Pipeline ${id} has no canary in progress (status: ${pipeline.status}, stage: ${pipeline.stage}).`);
      }
      try {
        const update = action === 'abort' ? abortCanaryUpdate : promoteCanaryUpdate;
        const canary = await canaryHandle(pipeline.model, pipeline.modelVersion).executeUpdate(update, { args: [{ by, comment }] });
        return { pipelineId: id, canary };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw conflict(`Pipeline ${id} has no canary in progress.`);
        throw refusal(err) ?? err;
      }
    },

    /**
     * Starts a pipeline under its model's policy: what the request left out takes the policy's value;
     * a field that would loosen it is a 403 naming the field. `raw` is the body as sent.
     */
    async start(raw: PipelineRequest, requested: PipelineSpec, by: Principal, idempotencyKey?: string): Promise<{ id: string; runId: string; temporalUiUrl: string }> {
      const spec = await admitPipeline(db, sources, raw, requested);
      const { workflowId, runId } = await startPipeline(client, {
        spec, trigger: { kind: 'api', by: by.name }, requestedBy: by, idempotencyKey,
      }, { ...config.taskQueues, heartbeatTimeout: config.heartbeatTimeout });
      return { id: workflowId, runId, temporalUiUrl: uiUrl(workflowId, runId) };
    },

    /**
     * A page of pipelines, newest first. The status filter is the database's: a run records that it
     * awaits a decision when it starts waiting, and its end when it ends; only the rows of live runs
     * on the page ask Temporal for their live status.
     */
    async list(filter: { model?: string; status?: PipelineStatusName; trigger?: TriggerKind; limit: number; cursor?: string }): Promise<{ items: PipelineView[]; nextCursor: string | null }> {
      const where: SQL[] = [];
      if (filter.model) where.push(eq(pipelineRuns.modelName, filter.model));
      if (filter.trigger) where.push(sql`${pipelineRuns.trigger}->>'kind' = ${filter.trigger}`);
      if (filter.status) where.push(eq(pipelineRuns.status, filter.status));
      const after = filter.cursor ? cursorOf(filter.cursor) : undefined;
      if (after) where.push(sql`(${pipelineRuns.createdAt}, ${pipelineRuns.id}) < (${after.at}::timestamptz, ${after.id})`);
      const limit = Math.min(filter.limit, MAX_LIST_LIMIT);
      const page = await db.select().from(pipelineRuns).where(where.length ? and(...where) : undefined)
        .orderBy(desc(pipelineRuns.createdAt), desc(pipelineRuns.id)).limit(limit + 1);
      const rows = page.slice(0, limit);
      const last = rows.at(-1);
      const nextCursor = page.length > limit && last ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString('base64url') : null;
      // each live row costs Temporal a describe and a query (a workflow replay): a few at a time
      const items = await mapBounded(rows, LIVE_STATUS_CONCURRENCY, async (row): Promise<PipelineView | null> => {
        if (row.outcome) return { ...row.outcome, temporalUiUrl: uiUrl(row.id, row.runId), ...recorded(row) };
        try {
          return await withDeadline(client, LIVE_STATUS_DEADLINE_MS, () => get(row.id));
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) return null; // gone from Temporal (retention) before recording its end
          return liveStatusUnavailable(row);
        }
      });
      return { items: items.filter((i): i is PipelineView => i !== null && (!filter.status || i.status === filter.status)), nextCursor };
    },

    async decide(id: string, verdict: 'approve' | 'reject', by: Principal, comment?: string): Promise<PipelineView> {
      const { handle, description } = await describe(id);
      if (description.status.name !== 'RUNNING') {
        throw conflict(`Pipeline ${id} is not awaiting approval: it has ended (${description.status.name.toLowerCase()}).`);
      }
      try {
        const status = await handle.executeUpdate(verdict === 'approve' ? approveUpdate : rejectUpdate, { args: [{ by, comment }] });
        return { ...status, temporalUiUrl: uiUrl(id, description.runId), ...await recordOf(id) };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw conflict(`Pipeline ${id} is not awaiting approval: it has ended.`);
        throw refusal(err) ?? err;
      }
    },

    /** Cancels a running pipeline, audited; during its canary (which cancelling rolls back) only an approver may. */
    async cancel(id: string, by: Principal): Promise<{ id: string; status: 'cancelling' }> {
      const { handle, description } = await describe(id);
      if (description.status.name !== 'RUNNING') {
        throw new ApiError(409, 'conflict', `Pipeline ${id} has already ended (${description.status.name.toLowerCase()}).`);
      }
      const status = await handle.query(statusQuery).catch(() => null);
      if ((status === null || status.stage === 'canary' || status.stage === 'promote') && !mayDecide(by)) {
        throw forbidden(`Pipeline ${id} ${status ? 'is rolling out' : 'cannot be inspected now'}: cancelling it rolls its canary back, which needs the approver role; your key "${by.name}" has ${by.role}.`);
      }
      await writeAudit(db, {
        action: 'pipeline.cancel', actor: personActor(by), model: status?.model ?? null, version: status?.modelVersion ?? null, pipelineId: id,
        details: { stage: status?.stage ?? null }, idempotencyKey: `${id}:${description.runId}:cancel`,
      });
      await handle.cancel();
      return { id, status: 'cancelling' };
    },
  };
}
export type PipelineService = ReturnType<typeof createPipelineService>;
