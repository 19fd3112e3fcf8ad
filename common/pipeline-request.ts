/**
 * The pipeline request: the body of POST /v1/pipelines (and of a schedule, a retraining, an arrival).
 * These zod schemas validate requests and generate /openapi.json; every TypeScript type of a pipeline's
 * settings is derived from them. Defaults here are the platform's defaults (documented in README.md).
 */
import { z } from '@hono/zod-openapi';
import { Duration } from './duration-schema';
import { DURATION_PATTERN, msOf } from './durations';
import { MonitorSettingsPatchSchema } from './monitor-settings';
import { SafeMultilineText, SafeText } from './text';
import { MAX_DATASET_URI_LENGTH, SQL_SCHEME } from './source-uri';
import { canaryModes, datasetFormats, modelTasks, triggerKinds } from './vocabulary';

/** Bounds of a hyperparameter search: values per parameter, and combinations in all (the grid is built in workflow code). */
export const MAX_VALUES_PER_PARAMETER = 100;
export const MAX_GRID_SIZE = 10_000;
const gridSize = (space: Record<string, unknown[] | undefined>) => Object.values(space).reduce((n, v) => n * (v?.length ?? 1), 1);

export { Duration, MAX_DURATION, MIN_DURATION } from './duration-schema';
/** a canary step may be held at most this many times its length while it waits for traffic */
export const MAX_STEP_HOLDS = 100;
export const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
  'expected 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit').openapi({ example: 'weather' });

/**
 * The terms of a human decision, the same in a pipeline request and in a model's policy: how many
 * distinct people must approve, who may, when to remind and escalate, how long to wait and what a
 * timeout means (approve only where a policy explicitly says so).
 */
export const ApprovalTermsSchema = z.object({
  required: z.boolean().default(true),
  approvals: z.number().int().min(1).max(10).default(1)
    .openapi({ description: 'distinct owners with the approver role who must approve; a rejection by any one of them rejects' }),
  approvers: z.array(SafeText.min(1).max(128)).min(1).max(50).nullable().default(null)
    .openapi({ description: 'who may decide: owners by name, or "group:<name>" for every key an admin put in that group; null: anyone with the approver role' }),
  timeout: Duration.default('72h').openapi({ description: 'the longest a pipeline waits for its decision' }),
  onTimeout: z.enum(['reject', 'approve']).default('reject')
    .openapi({ description: "what a timeout decides; a request may ask for approve only where the model's policy says approve" }),
  remindAfter: Duration.nullable().default(null).openapi({ description: 'an approval.reminder notification when still undecided after this long' }),
  escalateAfter: Duration.nullable().default(null).openapi({ description: 'an approval.escalated notification when still undecided after this long' }),
}).strict().superRefine((a, ctx) => {
  const valid = (d: string | null | undefined) => typeof d === 'string' && DURATION_PATTERN.test(d);
  for (const key of ['remindAfter', 'escalateAfter'] as const) {
    const d = a[key];
    if (valid(d) && valid(a.timeout) && msOf(d!) >= msOf(a.timeout)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `${key} (${d}) must be shorter than the timeout (${a.timeout}): it would never fire` });
    }
  }
}).prefault({});
export type ApprovalTerms = z.output<typeof ApprovalTermsSchema>;

export const TrainingSchema = z.object({
  epochs: z.number().int().min(1).max(10_000).default(30),
  batchSize: z.number().int().min(1).max(65_536).default(64),
  learningRate: z.number().positive().max(10).default(0.01),
  hiddenUnits: z.array(z.number().int().min(1).max(4096)).max(10).default([64, 32]),
  validationSplit: z.number().min(0).max(0.5).default(0.2),
  holdoutFraction: z.number().gt(0).max(0.5).default(0.2),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  checkpointEvery: z.number().int().min(1).max(10_000).default(5),
  dropout: z.number().min(0).max(0.9).default(0),
  l2: z.number().min(0).max(10).default(0),
  patience: z.number().int().min(1).max(10_000).nullable().default(null),
  classWeight: z.enum(['balanced']).nullable().default(null),
  cache: z.boolean().default(true),
  split: z.object({
    by: SafeText.min(1).max(256).openapi({ description: 'a time column: the latest holdoutFraction of rows are held out for evaluation' }),
    validationFraction: z.number().min(0).max(0.5).optional().openapi({ description: 'the latest share of the training rows used for validation' }),
  }).strict().nullable().default(null).openapi({ description: 'time-ordered split for time-ordered data (default: seeded random)' }),
}).strict();

