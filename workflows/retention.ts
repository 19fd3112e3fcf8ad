/**
 * pruneRecords: what the platform's retention schedule (`<task queue>-prediction-retention`, by default
 * `perennial-prediction-retention`, a Temporal Schedule the orchestration worker creates) runs: predictions older than the retention go, with
 * their feedback; the count is audited. Visible, paused or triggered in the Temporal UI like any schedule.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import { recordkeeping } from './activity-options';

export const PRUNE_WORKFLOW = 'pruneRecords';
/** One schedule per installation, named after its orchestration task queue: `perennial-prediction-retention` by default. */
export const retentionScheduleId = (taskQueue: string) => `${taskQueue}-prediction-retention`;

export interface PruneInput {
  /** a duration: predictions older than this go */
  predictionRetention: string;
}

export async function pruneRecords(input: PruneInput): Promise<{ predictions: number }> {
  const records = proxyActivities<OrchestrationActivities>(recordkeeping);
  return records.prunePredictionLog({ retention: input.predictionRetention });
}
