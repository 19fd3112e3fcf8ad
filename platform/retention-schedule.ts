/**
 * The retention schedule the platform keeps: `<task queue>-prediction-retention` (by default
 * `perennial-prediction-retention`), a Temporal Schedule
 * that runs pruneRecords every 6 hours with the configured PERENNIAL_PREDICTION_RETENTION. Created by
 * the orchestration worker at start, or brought in line with the configuration when it exists. It is
 * a Schedule, not a timer in a process: it shows in the Temporal UI, and a person may pause or trigger it.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { PRUNE_WORKFLOW, retentionScheduleId, type PruneInput } from '../workflows/retention';

export const RETENTION_INTERVAL = '6h';

export async function ensureRetentionSchedule(client: Client, taskQueue: string, predictionRetention: string): Promise<void> {
  const args: [PruneInput] = [{ predictionRetention }];
  const action = { type: 'startWorkflow' as const, workflowType: PRUNE_WORKFLOW, taskQueue, workflowId: `${taskQueue}-prune-records`, args };
  try {
    await client.schedule.create({
      scheduleId: retentionScheduleId(taskQueue),
      spec: { intervals: [{ every: RETENTION_INTERVAL }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
      // no memo: a schedule list decodes every memo in the namespace, and one this installation's codec cannot read would break it
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    // another replica created it, or an earlier start: the configured retention and queue win
    await client.schedule.getHandle(retentionScheduleId(taskQueue)).update((previous) => ({ ...previous, action: { ...previous.action, ...action } }));
  }
}
