/**
 * What GET /v1/pipelines/:id shows: the pipeline's own account of where it is, kept by the workflow
 * (its status query) and recorded in the database when it ends. The schemas generate /openapi.json;
 * the workflow's types are derived from them.
 */
import { z } from '@hono/zod-openapi';
import { PipelineRequest, PipelineTriggerSchema } from './pipeline-request';
import {
  actorKinds, canaryModes, canaryOutcomes, columnKinds, decisions, pipelineStatuses, rejectionReasons, stageNames, stageStatuses,
} from './vocabulary';

const Metrics = z.record(z.string(), z.number());

export const AnomalySchema = z.object({
  kind: z.string(), column: z.string().optional(), severity: z.enum(['error', 'warning']), message: z.string(),
  observed: z.unknown().optional(), expected: z.unknown().optional(),
}).openapi('Anomaly');
export type Anomaly = z.output<typeof AnomalySchema>;

export const ColumnSchemaSchema = z.object({
  name: z.string(),
  type: z.string().openapi({ description: "DuckDB's type name, e.g. DOUBLE, VARCHAR, DATE" }),
  kind: z.enum(columnKinds),
});
export type ColumnSchema = z.output<typeof ColumnSchemaSchema>;

export const TrialSummarySchema = z.object({
  trial: z.number(), params: z.record(z.string(), z.unknown()), valLoss: z.number().nullable(), loss: z.number(), epochs: z.number(),
});

export const TrainingStatusSchema = z.object({
  epoch: z.number(), epochs: z.number(), loss: z.number().nullable(), valLoss: z.number().nullable().optional(),
  backend: z.string().nullable(), device: z.string().optional(),
  /** why this backend: the model-size rule with its figures, or PERENNIAL_TF_BACKEND */
  backendReason: z.string().optional(),
  trainSeconds: z.number().nullable(),
  resumedFromEpoch: z.number().optional(),
  /** the attempt of the train activity, while a replacement worker runs it */
  attempt: z.number().optional(),
  /** true when an earlier run's model for the same data, parameters and code was reused */
  cached: z.boolean().optional(),
  cachedFrom: z.object({ version: z.number(), pipelineId: z.string() }).optional(),
  /** hyperparameter search: every trial, and which one won */
  trials: z.array(TrialSummarySchema).optional(),
  bestTrial: z.number().optional(),
});
export type TrainingStatus = z.output<typeof TrainingStatusSchema>;

export const CanarySideSchema = z.object({
  requests: z.number(), errors: z.number(), errorRate: z.number(), latencyP95Ms: z.number().nullable(), labels: z.number(),
  /** accuracy (classification) or mae (regression) on labelled feedback */
  feedbackScore: z.number().nullable(),
});
export type CanarySide = z.output<typeof CanarySideSchema>;

export const CanaryAnalysisSchema = z.object({
  window: z.object({ since: z.string(), until: z.string() }),
  canary: CanarySideSchema,
  production: CanarySideSchema.extend({ version: z.number().nullable() }),
  latencyRatio: z.number().nullable(),
  predictionDistance: z.number().nullable().openapi({ description: 'Jensen-Shannon distance between the prediction distributions' }),
  /** enough canary requests to judge */
  sufficient: z.boolean(),
  passed: z.boolean(),
  failures: z.array(z.string()),
  notes: z.array(z.string()),
}).openapi('CanaryAnalysis');
export type CanaryAnalysis = z.output<typeof CanaryAnalysisSchema>;

export const CanaryStatusSchema = z.object({
  workflowId: z.string(), model: z.string(), version: z.number(), mode: z.enum(canaryModes),
  step: z.number().openapi({ description: '1-based index into steps; 0 before the first' }),
  steps: z.array(z.number()), trafficPercent: z.number(),
  holding: z.boolean().openapi({ description: 'a step is held longer for want of traffic' }),
  waiting: z.boolean().openapi({ description: "another version's canary of the same model runs: one canary per model at a time" }),
  analyses: z.array(CanaryAnalysisSchema), outcome: z.enum(canaryOutcomes).nullable(),
  reason: z.string().nullable().openapi({ description: 'why it ended: passed, analysis, insufficient_traffic, aborted, promoted_now, cancelled, error (its traffic was taken away, and the pipeline failed with the error)' }),
  decidedBy: z.string().nullable(), comment: z.string().nullable(),
  /** the person who aborted or promoted it, as the audit log records them */
  decider: z.object({ kind: z.enum(actorKinds), id: z.string(), name: z.string() }).nullable().optional(),
}).openapi('Canary');
export type CanaryStatus = z.output<typeof CanaryStatusSchema>;

