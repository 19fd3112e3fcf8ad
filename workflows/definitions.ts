/** The messages a pipeline answers: its status query and the approve/reject updates. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Principal } from '../activities/types';
import type { PipelineStatus } from './status';

export const statusQuery = defineQuery<PipelineStatus>('status');

export interface DecisionInput {
  /** the API key that decides: the validator checks its role and four-eyes */
  by: Principal;
  comment?: string;
}
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
