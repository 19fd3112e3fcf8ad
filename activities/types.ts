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
}

/** A pipeline request after validation and defaults (see api/schemas.ts for the HTTP contract). */
export interface PipelineSpec {
  model: string;
  dataset: { uri: string; format?: DatasetFormat };
  target: string;
  task?: ModelTask;
  features?: string[];
  training: TrainingParams;
  gates: {
    minMetrics: Record<string, number>;
    maxMetrics: Record<string, number>;
    mustBeatProduction: boolean;
    tolerance: number;
  };
  approval: { required: boolean; timeout: string; onTimeout: 'reject' };
  canary: Record<string, unknown> | null;
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
  top?: { value: string; count: number }[];
}

export interface DatasetVersion {
  hash: string;
  rows: number;
  format: DatasetFormat;
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
}

export interface ValidationReport {
  passed: boolean;
  anomalies: Anomaly[];
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
  epochs: number;
  trainRows: number;
  holdoutRows: number;
  finalLoss: number;
  finalValLoss: number | null;
  trainSeconds: number;
}

export interface EvaluateInput {
  dataset: DatasetVersion;
  target: string;
  params: TrainingParams;
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
}

export interface ModelVersionRef {
  model: string;
  version: number;
  artifactKey: string;
}