export const StageRecordSchema = z.object({
  name: z.enum(stageNames), status: z.enum(stageStatuses), startedAt: z.string(), endedAt: z.string().nullable(),
});
export type StageRecord = z.output<typeof StageRecordSchema>;

/** One person's decision on a pipeline, as its status shows it. */
export const ApprovalDecisionSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  by: z.string(),
  owner: z.string(),
  at: z.string(),
  comment: z.string().nullable(),
});
export type ApprovalDecision = z.output<typeof ApprovalDecisionSchema>;

/**
 * The servability check: whether the stored version loads through the serving code path and answers
 * as it evaluated (and accepts what production is asked), on how many instances, and the sha256 of
 * the bundle it judged (absent for checks made before it was kept, and for a bundle that did not load).
 */
export const ServabilityCheckSchema = z.object({
  servable: z.boolean(), problem: z.string().optional(), instances: z.number(), bundleSha256: z.string().optional(),
});
export type ServabilityCheck = z.infer<typeof ServabilityCheckSchema>;

export const PipelineStatusSchema = z.object({
  id: z.string(),
  runId: z.string(),
  model: z.string(),
  status: z.enum(pipelineStatuses),
  stage: z.enum(stageNames),
  reason: z.enum(rejectionReasons).nullable(),
  error: z.string().nullable(),
  modelVersion: z.number().nullable(),
  task: z.string().nullable(),
  dataset: z.object({ hash: z.string(), rows: z.number(), deduplicated: z.boolean() }).nullable(),
  validation: z.object({
    passed: z.boolean(), anomalies: z.array(AnomalySchema),
    reference: z.object({ contract: z.string().nullable(), previous: z.string().nullable() }).optional(),
  }).nullable(),
  training: TrainingStatusSchema.nullable(),
  metrics: Metrics.nullable(),
  championMetrics: Metrics.nullable(),
  gates: z.object({ passed: z.boolean(), failures: z.array(z.string()) }).nullable(),
  approval: z.object({
    required: z.boolean(), decision: z.enum(decisions).nullable(), by: z.string().nullable(),
    at: z.string().nullable(), comment: z.string().nullable(), deadline: z.string().nullable(),
    /** N-of-M: approvals needed, approvals so far, and how many more are needed (absent on runs from before N-of-M) */
    needed: z.number().optional(),
    received: z.number().optional(),
    stillNeeded: z.number().optional(),
    /** who may decide (null: anyone with the approver role) */
    approvers: z.array(z.string()).nullable().optional(),
    /** every decision so far, oldest first, with what the person was shown when deciding */
    decisions: z.array(ApprovalDecisionSchema).optional(),
    remindedAt: z.string().nullable().optional(),
    escalatedAt: z.string().nullable().optional(),
  }),
  /** whether the version loads and answers through the serving path as it evaluated */
  servability: ServabilityCheckSchema.optional(),
  /** the canary rollout: live while it runs (the API asks the child workflow), its end once over */
  canary: z.union([CanaryStatusSchema, z.object({ skipped: z.string() })]).nullable(),
  stages: z.array(StageRecordSchema),
  startedBy: z.string().nullable(),
  /** the owner of the key that started it: four-eyes keeps them (with any of their keys) from deciding on it */
  startedByOwner: z.string().nullable().optional(),
  /** what started it: a person (api), the monitor (drift, performance), a schedule, new data (arrival); null for runs recorded before triggers were */
  trigger: PipelineTriggerSchema.nullable().optional(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
});
export type PipelineStatus = z.output<typeof PipelineStatusSchema>;

/** What a person deciding on a pipeline is asked to approve: the approval terms, the gates and the canary limits it runs under (its model's policy applied). */
export const PipelineRulesSchema = z.object({
  approval: PipelineRequest.shape.approval,
  gates: PipelineRequest.shape.gates,
  canary: PipelineRequest.shape.canary,
}).openapi('PipelineRules');
export type PipelineRules = z.output<typeof PipelineRulesSchema>;

/** The pipeline as the API shows it: its status, the rules it runs under, and where to see its history. */
export const PipelineViewSchema = PipelineStatusSchema.extend({
  temporalUiUrl: z.string(),
  rules: PipelineRulesSchema.nullable().optional(),
}).openapi('Pipeline');
export type PipelineView = z.output<typeof PipelineViewSchema>;

