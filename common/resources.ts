/**
 * The HTTP contracts of the other resources: predictions, feedback, API keys, models, datasets and
 * the error shape. The typed client (client/) and /openapi.json are derived from them.
 */
import { z } from '@hono/zod-openapi';
import { canaryModes, roles, versionStatuses, modelTasks } from './vocabulary';

export const PredictRequest = z.object({
  instances: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000),
}).strict().openapi('PredictRequest');

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
}).openapi('Error');

export const PipelineStarted = z.object({ id: z.string(), runId: z.string(), temporalUiUrl: z.string() }).openapi('PipelineStarted');
export const DecisionRequest = z.object({ comment: z.string().max(10_000).optional() }).strict().openapi('Decision');

export const ApiKeyCreated = z.object({ id: z.string(), name: z.string(), role: z.enum(roles), token: z.string() }).openapi('ApiKeyCreated');
export const ApiKeyCreate = z.object({
  name: z.string().min(1).max(200),
  role: z.enum(roles),
}).strict().openapi('ApiKeyCreate');
export const ApiKeySchema = z.object({
  id: z.string(), name: z.string(), role: z.enum(roles), createdAt: z.string(), revokedAt: z.string().nullable(),
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

export const DatasetSchema = z.object({
  hash: z.string(), sourceUri: z.string(), format: z.string(), rows: z.number(), sizeBytes: z.number(),
  schema: z.unknown(), statistics: z.unknown(), firstSeenAt: z.string(),
}).openapi('Dataset');

const FeedbackItem = z.object({
  predictionId: z.string().min(1).max(100),
  label: z.string().max(1000).optional(),
  value: z.number().finite().optional(),
}).strict().refine((i) => (i.label === undefined) !== (i.value === undefined), {
  message: 'give the true label (classification) or value (regression), not both', path: ['label'],
});
export const FeedbackRequest = z.object({ items: z.array(FeedbackItem).min(1).max(10_000) }).strict().openapi('FeedbackRequest');

export const RollbackRequest = z.object({
  toVersion: z.number().int().min(1).optional().openapi({ description: 'default: the previous production version' }),
  comment: z.string().max(10_000).optional(),
}).strict().openapi('Rollback');
