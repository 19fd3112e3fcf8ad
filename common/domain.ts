/**
 * The data model's shapes that several layers share: the workflows and activities pass them through
 * Temporal's history, the database stores them in typed jsonb columns, the API shows them. Plain JSON.
 * Shapes of a request or a status are derived from their zod contracts (pipeline-request.ts,
 * pipeline-status.ts), never written here again.
 */
import type { CsvOptions } from './pipeline-request';
import type { Anomaly, ColumnSchema } from './pipeline-status';
import type { ColumnStatistics, DatasetStatistics } from './resources';
import type { ColumnKind, DatasetFormat, ModelTask, Role } from './vocabulary';

/** Who asked: an API key (or the bootstrap admin token), as the API authenticated it. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  /** the person or service the key belongs to: four-eyes compares owners */
  owner: string;
  /** the owner of the key that minted this one: its pipelines are not this key's to decide */
  mintedBy: string | null;
  /** groups an admin put the key in: a policy's approvers may name one as `group:<name>` (absent on keys from before groups) */
  groups?: string[];
}

export type { ColumnStatistics, DatasetStatistics };

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

export type Metrics = Record<string, number>;

export interface PerClassMetrics { label: string; precision: number; recall: number; f1: number; support: number }

export interface FairnessReport {
  positiveClass: string;
  groups: { value: string; rows: number; selectionRate: number; truePositiveRate: number | null }[];
  selectionRateGap: number;
  truePositiveRateGap: number;
}

/** A few held-out rows as raw JSON instances, and the network's outputs for them on the evaluation path. */
export interface ServingSample { instances: Record<string, unknown>[]; outputs: number[] }

export interface EvaluationResult {
  metrics: Metrics;
  championMetrics?: Metrics;
  /** accuracy (classification) or rmse (regression) */
  primaryMetric: string;
  rows: number;
  confusionMatrix?: { labels: string[]; matrix: number[][] };
  perClass?: PerClassMetrics[];
  /** per slice column: metrics for each of its values */
  slices?: Record<string, { value: string; rows: number; metrics: Metrics }[]>;
  /** permutation importance on the held-out rows: how much the primary metric worsens when a feature is shuffled */
  importance?: { feature: string; importance: number }[];
  fairness?: Record<string, FairnessReport>;
  /** (runs before raw rows were kept out of workflow history) the sample itself */
  servingSample?: ServingSample;
  /**
   * the artifact holding the servability check's sample (instances it sends through the serving path,
   * and the outputs it expects): raw rows stay in the artifact store, never in workflow history
   */
  servingSampleKey?: string;
}

/** What a model version keeps of its evaluation (model_versions.evaluation): the model card reads it. */
export interface VersionEvaluation extends Omit<EvaluationResult, 'metrics' | 'championMetrics' | 'servingSample' | 'servingSampleKey'> {
  championMetrics: Metrics | null;
  championVersion: number | null;
}


export interface ModelVersionRef {
  model: string;
  version: number;
  artifactKey: string;
}

/**
 * A version's answers on its held-out rows: a classifier's probabilities (row-major over `labels`)
 * and true class indices (-1: a label training never saw); a regression's predicted values.
 */
export interface ReferenceScores { labels: string[]; truth: number[]; probabilities: number[]; values?: number[] }
/** Where evaluation keeps them, beside the model bundle: the monitor's reference for CBPE. */
export const referenceScoresKey = (modelArtifactKey: string) => `${modelArtifactKey}/reference-scores.json`;
