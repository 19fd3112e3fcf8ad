/** The messages a pipeline answers: its status query and the approve/reject updates. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CanaryAnalysis, Principal } from '../activities/types';
import type { PipelineStatus } from './status';

export const statusQuery = defineQuery<PipelineStatus>('status');

export interface DecisionInput {
  /** the API key that decides: the validator checks its role and four-eyes */
  by: Principal;
  comment?: string;
}
/** approving, rejecting, aborting and promoting a canary need the approver role (or admin) */
export const mayDecide = (by: Principal) => by.role === 'approver' || by.role === 'admin';

export const approveUpdate = defineUpdate<PipelineStatus, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<PipelineStatus, [DecisionInput]>('reject');

/** Why an approve/reject was refused, as ApplicationFailure types the API maps to HTTP statuses. */
export const DecisionRefusal = {
  notAwaiting: 'NotAwaitingApproval', // 409
  forbidden: 'RoleTooLow', // 403
  fourEyes: 'FourEyes', // 403
} as const;

export const ModelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const PipelineStageKey = defineSearchAttributeKey('PipelineStage', SearchAttributeType.KEYWORD);

/** The canary rollout's messages: where it stands, and a person's abort or promote-now. */
export interface CanaryStatus {
  workflowId: string;
  model: string;
  version: number;
  mode: 'split' | 'shadow';
  /** 1-based index into steps; 0 before the first */
  step: number;
  steps: number[];
  trafficPercent: number;
  /** true while a step is held longer for want of traffic */
  holding: boolean;
  /** true while another version's canary of the same model runs: one canary per model at a time */
  waiting: boolean;
  analyses: CanaryAnalysis[];
  outcome: 'promoted' | 'rolled_back' | null;
  /** why it ended: passed, analysis, insufficient_traffic, aborted, promoted_now, cancelled */
  reason: string | null;
  decidedBy: string | null;
  comment: string | null;
}
export const canaryStatusQuery = defineQuery<CanaryStatus>('canaryStatus');
export const abortCanaryUpdate = defineUpdate<CanaryStatus, [DecisionInput]>('abort');
export const promoteCanaryUpdate = defineUpdate<CanaryStatus, [DecisionInput]>('promoteNow');
export const CanaryRefusal = {
  notRunning: 'CanaryNotRunning', // 409
  forbidden: DecisionRefusal.forbidden, // 403
} as const;
