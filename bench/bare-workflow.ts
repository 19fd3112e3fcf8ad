/**
 * The bare Temporal peer of bench/orchestration.ts: a workflow that runs `count` no-op activities one
 * after another, as many as one Perennial pipeline schedules, and nothing else. Bundled on its own
 * (`Worker.create({ workflowsPath })`), on a task queue of its own.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface BareActivities {
  noop(step: number): Promise<number>;
}

/** the activities: nothing to do, an answer at once */
export const bareActivities: BareActivities = { noop: async (step) => step };

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });

export async function bareWorkflow(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop(i);
  return count;
}
