/**
 * The HTTP contract as zod schemas: they validate requests and generate /openapi.json.
 * Defaults here are the platform's defaults (documented in README.md).
 */
import { z } from '@hono/zod-openapi';

export const Duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'expected a duration such as "90s", "10m" or "72h"')
  .openapi({ example: '72h' });
export const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
  'expected 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit').openapi({ example: 'weather' });

export const TrainingSchema = z.object({
  epochs: z.number().int().min(1).max(10_000).default(30),
  batchSize: z.number().int().min(1).max(65_536).default(64),
  learningRate: z.number().positive().max(10).default(0.01),
  hiddenUnits: z.array(z.number().int().min(1).max(4096)).max(10).default([64, 32]),
  validationSplit: z.number().min(0).max(0.5).default(0.2),
  holdoutFraction: z.number().gt(0).max(0.5).default(0.2),
  seed: z.number().int().min(0).default(42),
  checkpointEvery: z.number().int().min(1).default(5),
  dropout: z.number().min(0).max(0.9).default(0),
  l2: z.number().min(0).default(0),
  patience: z.number().int().min(1).nullable().default(null),
  classWeight: z.enum(['balanced']).nullable().default(null),
  cache: z.boolean().default(true),
  split: z.object({
    by: z.string().min(1).openapi({ description: 'a time column: the latest holdoutFraction of rows are held out for evaluation' }),
    validationFraction: z.number().min(0).max(0.5).optional().openapi({ description: 'the latest share of the training rows used for validation' }),
  }).strict().nullable().default(null).openapi({ description: 'time-ordered split for time-ordered data (default: seeded random)' }),
}).strict();

export const CanarySchema = z.object({
  mode: z.enum(['split', 'shadow']).default('split')
    .openapi({ description: 'split: the canary answers its share of requests; shadow: it sees a mirror of that share and production answers every request' }),
  steps: z.array(z.number().int().min(1).max(99)).min(1).max(20).default([10, 50])
    .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]), 'steps must increase')
    .openapi({ description: "the canary's percent of traffic at each step; after the last, 100 % and promotion" }),
  stepDuration: Duration.default('10m'),
  maxStepDuration: Duration.optional().openapi({ description: 'how long a step may be held in all while it waits for minRequests (default 3 x stepDuration)' }),
  minRequests: z.number().int().min(0).default(100).openapi({ description: 'canary predictions a step needs to be judged' }),
  onInsufficientTraffic: z.enum(['rollback', 'promote']).default('rollback'),
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  maxLatencyRatio: z.number().min(1).default(1.5).openapi({ description: 'canary p95 / production p95 (both floored at 1 ms)' }),
  maxPredictionDistance: z.number().min(0).max(1).default(0.2).openapi({ description: 'Jensen-Shannon distance between the prediction distributions' }),
  minLabels: z.number().int().min(1).default(50).openapi({ description: 'feedback labels each side needs before accuracy is compared' }),
  maxAccuracyDrop: z.number().min(0).max(1).default(0.05)
    .openapi({ description: 'classification: accuracy on feedback may be this much lower; regression: MAE this fraction higher' }),
}).strict().openapi('CanarySettings');

