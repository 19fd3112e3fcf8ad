/**
 * Deployment: the canary's share of traffic, its end (rolled back), and the analysis that compares
 * it with production over a window of the prediction log. Writes are idempotent (Temporal retries
 * activities); every weight change reaches the API replicas through the models table's NOTIFY trigger.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, gte, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { SystemActors, type Actor } from '../common/actors';
import { ErrorTypes } from '../common/names';
import { writeAudit } from '../db/audit';
import { takeCanaryTrafficAway } from '../db/deployments';
import { feedback, models, modelVersions, predictions } from '../db/schema';
import type { CanaryMode } from '../common/vocabulary';
import { jensenShannonDistance } from '../ml/drift';
import type { CanaryAnalysis, CanarySide } from '../common/pipeline-status';
import type { CanarySpec } from '../common/pipeline-request';
import type { ModelTask } from '../common/vocabulary';

/** p95 latencies under this are all "fast": their ratio is noise, not a regression */
const LATENCY_FLOOR_MS = 1;
const REGRESSION_BINS = 10;

export function createDeploymentActivities({ db }: { db: Db }) {
  async function side(model: string, version: number, roles: ('production' | 'canary' | 'shadow')[], window: SQL, task: ModelTask): Promise<CanarySide> {
    const where = and(eq(predictions.modelName, model), eq(predictions.version, version), inArray(predictions.role, roles), window);
    const [stats] = await db.select({
      requests: sql<number>`count(*)::int`,
      errors: sql<number>`(count(*) filter (where ${predictions.error} is not null))::int`,
      p95: sql<number | null>`percentile_cont(0.95) within group (order by ${predictions.latencyMs}) filter (where ${predictions.error} is null)`,
    }).from(predictions).where(where);
    // feedback is keyed by the id the client saw: a shadow answer's is the production prediction it mirrors
    const [fb] = await db.select({
      labels: sql<number>`count(*)::int`,
      accuracy: sql<number | null>`avg(case when ${predictions.label} = ${feedback.label} then 1.0 else 0.0 end)::float8`,
      mae: sql<number | null>`avg(abs(${predictions.value} - ${feedback.value}))::float8`,
    }).from(predictions)
      .innerJoin(feedback, eq(feedback.predictionId, sql`coalesce(${predictions.shadowOf}, ${predictions.id})`))
      .where(and(where, sql`${predictions.error} is null`));
    return {
      requests: stats.requests, errors: stats.errors, errorRate: stats.requests ? stats.errors / stats.requests : 0,
      latencyP95Ms: stats.p95 === null ? null : Number(stats.p95), labels: fb.labels,
      feedbackScore: fb.labels ? Number(task === 'classification' ? fb.accuracy : fb.mae) : null,
    };
  }

  /** predicted labels (classification) or values in shared bins (regression), as counts over the same categories */
  async function distributions(model: string, sides: { version: number; roles: ('production' | 'canary' | 'shadow')[] }[], window: SQL, task: ModelTask) {
    const base = (s: (typeof sides)[number]) => and(eq(predictions.modelName, model), eq(predictions.version, s.version),
      inArray(predictions.role, s.roles), window, sql`${predictions.error} is null`);
    if (task === 'classification') {
      const counts = await Promise.all(sides.map((s) => db.select({ label: predictions.label, n: sql<number>`count(*)::int` })
        .from(predictions).where(base(s)).groupBy(predictions.label)));
      const labels = [...new Set(counts.flatMap((c) => c.map((r) => r.label ?? '')))].sort();
      return counts.map((c) => labels.map((l) => c.find((r) => (r.label ?? '') === l)?.n ?? 0));
    }
    const values = await Promise.all(sides.map((s) => db.select({ v: predictions.value }).from(predictions).where(base(s)).limit(100_000)));
    const all = values.flat().map((r) => r.v ?? 0);
    if (!all.length) return sides.map(() => new Array(REGRESSION_BINS).fill(0));
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    const width = (hi - lo) / REGRESSION_BINS || 1;
    return values.map((rows) => {
      const bins = new Array(REGRESSION_BINS).fill(0);
      for (const { v } of rows) bins[Math.min(REGRESSION_BINS - 1, Math.floor(((v ?? 0) - lo) / width))]++;
      return bins;
    });
  }

  return {
    /**
     * One canary per model at a time: takes the model's canary slot for this version, or fails
     * (retryably) naming the version that holds it, so the rollout waits its turn.
     */
    async claimCanarySlot(input: { model: string; version: number; workflowId?: string }): Promise<void> {
      const taken = await db.update(models).set({ canaryVersion: input.version, canaryWorkflowId: input.workflowId ?? null, updatedAt: new Date() })
        .where(and(eq(models.name, input.model), or(isNull(models.canaryVersion), eq(models.canaryVersion, input.version))))
        .returning({ name: models.name });
      if (taken.length) return;
      const [m] = await db.select({ canaryVersion: models.canaryVersion }).from(models).where(eq(models.name, input.model));
      throw ApplicationFailure.retryable(`Version ${m?.canaryVersion} of ${input.model} is in canary; v${input.version} waits for it to end.`, ErrorTypes.canarySlotTaken);
    },

    /** The canary takes `weight` percent of traffic (split) or of the mirror (shadow). */
    async setCanaryWeight(input: { pipelineId: string; model: string; version: number; weight: number; mode: CanaryMode; step: number }) {
      await db.transaction(async (tx) => {
        // only while this version holds the slot: an approver or the reconciler may have freed it
        const held = await tx.update(models).set({ canaryWeight: input.weight, canaryMode: input.mode, updatedAt: new Date() })
          .where(and(eq(models.name, input.model), eq(models.canaryVersion, input.version))).returning({ name: models.name });
        if (!held.length) {
          throw ApplicationFailure.nonRetryable(`The canary slot of ${input.model} was freed while v${input.version} held it (cleared by an approver or the reconciler).`, ErrorTypes.canarySlotLost);
        }
        await tx.update(modelVersions).set({ status: 'canary', updatedAt: new Date() })
          .where(and(eq(modelVersions.modelName, input.model), eq(modelVersions.version, input.version), inArray(modelVersions.status, ['approved', 'candidate', 'canary'])));
        await writeAudit(tx, {
          actor: SystemActors.canary, action: 'canary_weight', model: input.model, version: input.version, pipelineId: input.pipelineId,
          details: { weight: input.weight, mode: input.mode, step: input.step }, idempotencyKey: `${input.pipelineId}:canary:${input.step}:${input.weight}`,
        });
      });
    },

    /**
     * The canary is rolled back: no traffic at once, the slot freed, the version rejected; then the
     * audit event with the reason and the analysis. The safety action commits on its own, so that a
     * failure to audit (retried) can never undo it.
     */
    async rollBackCanary(input: { pipelineId: string; runId?: string; model: string; version: number; reason: string; actor: Actor; details: Record<string, unknown> }) {
      await takeCanaryTrafficAway(db, input.model, input.version);
      await writeAudit(db, {
        actor: input.actor, action: 'canary_rollback', model: input.model, version: input.version, pipelineId: input.pipelineId,
        details: { reason: input.reason, ...input.details },
        idempotencyKey: input.runId ? `${input.pipelineId}:${input.runId}:canary:rollback` : `${input.pipelineId}:canary:rollback`,
      });
    },

    /** The canary against the current production version over one window of the prediction log. */
    async analyseCanary(input: { model: string; version: number; task: ModelTask; since: string; until: string; thresholds: CanarySpec }): Promise<CanaryAnalysis> {
      const t = input.thresholds;
      const window = and(gte(predictions.createdAt, new Date(input.since)), lt(predictions.createdAt, new Date(input.until)))!;
      const [m] = await db.select({ productionVersion: models.productionVersion }).from(models).where(eq(models.name, input.model));
      const productionVersion = m?.productionVersion ?? null;
      const canary = await side(input.model, input.version, ['canary', 'shadow'], window, input.task);
      const production = productionVersion === null
        ? { requests: 0, errors: 0, errorRate: 0, latencyP95Ms: null, labels: 0, feedbackScore: null }
        : await side(input.model, productionVersion, ['production'], window, input.task);

      const failures: string[] = [];
      const notes: string[] = [];
      const sufficient = canary.requests >= t.minRequests;
      if (!sufficient) notes.push(`${canary.requests} canary requests in the window, ${t.minRequests} needed`);

      if (canary.errorRate - production.errorRate > t.maxErrorRateIncrease) {
        failures.push(`error rate ${pct(canary.errorRate)} against production's ${pct(production.errorRate)} (at most +${pct(t.maxErrorRateIncrease)})`);
      }
      let latencyRatio: number | null = null;
      if (canary.latencyP95Ms !== null && production.latencyP95Ms !== null) {
        latencyRatio = Math.max(canary.latencyP95Ms, LATENCY_FLOOR_MS) / Math.max(production.latencyP95Ms, LATENCY_FLOOR_MS);
        if (latencyRatio > t.maxLatencyRatio) {
          failures.push(`p95 latency ${canary.latencyP95Ms.toFixed(2)} ms against production's ${production.latencyP95Ms.toFixed(2)} ms (ratio ${latencyRatio.toFixed(2)}, at most ${t.maxLatencyRatio})`);
        }
      }
      let predictionDistance: number | null = null;
      if (productionVersion !== null && canary.requests && production.requests) {
        const [p, c] = await distributions(input.model, [{ version: productionVersion, roles: ['production'] }, { version: input.version, roles: ['canary', 'shadow'] }], window, input.task);
        predictionDistance = jensenShannonDistance(p, c);
        if (predictionDistance > t.maxPredictionDistance) {
          failures.push(`prediction distribution distance (Jensen-Shannon) ${predictionDistance.toFixed(3)} from production's (at most ${t.maxPredictionDistance})`);
        }
      }
      if (canary.labels >= t.minLabels && production.labels >= t.minLabels && canary.feedbackScore !== null && production.feedbackScore !== null) {
        if (input.task === 'classification' && canary.feedbackScore < production.feedbackScore - t.maxAccuracyDrop) {
          failures.push(`accuracy on feedback ${pct(canary.feedbackScore)} against production's ${pct(production.feedbackScore)} (${canary.labels} and ${production.labels} labels; at most ${pct(t.maxAccuracyDrop)} lower)`);
        }
        if (input.task === 'regression' && canary.feedbackScore > production.feedbackScore * (1 + t.maxAccuracyDrop)) {
          failures.push(`MAE on feedback ${canary.feedbackScore.toPrecision(4)} against production's ${production.feedbackScore.toPrecision(4)} (at most ${pct(t.maxAccuracyDrop)} higher)`);
        }
      } else {
        notes.push(`feedback: ${canary.labels} canary and ${production.labels} production labels, ${t.minLabels} each needed to compare accuracy`);
      }
      return {
        window: { since: input.since, until: input.until }, canary, production: { ...production, version: productionVersion },
        latencyRatio, predictionDistance, sufficient, passed: failures.length === 0, failures, notes,
      };
    },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
