/**
 * What a pipeline answers: its status query, and the approve/reject Updates a person sends.
 * A validator in the workflow refuses a decision that is not allowed before it enters history;
 * the refusals are ApplicationFailures of the types in common/names.ts (ErrorTypes).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Principal } from '../common/domain';
import type { PipelineStatus } from '../common/pipeline-status';

export const statusQuery = defineQuery<PipelineStatus>('status');

export interface DecisionInput {
  /** the authenticated principal that decides: the validator checks its role and four-eyes again */
  by: Principal;
  comment?: string;
}

export const approveUpdate = defineUpdate<PipelineStatus, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<PipelineStatus, [DecisionInput]>('reject');