export const CanarySchema = z.object({
  mode: z.enum(canaryModes).default('split')
    .openapi({ description: 'split: the canary answers its share of requests; shadow: it sees a mirror of that share and production answers every request' }),
  steps: z.array(z.number().int().min(1).max(99)).min(1).max(20).default([10, 50])
    .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]), 'steps must increase')
    .openapi({ description: "the canary's percent of traffic at each step; after the last, 100 % and promotion" }),
  stepDuration: Duration.default('10m'),
  maxStepDuration: Duration.optional().openapi({ description: 'how long a step may be held in all while it waits for minRequests (default 3 x stepDuration)' }),
  minRequests: z.number().int().min(0).max(1_000_000_000).default(100).openapi({ description: 'canary predictions a step needs to be judged' }),
  onInsufficientTraffic: z.enum(['rollback', 'promote']).default('rollback'),
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  maxLatencyRatio: z.number().min(1).max(1000).default(1.5).openapi({ description: 'canary p95 / production p95 (both floored at 1 ms)' }),
  maxPredictionDistance: z.number().min(0).max(1).default(0.2).openapi({ description: 'Jensen-Shannon distance between the prediction distributions' }),
  minLabels: z.number().int().min(1).max(1_000_000_000).default(50).openapi({ description: 'feedback labels each side needs before accuracy is compared' }),
  maxAccuracyDrop: z.number().min(0).max(1).default(0.05)
    .openapi({ description: 'classification: accuracy on feedback may be this much lower; regression: MAE this fraction higher' }),
}).strict().refine((c) => !c.maxStepDuration || !DURATION_PATTERN.test(c.maxStepDuration) || !DURATION_PATTERN.test(c.stepDuration)
  // (a bad duration is reported by its own field: zod runs this refinement all the same)
  || msOf(c.maxStepDuration) <= MAX_STEP_HOLDS * msOf(c.stepDuration), {
  message: `maxStepDuration may be at most ${MAX_STEP_HOLDS} times stepDuration`, path: ['maxStepDuration'],
}).openapi('CanarySettings');

