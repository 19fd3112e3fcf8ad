/**
 * The model registry, pipeline records and the audit log. Every write is idempotent, keyed by the
 * pipeline (workflow) id and the stage, because Temporal retries activities.
 */
import { and, desc, eq, max, sql } from 'drizzle-orm';
import { personActor, systemActor, SystemActors, type Actor } from '../common/actors';
import type { Metrics, ModelVersionRef, Principal, VersionEvaluation } from '../common/domain';
import type { PipelineSpec, PipelineTrigger } from '../common/pipeline-request';
import type { PipelineStatus, TrainingStatus } from '../common/pipeline-status';
import type { Decision, ModelTask, PipelineStatusName, RejectionReason } from '../common/vocabulary';
import { writeAudit } from '../db/audit';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { makeProduction } from '../db/deployments';
import { approvals, models, modelVersions, pipelineRuns } from '../db/schema';

export interface RegistryDeps {
  db: Db;
  codeVersion: string;
  /** where trained models are kept: a cached model whose files are gone is not reused */
  artifacts: Pick<ArtifactStore, 'exists'>;
}

export interface RegisterCandidateInput {
  pipelineId: string;
  runId: string;
  model: string;
  task: ModelTask;
  datasetHash: string;
  target: string;
  features: string[];
  params: Record<string, unknown>;
  metrics: Metrics;
  evaluation?: VersionEvaluation;
  training?: TrainingStatus;
  intendedUse?: string;
  artifactKey: string;
  backend: string;
}

const isUniqueViolation = (err: unknown) =>
  (err as { code?: string })?.code === '23505' || (err as { cause?: { code?: string } })?.cause?.code === '23505';

/**
 * Audit idempotency is per workflow run: a retried activity writes its event once, while a reset or
 * re-run of the pipeline writes its own. (Activities scheduled before runs were passed had only the id.)
 */
const runScope = (i: { pipelineId: string; runId?: string }) => (i.runId ? `${i.pipelineId}:${i.runId}` : i.pipelineId);