export const PipelineRequest = z.object({
  model: ModelName,
  dataset: z.object({
    uri: z.string().min(1).openapi({ example: 'node_modules/vega-datasets/data/seattle-weather.csv', description: 'a path, file://, http(s)://, or postgres:// (with query)' }),
    format: z.enum(['csv', 'json', 'ndjson', 'parquet']).optional().openapi({ description: 'inferred from the extension or the content when absent' }),
    query: z.string().min(1).optional().openapi({ description: 'postgres:// sources: the SELECT whose rows are the dataset' }),
    csv: z.object({
      delimiter: z.string().min(1).max(4).optional(),
      header: z.boolean().optional(),
      quote: z.string().length(1).optional(),
    }).strict().optional().openapi({ description: 'CSV options; sniffed when absent' }),
  }).strict().refine((d) => !/^postgres(ql)?:\/\//i.test(d.uri) || d.query, { message: 'a postgres:// dataset needs a query', path: ['query'] }),
  target: z.string().min(1).openapi({ example: 'weather' }),
  intendedUse: z.string().max(5000).optional().openapi({ description: 'what the model is for (and not for): the model card opens with it' }),
  task: z.enum(['classification', 'regression']).optional(),
  features: z.array(z.string().min(1)).min(1).optional(),
  validation: z.object({
    unseenCategoryShare: z.number().min(0).max(1).default(0.05),
    missingRateIncrease: z.number().min(0).max(1).default(0.1),
    outOfRangeShare: z.number().min(0).max(1).default(0.05),
    rowCountFactor: z.number().min(1).default(10),
    duplicateRowShare: z.number().min(0).max(1).default(0.05),
    psi: z.number().min(0).default(0.25),
    jsDistance: z.number().min(0).max(1).default(0.2),
    failOnDrift: z.boolean().default(false),
  }).strict().prefault({}).openapi({ description: 'Thresholds of the data checks (see README: Data validation)' }),
  training: TrainingSchema.prefault({}),
  tuning: z.object({
    trials: z.number().int().min(1).max(100).default(8),
    parallelism: z.number().int().min(1).max(32).default(2),
    metric: z.enum(['val_loss', 'loss']).default('val_loss'),
    space: z.object({
      learningRate: z.array(z.number().positive().max(10)).min(1).optional(),
      hiddenUnits: z.array(z.array(z.number().int().min(1).max(4096)).max(10)).min(1).optional(),
      dropout: z.array(z.number().min(0).max(0.9)).min(1).optional(),
      l2: z.array(z.number().min(0)).min(1).optional(),
      batchSize: z.array(z.number().int().min(1).max(65_536)).min(1).optional(),
    }).strict(),
  }).strict().nullable().default(null).openapi({ description: 'Hyperparameter search: each trial is its own durable training activity' }),
  evaluation: z.object({
    slices: z.array(z.string().min(1)).max(20).default([]).openapi({ description: 'metrics per value of these columns' }),
    sensitive: z.array(z.string().min(1)).max(20).default([]).openapi({ description: 'fairness: selection rate and true positive rate per group' }),
    positiveClass: z.string().optional().openapi({ description: 'the class that counts as selected; default: the last label in sorted order' }),
  }).strict().prefault({}),
  gates: z.object({
    maxFairnessGap: z.number().min(0).max(1).nullable().default(null)
      .openapi({ description: 'largest allowed gap between groups of a sensitive column, in selection rate or true positive rate' }),
    minMetrics: z.record(z.string(), z.number()).default({}),
    maxMetrics: z.record(z.string(), z.number()).default({}),
    mustBeatProduction: z.boolean().default(false),
    tolerance: z.number().min(0).default(0),
  }).strict().prefault({}),
  approval: z.object({
    required: z.boolean().default(true),
    timeout: Duration.default('72h'),
    onTimeout: z.enum(['reject']).default('reject'),
  }).strict().prefault({}),
  canary: CanarySchema.nullable().default(null)
    .openapi({ description: 'Canary rollout after approval ({} for the defaults); null promotes straight after approval.' }),
  monitor: z.record(z.string(), z.unknown()).default({}),
}).strict().openapi('PipelineRequest');
export type PipelineRequest = z.infer<typeof PipelineRequest>;

export const PredictRequest = z.object({
  instances: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000),
}).strict().openapi('PredictRequest');

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
}).openapi('Error');

const Anomaly = z.object({
  kind: z.string(), column: z.string().optional(), severity: z.enum(['error', 'warning']), message: z.string(),
  observed: z.unknown().optional(), expected: z.unknown().optional(),
});
const Stage = z.enum(['ingest', 'validate', 'train', 'evaluate', 'approval', 'servability', 'canary', 'promote', 'done']);

export const CanaryAnalysisSchema = z.record(z.string(), z.unknown()).openapi({
  description: 'window, canary and production (requests, errors, errorRate, latencyP95Ms, labels, feedbackScore), latencyRatio, predictionDistance, sufficient, passed, failures, notes',
});
export const CanaryStatusSchema = z.object({
  workflowId: z.string(), model: z.string(), version: z.number(), mode: z.enum(['split', 'shadow']),
  step: z.number(), steps: z.array(z.number()), trafficPercent: z.number(), holding: z.boolean(), waiting: z.boolean(),
  analyses: z.array(CanaryAnalysisSchema), outcome: z.enum(['promoted', 'rolled_back']).nullable(),
  reason: z.string().nullable(), decidedBy: z.string().nullable(), comment: z.string().nullable(),
}).openapi('Canary');