export const PipelineRequest = z.object({
  model: ModelName,
  dataset: z.object({
    uri: z.string().min(1).max(MAX_DATASET_URI_LENGTH).openapi({
      example: 'node_modules/vega-datasets/data/seattle-weather.csv',
      description: 'dataset://<hash> (an uploaded or earlier version); a path or file:// inside PERENNIAL_IMPORT_ROOTS; '
        + 'http(s):// (public addresses only); or sql://<name> (a connection in PERENNIAL_SQL_SOURCES, with query)',
    }),
    format: z.enum(datasetFormats).optional().openapi({ description: 'inferred from the extension or the content when absent' }),
    query: z.string().min(1).max(100_000).optional().openapi({ description: 'sql://<name> sources: the SELECT whose rows are the dataset (run READ ONLY)' }),
    csv: z.object({
      delimiter: z.string().min(1).max(4).optional(),
      header: z.boolean().optional(),
      quote: z.string().length(1).optional(),
    }).strict().optional().openapi({ description: 'CSV options; sniffed when absent' }),
  }).strict().refine((d) => !d.uri.toLowerCase().startsWith(SQL_SCHEME) || d.query, { message: 'an sql:// dataset needs a query', path: ['query'] }),
  target: SafeText.min(1).max(256).openapi({ example: 'weather' }),
  intendedUse: SafeMultilineText.max(5000).optional().openapi({ description: 'what the model is for (and not for): the model card opens with it' }),
  task: z.enum(modelTasks).optional(),
  features: z.array(SafeText.min(1).max(256)).min(1).max(10_000).optional(),
  validation: z.object({
    unseenCategoryShare: z.number().min(0).max(1).default(0.05),
    missingRateIncrease: z.number().min(0).max(1).default(0.1),
    outOfRangeShare: z.number().min(0).max(1).default(0.05),
    rowCountFactor: z.number().min(1).max(1e6).default(10),
    duplicateRowShare: z.number().min(0).max(1).default(0.05),
    psi: z.number().min(0).max(100).default(0.25),
    jsDistance: z.number().min(0).max(1).default(0.2),
    failOnDrift: z.boolean().default(false),
  }).strict().prefault({}).openapi({ description: 'Thresholds of the data checks (see README: Data validation)' }),
  training: TrainingSchema.prefault({}),
  tuning: z.object({
    trials: z.number().int().min(1).max(100).default(8),
    parallelism: z.number().int().min(1).max(32).default(2),
    metric: z.enum(['val_loss', 'loss']).default('val_loss'),
    space: z.object({
      learningRate: z.array(z.number().positive().max(10)).min(1).max(MAX_VALUES_PER_PARAMETER).optional(),
      hiddenUnits: z.array(z.array(z.number().int().min(1).max(4096)).max(10)).min(1).max(MAX_VALUES_PER_PARAMETER).optional(),
      dropout: z.array(z.number().min(0).max(0.9)).min(1).max(MAX_VALUES_PER_PARAMETER).optional(),
      l2: z.array(z.number().min(0)).min(1).max(MAX_VALUES_PER_PARAMETER).optional(),
      batchSize: z.array(z.number().int().min(1).max(65_536)).min(1).max(MAX_VALUES_PER_PARAMETER).optional(),
    }).strict().refine((space) => gridSize(space) <= MAX_GRID_SIZE, {
      message: `the search space has more than ${MAX_GRID_SIZE.toLocaleString('en')} combinations (the product of the values per parameter); narrow it`,
    }),
  }).strict().nullable().default(null).openapi({ description: 'Hyperparameter search: each trial is its own durable training activity' }),
  evaluation: z.object({
    slices: z.array(SafeText.min(1).max(256)).max(20).default([]).openapi({ description: 'metrics per value of these columns' }),
    sensitive: z.array(SafeText.min(1).max(256)).max(20).default([]).openapi({ description: 'fairness: selection rate and true positive rate per group' }),
    positiveClass: SafeText.max(256).optional().openapi({ description: 'the class that counts as selected; default: the last label in sorted order' }),
  }).strict().prefault({}),
  gates: z.object({
    maxFairnessGap: z.number().min(0).max(1).nullable().default(null)
      .openapi({ description: 'largest allowed gap between groups of a sensitive column, in selection rate or true positive rate' }),
    minMetrics: z.record(SafeText.max(64), z.number()).default({}),
    maxMetrics: z.record(SafeText.max(64), z.number()).default({}),
    mustBeatProduction: z.boolean().default(false),
    tolerance: z.number().min(0).max(1e6).default(0),
  }).strict().prefault({}),
  approval: ApprovalTermsSchema,
  canary: CanarySchema.nullable().default(null)
    .openapi({ description: 'Canary rollout after approval ({} for the defaults); null promotes straight after approval.' }),
  monitor: MonitorSettingsPatchSchema.default({})
    .openapi({ description: 'settings of the model\'s monitor from this version\'s promotion on (see PUT /v1/models/:name/monitor)' }),
}).strict().openapi('PipelineRequest');
export type PipelineRequest = z.input<typeof PipelineRequest>;
/** A pipeline request after validation and defaults: what the workflow runs. */
export type PipelineSpec = z.output<typeof PipelineRequest>;
export type TrainingParams = z.output<typeof TrainingSchema>;
export type CanarySpec = z.output<typeof CanarySchema>;
export type DatasetSpec = PipelineSpec['dataset'];
export type CsvOptions = NonNullable<DatasetSpec['csv']>;
export type ValidationOptions = PipelineSpec['validation'];
export type TuningSpec = NonNullable<PipelineSpec['tuning']>;
export type EvaluationSpec = PipelineSpec['evaluation'];
export type GatesSpec = PipelineSpec['gates'];

/** What started a pipeline, shown on it and kept with its record. */
export const PipelineTriggerSchema = z.object({
  kind: z.enum(triggerKinds),
  /** who: the person's name (api), or the monitor, schedule or arrival that started it */
  by: z.string().nullable(),
  /** the drift report that started it (drift, performance) */
  reportId: z.string().optional(),
  scheduleId: z.string().optional(),
  /** the new data's hash (arrival): the same bytes never start a second retraining */
  datasetHash: z.string().optional(),
}).openapi('PipelineTrigger');
export type PipelineTrigger = z.output<typeof PipelineTriggerSchema>;