export function createRegistryActivities({ db, codeVersion, artifacts }: RegistryDeps) {
  return {
    /** The run's record, and its start in the audit log: by the person who asked, or by what triggered it. */
    async recordPipelineStart(input: {
      pipelineId: string; runId: string; model: string; startedBy?: string; request: PipelineSpec; trigger?: PipelineTrigger;
      requestedBy?: Principal | null;
    }) {
      await db.transaction(async (tx) => {
        await tx.insert(pipelineRuns).values({
          id: input.pipelineId, runId: input.runId, modelName: input.model, startedBy: input.startedBy ?? null, request: input.request,
          trigger: input.trigger ?? null,
        }).onConflictDoUpdate({ target: pipelineRuns.id, set: { runId: input.runId } });
        await writeAudit(tx, {
          action: 'pipeline.start', actor: input.requestedBy ? personActor(input.requestedBy) : systemActor(input.trigger?.kind ?? 'pipeline'),
          model: input.model, pipelineId: input.pipelineId,
          details: { runId: input.runId, trigger: input.trigger ?? null, dataset: input.request.dataset.uri },
          idempotencyKey: `${input.pipelineId}:${input.runId}:start`,
        });
      });
    },

    /** The run's end; a failed one is audited (pipeline.fail), once per run. */
    async recordPipelineOutcome(input: { pipelineId: string; status: PipelineStatusName; reason?: string; outcome: PipelineStatus }) {
      await db.transaction(async (tx) => {
        await tx.update(pipelineRuns)
          .set({ status: input.status, reason: input.reason ?? null, outcome: input.outcome, endedAt: new Date() })
          .where(eq(pipelineRuns.id, input.pipelineId));
        if (input.status !== 'failed') return;
        const { outcome } = input;
        await writeAudit(tx, {
          action: 'pipeline.fail', actor: SystemActors.pipeline, model: outcome.model, version: outcome.modelVersion, pipelineId: input.pipelineId,
          details: { stage: outcome.stage, error: outcome.error?.slice(0, 1000) ?? null },
          idempotencyKey: `${runScope({ pipelineId: input.pipelineId, runId: outcome.runId })}:pipeline.fail`,
        });
      });
    },

    /**
     * An earlier run's trained model for the same data, parameters and code, to reuse instead of
     * training again. Any registered version qualifies: it was trained and evaluated, and its files
     * are still in the store (perennial.json is written last, so it stands for the whole bundle).
     */
    async findCachedModel(input: { model: string; datasetHash: string; target: string; features: string[]; params: Record<string, unknown> }):
    Promise<{ artifactKey: string; version: number; pipelineId: string; backend: string } | null> {
      const rows = await db.select({
        artifactKey: modelVersions.artifactKey, version: modelVersions.version, pipelineId: modelVersions.pipelineId, backend: modelVersions.backend,
      }).from(modelVersions).where(and(
        eq(modelVersions.modelName, input.model), eq(modelVersions.datasetHash, input.datasetHash), eq(modelVersions.target, input.target),
        eq(modelVersions.codeVersion, codeVersion),
        sql`${modelVersions.params} = ${JSON.stringify(input.params)}::jsonb`,
        sql`${modelVersions.features} = ${JSON.stringify(input.features)}::jsonb`,
      )).orderBy(desc(modelVersions.version)).limit(1);
      const hit = rows[0];
      if (!hit || !(await artifacts.exists(`${hit.artifactKey}/perennial.json`))) return null;
      return hit;
    },

    async getProductionModel(model: string): Promise<ModelVersionRef | null> {
      const rows = await db.select({ version: modelVersions.version, artifactKey: modelVersions.artifactKey })
        .from(modelVersions).where(and(eq(modelVersions.modelName, model), eq(modelVersions.status, 'production')));
      return rows.length ? { model, ...rows[0] } : null;
    },

    /** Gives the evaluated candidate the model's next version number; once per pipeline. */
    async registerCandidate(input: RegisterCandidateInput): Promise<{ version: number }> {
      await db.insert(models).values({ name: input.model, task: input.task }).onConflictDoNothing();
      for (let attempt = 0; ; attempt++) {
        const existing = await db.select({ version: modelVersions.version }).from(modelVersions)
          .where(eq(modelVersions.pipelineId, input.pipelineId));
        if (existing.length) return existing[0];
        const [{ latest }] = await db.select({ latest: max(modelVersions.version) }).from(modelVersions)
          .where(eq(modelVersions.modelName, input.model));
        const version = (latest ?? 0) + 1;
        try {
          await db.insert(modelVersions).values({
            modelName: input.model, version, task: input.task, datasetHash: input.datasetHash, target: input.target,
            features: input.features, params: input.params, metrics: input.metrics, artifactKey: input.artifactKey,
            evaluation: input.evaluation ?? {}, training: input.training ?? {}, intendedUse: input.intendedUse ?? null,
            backend: input.backend, codeVersion, pipelineId: input.pipelineId, workflowRunId: input.runId,
          });
          return { version };
        } catch (err) {
          // another pipeline took this number (or this one's retry got there first): look again
          if (!isUniqueViolation(err) || attempt >= 10) throw err;
        }
      }
    },

    /** A person's decision, or the timeout's, on a candidate: recorded once, audited. */
    async recordDecision(input: {
      pipelineId: string; runId?: string; model: string; version: number; decision: Decision;
      by?: Principal; comment?: string; at: string;
      /** N-of-M: every approver's name, in order */
      approvedBy?: string;
      /** a timeout that approved, as the model's policy allows */
      approvedOnTimeout?: boolean;
      /** what the approvers were shown (metrics, gates, canary limits) and who approved */
      details?: Record<string, unknown>;
    }) {
      const approved = input.decision === 'approved';
      await db.transaction(async (tx) => {
        await tx.update(pipelineRuns).set({ status: 'running' })
          .where(and(eq(pipelineRuns.id, input.pipelineId), eq(pipelineRuns.status, 'awaiting_approval')));
        await tx.insert(approvals).values({
          pipelineId: input.pipelineId, modelName: input.model, version: input.version, decision: input.decision,
          byKeyId: input.by?.keyId ?? null, byName: input.approvedBy ?? input.by?.name ?? null, comment: input.comment ?? null, decidedAt: new Date(input.at),
        }).onConflictDoNothing();
        await tx.update(modelVersions).set({
          status: approved ? 'approved' : 'rejected',
          approvedBy: approved ? input.approvedBy ?? input.by?.name ?? SystemActors.approvalTimeout.name : null,
          approvedAt: approved ? new Date(input.at) : null,
          updatedAt: new Date(),
        }).where(and(eq(modelVersions.modelName, input.model), eq(modelVersions.version, input.version)));
        const timedOut = input.decision === 'timed_out' || input.approvedOnTimeout;
        await writeAudit(tx, {
          actor: input.by ? personActor(input.by) : SystemActors.approvalTimeout,
          action: timedOut ? 'approval_timeout' : approved ? 'approve' : 'reject',
          model: input.model, version: input.version, pipelineId: input.pipelineId,
          details: { comment: input.comment ?? null, ...(timedOut ? { outcome: approved ? 'approved' : 'rejected' } : {}), ...input.details },
          idempotencyKey: `${runScope(input)}:decision`,
        });
      });
    },

    /** One approver's approval that counts towards the N the terms need but does not yet decide (N-of-M). */
    async recordApprovalVote(input: {
      pipelineId: string; runId?: string; model: string; version: number; by: Principal; comment?: string; at: string;
      received: number; needed: number; shown: Record<string, unknown>;
    }) {
      await writeAudit(db, {
        actor: personActor(input.by), action: 'approve', model: input.model, version: input.version, pipelineId: input.pipelineId,
        details: { comment: input.comment ?? null, final: false, received: input.received, needed: input.needed, shown: input.shown },
        idempotencyKey: `${runScope(input)}:vote:${input.by.owner ?? input.by.keyId}`,
      });
    },

    /** A pipeline asks for a decision, is reminded, or is escalated: audited, and so announced to subscribed webhooks. */
    async recordApprovalNotice(input: {
      pipelineId: string; runId?: string; model: string; version: number; kind: 'request' | 'remind' | 'escalate'; details: Record<string, unknown>;
    }) {
      await db.transaction(async (tx) => {
        // the list of pipelines awaiting a decision is read from here, not by asking every running workflow
        if (input.kind === 'request') {
          await tx.update(pipelineRuns).set({ status: 'awaiting_approval' })
            .where(and(eq(pipelineRuns.id, input.pipelineId), eq(pipelineRuns.status, 'running')));
        }
        await writeAudit(tx, {
          actor: SystemActors.approvalDesk, action: `approval.${input.kind}`, model: input.model, version: input.version, pipelineId: input.pipelineId,
          details: input.details, idempotencyKey: `${runScope(input)}:approval.${input.kind}`,
        });
      });
    },

    /** A candidate that failed its quality gates. */
    async rejectVersion(input: {
      pipelineId: string; runId?: string; model: string; version: number; reason: Extract<RejectionReason, 'gates' | 'servability'>; details: Record<string, unknown>;
    }) {
      await db.update(modelVersions).set({ status: 'rejected', updatedAt: new Date() })
        .where(and(eq(modelVersions.modelName, input.model), eq(modelVersions.version, input.version)));
      await writeAudit(db, {
        actor: SystemActors.pipeline, action: `reject_${input.reason}`, model: input.model, version: input.version,
        pipelineId: input.pipelineId, details: input.details, idempotencyKey: `${runScope(input)}:reject`,
      });
    },

    /** The version becomes production (and stops being the canary); the one before it is archived. One transaction. */
    async promoteVersion(input: { pipelineId: string; runId?: string; model: string; version: number; actor: Actor; details?: Record<string, unknown> }) {
      await db.transaction(async (tx) => {
        const previousVersion = await makeProduction(tx, input.model, input.version);
        await writeAudit(tx, {
          actor: input.actor, action: 'promote', model: input.model, version: input.version, pipelineId: input.pipelineId,
          details: { previousVersion, ...input.details }, idempotencyKey: `${runScope(input)}:promote`,
        });
      });
    },
  };
}
