/** What GET /v1/pipelines/:id shows: the pipeline's own account of where it is. */
import type { Anomaly, Metrics, PipelineSpec, Principal, TrialResult } from '../activities/types';
import type { CanaryStatus } from './definitions';

export type PipelineStatusName = 'running' | 'awaiting_approval' | 'completed' | 'rejected' | 'failed' | 'cancelled';
export type StageName = 'ingest' | 'validate' | 'train' | 'evaluate' | 'approval' | 'servability' | 'canary' | 'promote' | 'done';
export type RejectionReason = 'validation' | 'gates' | 'approval' | 'approval_timeout' | 'servability' | 'canary';

export interface StageRecord {
  name: StageName;
  status: 'running' | 'completed' | 'failed' | 'skipped';
  startedAt: string;
  endedAt: string | null;
}

export interface PipelineStatus {
  id: string;
  runId: string;
  model: string;
  status: PipelineStatusName;
  stage: StageName;
  reason: RejectionReason | null;
  error: string | null;
  modelVersion: number | null;
  task: string | null;
  dataset: { hash: string; rows: number; deduplicated: boolean } | null;
  validation: { passed: boolean; anomalies: Anomaly[]; reference?: { contract: string | null; previous: string | null } } | null;
  training: {
    epoch: number; epochs: number; loss: number | null; valLoss?: number | null; backend: string | null; device?: string; trainSeconds: number | null;
    resumedFromEpoch?: number;
    /** true when an earlier run's model for the same data, parameters and code was reused */
    cached?: boolean;
    cachedFrom?: { version: number; pipelineId: string };
    /** hyperparameter search: every trial, and which one won */
    trials?: Omit<TrialResult, 'artifactKey'>[];
    bestTrial?: number;
  } | null;
  metrics: Metrics | null;
  championMetrics: Metrics | null;
  gates: { passed: boolean; failures: string[] } | null;
  approval: { required: boolean; decision: 'approved' | 'rejected' | 'timed_out' | null; by: string | null; at: string | null; comment: string | null; deadline: string | null };
  /** the servability check: whether the version loads and answers through the serving path as it evaluated */
  servability?: { servable: boolean; problem?: string; instances: number };
  /** the canary rollout: live while it runs (the API asks the child workflow), its end once over */
  canary: (CanaryStatus & { trafficPercent: number }) | { skipped: string } | null;
  stages: StageRecord[];
  startedBy: string | null;
  startedAt: string;
  endedAt: string | null;
}

export interface PipelineInput {
  spec: PipelineSpec;
  /** who started it; null when started outside the API */
  requestedBy?: Principal | null;
  /** task queue of the training workers; defaults to `perennial-training` */
  trainingTaskQueue?: string;
  /** how long a training worker may go silent before another takes over from its checkpoint */
  trainingHeartbeatTimeout?: string;
}

export function initialStatus(id: string, runId: string, input: PipelineInput, now: Date): PipelineStatus {
  return {
    id, runId, model: input.spec.model, status: 'running', stage: 'ingest', reason: null, error: null, modelVersion: null,
    task: input.spec.task ?? null, dataset: null, validation: null, training: null, metrics: null, championMetrics: null, gates: null,
    approval: { required: input.spec.approval.required, decision: null, by: null, at: null, comment: null, deadline: null },
    canary: null, stages: [], startedBy: input.requestedBy?.name ?? null, startedAt: now.toISOString(), endedAt: null,
  };
}
