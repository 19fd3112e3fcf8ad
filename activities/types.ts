/**
 * The shapes that cross the workflow/activity boundary. Workflows import these as types only;
 * everything here is plain JSON so it can live in Temporal's event history.
 */
export type Role = 'viewer' | 'operator' | 'approver' | 'admin';
export type ModelTask = 'classification' | 'regression';
export type DatasetFormat = 'csv' | 'json' | 'ndjson' | 'parquet';
export type ColumnKind = 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'text' | 'unsupported';

/** Who asked: an API key (or the bootstrap admin token). */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

export interface TrainingParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number[];
  validationSplit: number;
  /** share of rows held out for evaluation, never seen in training */
  holdoutFraction: number;
  seed: number;
  /** a checkpoint every this many epochs, for a replacement worker to resume from */
  checkpointEvery: number;
  /** dropout rate after each hidden layer */
  dropout: number;
  /** L2 regularisation of the hidden layers' weights */
  l2: number;
  /** stop when validation loss has not improved for this many epochs (null: run every epoch) */
  patience: number | null;
  /** 'balanced' weighs classes inversely to their frequency */
  classWeight: 'balanced' | null;
  /** false: train even when an earlier run had the same data, parameters and code */
  cache?: boolean;
  /** split by a time column instead of at random: the latest rows are held out, the next latest validate */
  split?: { by: string; validationFraction?: number } | null;
}

/** What the train activity heartbeats: progress, and the checkpoint a replacement worker resumes from. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  loss: number | null;
  valLoss: number | null;
  checkpointKey: string | null;
  checkpointEpoch: number;
  resumedFromEpoch: number;
}

export interface DatasetSpec {
  /** a path, file://, http(s)://, or postgres:// (with query) */
  uri: string;
  format?: DatasetFormat;
  /** postgres:// sources: the SELECT whose rows are the dataset */
  query?: string;
  /** CSV reading options; sniffed when absent */
  csv?: CsvOptions;
}

/** Thresholds of the data checks; every one has a documented default (validation.ts). */
export interface ValidationOptions {
  unseenCategoryShare: number;
  missingRateIncrease: number;
  outOfRangeShare: number;
  rowCountFactor: number;
  duplicateRowShare: number;
  psi: number;
  jsDistance: number;
  /** drift above its threshold stops the pipeline instead of warning */
  failOnDrift: boolean;
}

export interface TuningSpec {
  trials: number;
  parallelism: number;
  /** what picks the best trial: validation loss (default) or training loss; lower is better */
  metric: 'val_loss' | 'loss';
  /** for each training parameter, the values to try */
  space: Partial<Record<'learningRate' | 'hiddenUnits' | 'dropout' | 'l2' | 'batchSize', unknown[]>>;
}

export interface TrialResult {
  trial: number;
  params: Partial<TrainingParams>;
  valLoss: number | null;
  loss: number;
  epochs: number;
  artifactKey: string;
}

/** A pipeline request after validation and defaults (see api/schemas.ts for the HTTP contract). */
export interface PipelineSpec {
  model: string;
  dataset: DatasetSpec;
  target: string;
  /** what the model is for and what it must not be used for: the model card's first section */
  intendedUse?: string;
  validation: ValidationOptions;
  /** hyperparameter search: trials fanned out as separate training activities */
  tuning?: TuningSpec | null;
  task?: ModelTask;
  features?: string[];
  training: TrainingParams;
  evaluation: {
    /** metrics per value of these columns */
    slices: string[];
    /** selection rate and true positive rate per group of these columns, and the largest gaps */
    sensitive: string[];
    /** the class that counts as "selected" for fairness; default: the last label in sorted order */
    positiveClass?: string;
  };
  gates: {
    maxFairnessGap?: number | null;
    minMetrics: Record<string, number>;
    maxMetrics: Record<string, number>;
    mustBeatProduction: boolean;
    tolerance: number;
  };
  approval: { required: boolean; timeout: string; onTimeout: 'reject' };
  canary: CanarySpec | null;
  monitor: Record<string, unknown>;
}

export interface ColumnSchema {
  name: string;
  /** DuckDB's type name, e.g. DOUBLE, VARCHAR, DATE */
  type: string;
  kind: ColumnKind;
}

export interface ColumnStatistics {
  name: string;
  kind: ColumnKind;
  count: number;
  missing: number;
  distinct: number;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  std?: number | null;
  /** numerics: the 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles, keyed "p1" ... "p99" */
  quantiles?: Record<string, number>;
  /** numerics: 20 equal-width bins from min to max (edges has 21 entries) */
  histogram?: { edges: number[]; counts: number[] };
  /** categoricals and booleans: the 20 most frequent values */
  top?: { value: string; count: number }[];
}

export interface DatasetStatistics {
  rows: number;
  /** rows that repeat an earlier row exactly */
  duplicateRows: number;
  columns: ColumnStatistics[];
}

