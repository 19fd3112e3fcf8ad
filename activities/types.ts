/**
 * The inputs and outputs of the training activities that no other layer shares. Workflows import
 * these as types only; everything here is plain JSON so it can live in Temporal's event history.
 * Shared shapes are in common/ (domain.ts, and the contracts they derive from).
 */
import type { DatasetVersion } from '../common/domain';
import type { EvaluationSpec, TrainingParams } from '../common/pipeline-request';
import type { ColumnSchema } from '../common/pipeline-status';
import type { ModelTask } from '../common/vocabulary';

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

export interface TrialResult {
  trial: number;
  params: Partial<TrainingParams>;
  valLoss: number | null;
  loss: number;
  epochs: number;
  artifactKey: string;
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
  /** what it trained on: "cpu: <model> (n cores)" or "cuda: <GPU name>" */
  device?: string;
  /** why this backend: the size rule's figures, or PERENNIAL_TF_BACKEND */
  backendReason?: string;
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
  evaluation?: EvaluationSpec;
  candidateArtifactKey: string;
  /** the current production model, judged on the same held-out rows */
  championArtifactKey?: string;
}
