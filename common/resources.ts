/**
 * The HTTP contracts of the other resources: predictions, feedback, API keys, models, datasets and
 * the error shape. The typed client (client/) and /openapi.json are derived from them.
 */
import { z } from '@hono/zod-openapi';
import { ColumnSchemaSchema } from './pipeline-status';
import { SafeMultilineText, SafeText } from './text';
import { canaryModes, columnKinds, datasetFormats, modelTasks, roles, versionStatuses } from './vocabulary';

export const PredictRequest = z.object({
  instances: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000),
}).strict().openapi('PredictRequest');

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
}).openapi('Error');

export const PipelineStarted = z.object({ id: z.string(), runId: z.string(), temporalUiUrl: z.string() }).openapi('PipelineStarted');
export const DecisionRequest = z.object({ comment: SafeMultilineText.max(10_000).optional() }).strict().openapi('Decision');

export const ApiKeyCreated = z.object({ id: z.string(), name: z.string(), owner: z.string(), role: z.enum(roles), groups: z.array(z.string()), token: z.string() }).openapi('ApiKeyCreated');
export const ApiKeyCreate = z.object({
  name: SafeText.min(1).max(200),
  owner: SafeText.min(1).max(200).optional().openapi({ description: 'the person or service the key belongs to (default: name); four-eyes compares owners' }),
  role: z.enum(roles),
  groups: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit'))
    .max(20).default([]).openapi({ description: 'groups the key belongs to: a policy\'s approvers may name one as "group:<name>"' }),
}).strict().openapi('ApiKeyCreate');
export const ApiKeySchema = z.object({
  id: z.string(), name: z.string(), owner: z.string(), role: z.enum(roles), groups: z.array(z.string()), createdAt: z.string(), revokedAt: z.string().nullable(),
}).openapi('ApiKey');

export const ModelVersionSchema = z.object({
  version: z.number(), status: z.enum(versionStatuses), metrics: z.record(z.string(), z.number()), datasetHash: z.string(),
  params: z.record(z.string(), z.unknown()), features: z.array(z.string()), target: z.string(), backend: z.string(),
  codeVersion: z.string(), pipelineId: z.string(), workflowRunId: z.string(), createdAt: z.string(),
  approvedBy: z.string().nullable(), approvedAt: z.string().nullable(),
}).openapi('ModelVersion');
export const ModelSummary = z.object({
  name: z.string(), task: z.enum(modelTasks), productionVersion: z.number().nullable(), canaryVersion: z.number().nullable(),
  canaryTrafficPercent: z.number(), canaryMode: z.enum(canaryModes), updatedAt: z.string(),
}).openapi('ModelSummary');
export const ModelDetail = ModelSummary.extend({ versions: z.array(ModelVersionSchema) }).openapi('Model');

export const ColumnStatisticsSchema = z.object({
  name: z.string(),
  kind: z.enum(columnKinds),
  count: z.number(),
  missing: z.number(),
  distinct: z.number(),
  min: z.union([z.number(), z.string()]).nullable().optional(),
  max: z.union([z.number(), z.string()]).nullable().optional(),
  mean: z.number().nullable().optional(),
  std: z.number().nullable().optional(),
  quantiles: z.record(z.string(), z.number()).optional().openapi({ description: 'numerics: the 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles, keyed "p1" ... "p99"' }),
  histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number()) }).optional()
    .openapi({ description: 'numerics: 20 equal-width bins from min to max (edges has 21 entries)' }),
  top: z.array(z.object({ value: z.string(), count: z.number() })).optional().openapi({ description: 'categoricals and booleans: the 20 most frequent values' }),
});
export type ColumnStatistics = z.output<typeof ColumnStatisticsSchema>;

export const DatasetStatisticsSchema = z.object({
  rows: z.number(),
  duplicateRows: z.number().openapi({ description: 'rows that repeat an earlier row exactly' }),
  columns: z.array(ColumnStatisticsSchema),
}).openapi('DatasetStatistics');
export type DatasetStatistics = z.output<typeof DatasetStatisticsSchema>;

export const DatasetSchema = z.object({
  hash: z.string(), sourceUri: z.string(), format: z.enum(datasetFormats), rows: z.number(), sizeBytes: z.number(),
  schema: z.array(ColumnSchemaSchema), statistics: DatasetStatisticsSchema, firstSeenAt: z.string(),
}).openapi('Dataset');

export const DatasetUploadQuery = z.object({
  name: z.string().min(1).max(200).regex(/^[^\p{Cc}]*$/u, 'no control characters')
    .openapi({ description: 'a label for the upload, kept as its source ("upload:<name>")', example: 'seattle' }),
  format: z.enum(datasetFormats).openapi({ description: 'how to read the file' }),
});
export const DatasetUploaded = DatasetSchema.extend({
  uri: z.string().openapi({ description: 'what a pipeline names as dataset.uri', example: 'dataset://<sha256>' }),
}).openapi('DatasetUploaded');

const FeedbackItem = z.object({
  predictionId: SafeText.min(1).max(100),
  label: SafeText.max(1000).optional(),
  value: z.number().finite().optional(),
}).strict().refine((i) => (i.label === undefined) !== (i.value === undefined), {
  message: 'give the true label (classification) or value (regression), not both', path: ['label'],
});
export const FeedbackRequest = z.object({ items: z.array(FeedbackItem).min(1).max(10_000) }).strict().openapi('FeedbackRequest');
export const FeedbackAccepted = z.object({
  accepted: z.number().openapi({ description: 'labels stored' }),
  alreadyLabelled: z.number().openapi({ description: 'ids that had a label already: the first label counts, later ones are ignored' }),
  notFound: z.number().openapi({ description: "ids that are not a logged prediction answered to this key's owner (an approver may label any): ignored" }),
  notFoundIds: z.array(z.string()).openapi({ description: 'the first 20 of them' }),
}).openapi('FeedbackAccepted');

export const RollbackRequest = z.object({
  toVersion: z.number().int().min(1).max(2_147_483_647).optional().openapi({ description: 'default: the previous production version' }),
  comment: SafeMultilineText.max(10_000).optional(),
}).strict().openapi('Rollback');
