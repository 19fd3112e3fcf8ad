/**
 * Perennial's data model. PostgreSQL holds what has been decided; Temporal holds what is in flight.
 * This file is the single source of truth for the tables: migrations/ is generated from it by
 * drizzle-kit (`npm run db:generate`) and never edited by hand.
 */
import { sql } from 'drizzle-orm';
import type {
  ContractColumn, DatasetStatistics, Metrics, VersionEvaluation,
} from '../common/domain';
import type { CsvOptions, PipelineSpec, PipelineTrigger } from '../common/pipeline-request';
import type { ModelPolicy } from '../common/policy';
import type { DriftReport } from '../common/monitor-settings';
import type { ThresholdBase } from '../ml/drift-check';
import type { ColumnSchema, PipelineStatus, TrainingStatus } from '../common/pipeline-status';
import { webhookEvents } from '../common/webhook-events';
import { deliveryStatuses } from '../common/webhooks';
import {
  actorKinds, auditActions, canaryModes, datasetFormats, decisions, modelTasks, monitorActions, pipelineStatuses, predictionRoles, roles, versionStatuses,
} from '../common/vocabulary';
import {
  bigint, bigserial, boolean, doublePrecision, index, integer, jsonb, pgEnum, pgTable, serial, text, timestamp, unique, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

export const roleEnum = pgEnum('role', roles);
export const modelTaskEnum = pgEnum('model_task', modelTasks);
export const versionStatusEnum = pgEnum('version_status', versionStatuses);
export const pipelineStatusEnum = pgEnum('pipeline_status', pipelineStatuses);

/**
 * API keys: only the sha256 of the token is kept; the token itself is shown once, at creation.
 * A key belongs to an owner (a person or a service): four-eyes compares owners, not keys, and a key
 * minted by a pipeline's starter (created_by_owner) cannot decide on that starter's pipelines.
 */
export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  owner: text('owner').notNull(),
  role: roleEnum('role').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdBy: text('created_by'),
  createdByOwner: text('created_by_owner'),
  /** groups an admin put the key in: a policy's approvers may name one as `group:<name>` */
  groups: jsonb('groups').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** A dataset version is the sha256 of its bytes: the same bytes are stored once, whoever sends them. */
export const datasets = pgTable('datasets', {
  hash: text('hash').primaryKey(),
  sourceUri: text('source_uri').notNull(),
  format: text('format', { enum: datasetFormats }).notNull(),
  /** how the file is read (CSV: delimiter, quote, header), resolved once at ingest so every reader agrees */
  readOptions: jsonb('read_options').$type<CsvOptions>().notNull().default(sql`'{}'::jsonb`),
  artifactKey: text('artifact_key').notNull(),
  sizeBytes: integer('size_bytes').notNull(),
  rows: integer('rows').notNull(),
  /** [{name, type (DuckDB type), kind (numeric|categorical|boolean|datetime|text|unsupported)}] */
  schema: jsonb('schema').$type<ColumnSchema[]>().notNull(),
  /** {rows, duplicateRows, columns: [per column: kind, count, missing, distinct, min, max, mean, std, quantiles, histogram, top]} */
  statistics: jsonb('statistics').$type<DatasetStatistics>().notNull(),
  firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A model's data contract: the first dataset version accepted for the model sets the columns, kinds,
 * categories, ranges and nullability that later versions are held against; previous_hash is the
 * latest accepted version, the reference for drift.
 */
export const dataContracts = pgTable('data_contracts', {
  modelName: text('model_name').primaryKey(),
  referenceHash: text('reference_hash').notNull().references(() => datasets.hash),
  /** [{name, kind, nullable, missingRate, categories?, min?, max?}] */
  columns: jsonb('columns').$type<ContractColumn[]>().notNull(),
  previousHash: text('previous_hash').notNull().references(() => datasets.hash),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A named model and its deployment: production_version serves traffic; while a canary rolls out,
 * canary_version takes canary_weight percent of requests (split) or sees a mirror of them (shadow).
 * Every API replica is told of a change at once: a trigger (migrations/0005) sends
 * NOTIFY perennial_deployments with the model's name.
 */
export const models = pgTable('models', {
  name: text('name').primaryKey(),
  task: modelTaskEnum('task').notNull(),
  productionVersion: integer('production_version'),
  canaryVersion: integer('canary_version'),
  /** 0-100: the share of requests the canary answers (split) or is shown (shadow) */
  canaryWeight: integer('canary_weight').notNull().default(0),
  canaryMode: text('canary_mode', { enum: canaryModes }).notNull().default('split'),
  /** the canary workflow that holds the slot: a lease that a reconciler or an approver can clear when that run is gone */
  canaryWorkflowId: text('canary_workflow_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Every evaluated candidate becomes a version, with its full lineage: data, parameters, code, run. */
export const modelVersions = pgTable('model_versions', {
  id: serial('id').primaryKey(),
  modelName: text('model_name').notNull().references(() => models.name),
  version: integer('version').notNull(),
  status: versionStatusEnum('status').notNull().default('candidate'),
  task: modelTaskEnum('task').notNull(),
  datasetHash: text('dataset_hash').notNull().references(() => datasets.hash),
  target: text('target').notNull(),
  features: jsonb('features').$type<string[]>().notNull(),
  params: jsonb('params').$type<Record<string, unknown>>().notNull(),
  metrics: jsonb('metrics').$type<Metrics>().notNull(),
  /** held-out rows, per-class metrics, confusion matrix, and production's metrics on the same rows */
  evaluation: jsonb('evaluation').$type<Partial<VersionEvaluation>>().notNull().default(sql`'{}'::jsonb`),
  /** epochs, seconds, whether resumed or reused from cache */
  training: jsonb('training').$type<Partial<TrainingStatus>>().notNull().default(sql`'{}'::jsonb`),
  /** what the model is for, from the pipeline request: the model card's first section */
  intendedUse: text('intended_use'),
  artifactKey: text('artifact_key').notNull(),
  backend: text('backend').notNull(),
  codeVersion: text('code_version').notNull(),
  pipelineId: text('pipeline_id').notNull(),
  workflowRunId: text('workflow_run_id').notNull(),
  approvedBy: text('approved_by'),
  approvedAt: timestamp('approved_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  unique('model_versions_model_version').on(t.modelName, t.version),
  // Temporal retries activities: registering the same pipeline's candidate twice yields one version.
  uniqueIndex('model_versions_pipeline').on(t.pipelineId),
  // at most one production version and one canary per model, whatever races the API and workflows run
  uniqueIndex('model_versions_one_production').on(t.modelName).where(sql`${t.status} = 'production'`),
  uniqueIndex('model_versions_one_canary').on(t.modelName).where(sql`${t.status} = 'canary'`),
]);

/**
 * What every pipeline of a model must meet, set by an approver (GET/PUT /v1/models/:name/policy):
 * approval, gates and canary floors. A pipeline request may tighten it, never loosen it.
 * A model without a row has the default policy (common/policy.ts).
 */
export const modelPolicies = pgTable('model_policies', {
  modelName: text('model_name').primaryKey(),
  policy: jsonb('policy').$type<ModelPolicy>().notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One row per pipeline run, written by the workflow itself at start and at its end. */
export const pipelineRuns = pgTable('pipeline_runs', {
  id: text('id').primaryKey(),
  runId: text('run_id').notNull(),
  modelName: text('model_name').notNull(),
  status: pipelineStatusEnum('status').notNull().default('running'),
  reason: text('reason'),
  startedBy: text('started_by'),
  /** what started it: a person through the API, and later drift, a schedule or new data */
  trigger: jsonb('trigger').$type<PipelineTrigger>(),
  request: jsonb('request').$type<PipelineSpec>().notNull(),
  /** the final status document, as GET /v1/pipelines/:id shows it once the run has ended */
  outcome: jsonb('outcome').$type<PipelineStatus>(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  endedAt: timestamp('ended_at', { withTimezone: true }),
}, (t) => [index('pipeline_runs_model_created').on(t.modelName, t.createdAt)]);

/** A person's decision on a candidate (or the timeout's). One per pipeline. */
export const approvals = pgTable('approvals', {
  pipelineId: text('pipeline_id').primaryKey(),
  modelName: text('model_name').notNull(),
  version: integer('version').notNull(),
  decision: text('decision', { enum: decisions }).notNull(),
  byKeyId: text('by_key_id'),
  byName: text('by_name'),
  comment: text('comment'),
  decidedAt: timestamp('decided_at', { withTimezone: true }).notNull(),
});

/**
 * The audit log: append-only. Every approval, rejection, promotion, rollback, canary step and key
 * change, written through db/audit.ts. The actor is a person (an API key's holder) or a part of
 * the system; idempotency_key makes a retried activity write its event once.
 */
export const auditEvents = pgTable('audit_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  actorKind: text('actor_kind', { enum: actorKinds }).notNull(),
  /** the API key's id, or the system part's name */
  actorId: text('actor_id').notNull(),
  actorName: text('actor_name').notNull(),
  action: text('action', { enum: auditActions }).notNull(),
  modelName: text('model_name'),
  version: integer('version'),
  pipelineId: text('pipeline_id'),
  details: jsonb('details').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  idempotencyKey: text('idempotency_key').unique(),
}, (t) => [
  index('audit_events_model_at').on(t.modelName, t.at),
  index('audit_events_actor_at').on(t.actorId, t.at),
]);

/**
 * The prediction log: one row per answered instance (or a sample of them, PERENNIAL_PREDICTION_SAMPLE_RATE),
 * written in batches off the request path. role says who answered: production, the canary, or the
 * shadow candidate (whose answer was never returned; shadow_of is the production prediction it mirrors).
 */
export const predictions = pgTable('predictions', {
  id: text('id').primaryKey(),
  modelName: text('model_name').notNull(),
  version: integer('version').notNull(),
  role: text('role', { enum: predictionRoles }).notNull(),
  shadowOf: text('shadow_of'),
  entityKey: text('entity_key'),
  /** the owner of the key the answer went to: only they (or an approver) may label it */
  requestedBy: text('requested_by'),
  features: jsonb('features').$type<Record<string, unknown>>().notNull(),
  /** {label, probabilities} or {value}; null when the model failed */
  output: jsonb('output').$type<PredictionOutput>(),
  /** the predicted label (classification), kept apart for distribution queries */
  label: text('label'),
  value: doublePrecision('value'),
  /** why the model could not answer (the request was answered by production instead) */
  error: text('error'),
  /** the model's time for the request this instance came in */
  latencyMs: doublePrecision('latency_ms').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
}, (t) => [
  index('predictions_model_version_created').on(t.modelName, t.version, t.createdAt),
  // the monitor's window: a model's newest predictions, whichever version answered
  index('predictions_model_created').on(t.modelName, t.createdAt),
]);

/** Ground truth that arrives later, joined to a prediction by its id (POST /v1/feedback). */
export const feedback = pgTable('feedback', {
  predictionId: text('prediction_id').primaryKey(),
  label: text('label'),
  value: doublePrecision('value'),
  /** the owner of the key that sent the label: the first label per prediction counts */
  byOwner: text('by_owner'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * What the monitor compares each window against, computed once per model version: the training
 * dataset's feature columns (sorted numeric values, categorical values) and the training labels, as
 * an artifact, and the calibrated threshold bases per resample size (ml/drift-check.ts ThresholdBase).
 */
export const driftReferences = pgTable('drift_references', {
  modelName: text('model_name').notNull(),
  version: integer('version').notNull(),
  datasetHash: text('dataset_hash').notNull().references(() => datasets.hash),
  rows: integer('rows').notNull(),
  artifactKey: text('artifact_key').notNull(),
  /** sample rows -> ThresholdBase */
  thresholdBases: jsonb('threshold_bases').$type<Record<string, ThresholdBase>>().notNull().default(sql`'{}'::jsonb`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex('drift_references_model_version').on(t.modelName, t.version)]);

/** One row per monitor check: the whole report (API.md's DriftReport) and what the monitor did about it. */
export const driftReports = pgTable('drift_reports', {
  id: text('id').primaryKey(),
  modelName: text('model_name').notNull(),
  version: integer('version').notNull(),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
  windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
  rows: integer('rows').notNull(),
  datasetDrift: boolean('dataset_drift').notNull(),
  action: text('action', { enum: monitorActions }).notNull(),
  pipelineId: text('pipeline_id'),
  report: jsonb('report').$type<DriftReport>().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('drift_reports_model_created').on(t.modelName, t.createdAt)]);

/**
 * A receiver of notifications (POST /v1/webhooks): the events it wants and the secret that signs
 * each delivery (kept to sign with; no answer shows it). Deleting one sets deleted_at: its
 * deliveries keep their history, and none is sent to it again.
 */
export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  events: text('events', { enum: webhookEvents }).array().notNull(),
  secret: text('secret').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
});

/**
 * The outbox: one row per webhook per event, written by db/audit.ts in the same transaction as the
 * audit event that raised it, so a committed decision always has its notification. A trigger
 * (migrations/0011) sends NOTIFY perennial_webhook_deliveries; the dispatcher (platform/) hands each
 * pending row to a `webhook-delivery-<id>` workflow, which sends it and records every attempt here.
 * The id is time-ordered (a UUID v7): the log pages by it, newest first. body is the exact JSON text
 * that is signed and sent (jsonb would reorder its keys).
 */
export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: uuid('id').primaryKey(),
  webhookId: text('webhook_id').notNull().references(() => webhooks.id),
  event: text('event', { enum: webhookEvents }).notNull(),
  /** the audit event that raised it (no foreign key: the audit log refuses TRUNCATE by its own trigger, and nothing is ever removed from it) */
  auditEventId: bigint('audit_event_id', { mode: 'number' }).notNull(),
  body: text('body').notNull(),
  status: text('status', { enum: deliveryStatuses }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  lastStatusCode: integer('last_status_code'),
  lastError: text('last_error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
}, (t) => [
  index('webhook_deliveries_webhook_id').on(t.webhookId, t.id),
  // the dispatcher's sweep: the few rows not yet handed to a workflow
  index('webhook_deliveries_pending').on(t.createdAt).where(sql`${t.status} = 'pending'`),
]);

export const schema = {
  apiKeys, datasets, dataContracts, models, modelVersions, modelPolicies, pipelineRuns, approvals, auditEvents, predictions, feedback,
  driftReferences, driftReports, webhooks, webhookDeliveries,
};

/** A prediction as the log keeps it: the label and its probabilities, or the value. */
export type PredictionOutput = { label: string; probabilities: Record<string, number> } | { value: number };

/**
 * A person signed in to the console: the cookie holds a random id, stored here only as its sha256;
 * the session names the API key it acts as (revoking the key ends it) and carries its CSRF token.
 */
export const consoleSessions = pgTable('console_sessions', {
  idHash: text('id_hash').primaryKey(),
  keyId: text('key_id').notNull(),
  csrf: text('csrf').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
