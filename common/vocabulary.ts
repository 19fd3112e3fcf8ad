/**
 * The platform's fixed vocabularies, written once. The database enums (db/schema.ts), the zod
 * contracts (common/*) and the workflows all take their names from these lists.
 */
export const roles = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

export const modelTasks = ['classification', 'regression'] as const;
export type ModelTask = (typeof modelTasks)[number];

export const datasetFormats = ['csv', 'json', 'ndjson', 'parquet'] as const;
export type DatasetFormat = (typeof datasetFormats)[number];

export const columnKinds = ['numeric', 'categorical', 'boolean', 'datetime', 'text', 'unsupported'] as const;
export type ColumnKind = (typeof columnKinds)[number];

/** A model version moves candidate -> approved -> (canary ->) production -> archived, or ends rejected. */
export const versionStatuses = ['candidate', 'rejected', 'approved', 'canary', 'production', 'archived'] as const;
export type VersionStatus = (typeof versionStatuses)[number];

export const pipelineStatuses = ['running', 'awaiting_approval', 'completed', 'rejected', 'failed', 'cancelled'] as const;
export type PipelineStatusName = (typeof pipelineStatuses)[number];

export const stageNames = ['ingest', 'validate', 'train', 'evaluate', 'approval', 'servability', 'canary', 'promote', 'done'] as const;
export type StageName = (typeof stageNames)[number];

export const stageStatuses = ['running', 'completed', 'failed', 'skipped'] as const;

/** Why a pipeline ended rejected. */
export const rejectionReasons = ['validation', 'gates', 'approval', 'approval_timeout', 'servability', 'canary'] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

/** What became of a candidate awaiting approval. */
export const decisions = ['approved', 'rejected', 'timed_out'] as const;
export type Decision = (typeof decisions)[number];

/** split: the canary answers its share of requests; shadow: it sees a mirror of that share and production answers all. */
export const canaryModes = ['split', 'shadow'] as const;
export type CanaryMode = (typeof canaryModes)[number];

export const canaryOutcomes = ['promoted', 'rolled_back'] as const;
export type CanaryOutcome = (typeof canaryOutcomes)[number];

/** Who answered a logged prediction: production, the canary, or the shadow candidate (whose answer was never returned). */
export const predictionRoles = ['production', 'canary', 'shadow'] as const;
export type PredictionRole = (typeof predictionRoles)[number];

/** Every state change the audit log records, by the action it names. */
export const auditActions = [
  'api_key.create', 'api_key.revoke',
  'approval.request', 'approval.remind', 'approval.escalate',
  'approve', 'reject', 'approval_timeout',
  'reject_gates', 'reject_servability',
  'promote', 'rollback',
  'canary_weight', 'canary_rollback', 'canary.clear',
  'pipeline.start', 'pipeline.cancel', 'policy.update',
  'schedule.create', 'schedule.update', 'schedule.delete', 'schedule.pause', 'schedule.unpause', 'schedule.trigger',
  'monitor.update', 'monitor.pause', 'monitor.resume', 'retraining.start', 'predictions.prune',
  'drift.detected', 'pipeline.fail',
  'webhook.create', 'webhook.delete',
] as const;
export type AuditAction = (typeof auditActions)[number];

export const actorKinds = ['person', 'system'] as const;
export type ActorKind = (typeof actorKinds)[number];

/** What started a pipeline: a person through the API, drift, a schedule, new data, or a retry. */
export const triggerKinds = ['api', 'drift', 'performance', 'schedule', 'arrival', 'retry'] as const;
export type TriggerKind = (typeof triggerKinds)[number];

/** Metrics where a lower value is the better model; every other metric is higher-is-better. */
export const lowerIsBetterMetrics = ['rmse', 'mae', 'log_loss', 'mape', 'ece'] as const;
export const higherIsBetter = (metric: string) => !(lowerIsBetterMetrics as readonly string[]).includes(metric);

/**
 * What a monitor check did: nothing; started a retraining or joined the one running; held back by
 * the cooldown; judged nothing because the monitor is paused or the window had too few rows.
 */
export const monitorActions = ['none', 'retraining_started', 'retraining_running', 'cooldown', 'paused', 'too_few_rows'] as const;
export type MonitorAction = (typeof monitorActions)[number];