export interface CsvOptions { delimiter?: string; header?: boolean; quote?: string }

export interface DatasetVersion {
  hash: string;
  rows: number;
  format: DatasetFormat;
  /** CSV: the delimiter, quote and header every reader uses */
  readOptions: CsvOptions;
  artifactKey: string;
  sizeBytes: number;
  columns: ColumnSchema[];
  /** true when these exact bytes had been stored before */
  deduplicated: boolean;
}

export interface Anomaly {
  kind: string;
  column?: string;
  severity: 'error' | 'warning';
  message: string;
  observed?: unknown;
  expected?: unknown;
}

/** A model's data contract: set by the first dataset version accepted for it. */
export interface ContractColumn {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
  missingRate: number;
  /** the allowed categories, when the reference had at most 20 */
  categories?: string[];
  min?: number | null;
  max?: number | null;
}

export interface ValidationReport {
  passed: boolean;
  anomalies: Anomaly[];
  /** the dataset versions it was held against */
  reference: { contract: string | null; previous: string | null };
  /** the task, inferred from the target when the request did not say */
  task: ModelTask;
  /** the feature columns the model will use */
  features: ColumnSchema[];
}

export interface TrainInput {
  pipelineId: string;
  model: string;
  dataset: DatasetVersion;
  target: string;
  task: ModelTask;
  features: ColumnSchema[];
  params: TrainingParams;
}

export interface TrainResult {
  artifactKey: string;
  backend: string;
  /** cpu or cuda */
  device?: string;
  epochs: number;
  trainRows: number;
  holdoutRows: number;
  finalLoss: number;
  finalValLoss: number | null;
  trainSeconds: number;
  /** 0, or the checkpoint epoch a replacement worker resumed from */
  resumedFromEpoch: number;
  /** early stopping ended training before the last epoch */
  stoppedEarly?: boolean;
}

export interface EvaluateInput {
  dataset: DatasetVersion;
  target: string;
  params: TrainingParams;
  evaluation?: PipelineSpec['evaluation'];
  candidateArtifactKey: string;
  /** the current production model, judged on the same held-out rows */
  championArtifactKey?: string;
}

export type Metrics = Record<string, number>;

export interface EvaluationResult {
  metrics: Metrics;
  championMetrics?: Metrics;
  /** accuracy (classification) or rmse (regression) */
  primaryMetric: string;
  rows: number;
  confusionMatrix?: { labels: string[]; matrix: number[][] };
  perClass?: { label: string; precision: number; recall: number; f1: number; support: number }[];
  /** per slice column: metrics for each of its values */
  slices?: Record<string, { value: string; rows: number; metrics: Metrics }[]>;
  /** permutation importance on the held-out rows: how much the primary metric worsens when a feature is shuffled */
  importance?: { feature: string; importance: number }[];
  fairness?: Record<string, FairnessReport>;
  /**
   * A few held-out rows as raw JSON instances, and the network's outputs for them on the evaluation
   * path: the servability check sends the instances through the serving path and expects the same.
   */
  servingSample?: ServingSample;
}

export interface ServingSample { instances: Record<string, unknown>[]; outputs: number[] }

/** canary rollout: each step's share of traffic, how long it is held, and what the analysis tolerates */
export interface CanarySpec {
  /** 'split': the canary answers its share; 'shadow': it sees a mirror of that share, production answers all */
  mode: 'split' | 'shadow';
  steps: number[];
  stepDuration: string;
  /** how long a step may be held, in all, while it waits for minRequests */
  maxStepDuration?: string;
  minRequests: number;
  onInsufficientTraffic: 'rollback' | 'promote';
  maxErrorRateIncrease: number;
  maxLatencyRatio: number;
  /** Jensen-Shannon distance between canary and production prediction distributions */
  maxPredictionDistance: number;
  /** labelled feedback each side needs before accuracy is compared */
  minLabels: number;
  /** classification: accuracy may fall this much; regression: MAE may rise by this fraction */
  maxAccuracyDrop: number;
}

export interface CanaryAnalysis {
  window: { since: string; until: string };
  canary: CanarySide;
  production: CanarySide & { version: number | null };
  latencyRatio: number | null;
  predictionDistance: number | null;
  /** enough canary requests to judge */
  sufficient: boolean;
  passed: boolean;
  failures: string[];
  notes: string[];
}
export interface CanarySide {
  requests: number;
  errors: number;
  errorRate: number;
  latencyP95Ms: number | null;
  labels: number;
  /** accuracy (classification) or mae (regression) on labelled feedback */
  feedbackScore: number | null;
}

export interface FairnessReport {
  positiveClass: string;
  groups: { value: string; rows: number; selectionRate: number; truePositiveRate: number | null }[];
  selectionRateGap: number;
  truePositiveRateGap: number;
}

export interface ModelVersionRef {
  model: string;
  version: number;
  artifactKey: string;
}