export const PipelineStatusSchema = z.object({
  id: z.string(),
  runId: z.string(),
  model: z.string(),
  status: z.enum(['running', 'awaiting_approval', 'completed', 'rejected', 'failed', 'cancelled']),
  stage: Stage,
  reason: z.enum(['validation', 'gates', 'approval', 'approval_timeout', 'servability', 'canary']).nullable(),
  error: z.string().nullable(),
  modelVersion: z.number().nullable(),
  task: z.string().nullable(),
  dataset: z.object({ hash: z.string(), rows: z.number(), deduplicated: z.boolean() }).nullable(),
  validation: z.object({
    passed: z.boolean(), anomalies: z.array(Anomaly),
    reference: z.object({ contract: z.string().nullable(), previous: z.string().nullable() }).optional(),
  }).nullable(),
  training: z.object({
    epoch: z.number(), epochs: z.number(), loss: z.number().nullable(), valLoss: z.number().nullable().optional(),
    backend: z.string().nullable(), device: z.string().optional(), trainSeconds: z.number().nullable(), resumedFromEpoch: z.number().optional(),
    cached: z.boolean().optional(), cachedFrom: z.object({ version: z.number(), pipelineId: z.string() }).optional(),
    trials: z.array(z.object({
      trial: z.number(), params: z.record(z.string(), z.unknown()), valLoss: z.number().nullable(), loss: z.number(), epochs: z.number(),
    })).optional(),
    bestTrial: z.number().optional(),
  }).nullable(),
  metrics: z.record(z.string(), z.number()).nullable(),
  championMetrics: z.record(z.string(), z.number()).nullable(),
  gates: z.object({ passed: z.boolean(), failures: z.array(z.string()) }).nullable(),
  approval: z.object({
    required: z.boolean(), decision: z.enum(['approved', 'rejected', 'timed_out']).nullable(), by: z.string().nullable(),
    at: z.string().nullable(), comment: z.string().nullable(), deadline: z.string().nullable(),
  }),
  servability: z.object({ servable: z.boolean(), problem: z.string().optional(), instances: z.number() }).optional(),
  canary: z.union([CanaryStatusSchema, z.object({ skipped: z.string() })]).nullable(),
  stages: z.array(z.object({
    name: Stage, status: z.enum(['running', 'completed', 'failed', 'skipped']), startedAt: z.string(), endedAt: z.string().nullable(),
  })),
  startedBy: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  temporalUiUrl: z.string(),
}).openapi('Pipeline');

export const PipelineStarted = z.object({ id: z.string(), runId: z.string(), temporalUiUrl: z.string() }).openapi('PipelineStarted');
export const DecisionRequest = z.object({ comment: z.string().max(10_000).optional() }).strict().openapi('Decision');

export const ApiKeyCreate = z.object({
  name: z.string().min(1).max(200),
  role: z.enum(['viewer', 'operator', 'approver', 'admin']),
}).strict().openapi('ApiKeyCreate');
export const ApiKeySchema = z.object({
  id: z.string(), name: z.string(), role: z.string(), createdAt: z.string(), revokedAt: z.string().nullable(),
}).openapi('ApiKey');

export const ModelVersionSchema = z.object({
  version: z.number(), status: z.string(), metrics: z.record(z.string(), z.number()), datasetHash: z.string(),
  params: z.record(z.string(), z.unknown()), features: z.array(z.string()), target: z.string(), backend: z.string(),
  codeVersion: z.string(), pipelineId: z.string(), workflowRunId: z.string(), createdAt: z.string(),
  approvedBy: z.string().nullable(), approvedAt: z.string().nullable(),
}).openapi('ModelVersion');
export const ModelSummary = z.object({
  name: z.string(), task: z.string(), productionVersion: z.number().nullable(), canaryVersion: z.number().nullable(),
  canaryTrafficPercent: z.number(), canaryMode: z.enum(['split', 'shadow']), updatedAt: z.string(),
}).openapi('ModelSummary');
export const ModelDetail = ModelSummary.extend({ versions: z.array(ModelVersionSchema) }).openapi('Model');

export const DatasetSchema = z.object({
  hash: z.string(), sourceUri: z.string(), format: z.string(), rows: z.number(), sizeBytes: z.number(),
  schema: z.unknown(), statistics: z.unknown(), firstSeenAt: z.string(),
}).openapi('Dataset');

export const errorResponses = (...codes: (400 | 401 | 403 | 404 | 409 | 413 | 422)[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: errorDescriptions[c], content: { 'application/json': { schema: ErrorSchema } } }]));
const errorDescriptions = {
  400: 'Invalid input; details names the fields', 401: 'No or bad token', 403: 'Role too low, or a rule such as four-eyes',
  404: 'No such thing', 409: 'State conflict', 413: 'Body too large', 422: 'Refused by the stage',
} as const;
