/** Runs db/canary-lease.ts's reconciler beside the orchestration worker, once at start and then every interval. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SystemActors } from '../common/actors';
import type { Db } from '../db/client';
import { reconcileCanaries, type IsRunning } from '../db/canary-lease';

export const workflowIsRunning = (client: Client): IsRunning => async (workflowId) => {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err; // Temporal does not answer: nothing is cleared on a guess
  }
};

export function startCanaryReconciler(opts: { db: Db; client: Client; intervalMs: number; log: (msg: string) => void }): { stop(): void } {
  const check = async () => {
    try {
      const cleared = await reconcileCanaries(opts.db, workflowIsRunning(opts.client), SystemActors.canaryReconciler);
      if (cleared.length) opts.log(`canary reconciler: freed the canary slot of ${cleared.join(', ')} (no running workflow held it)`);
    } catch (err) {
      opts.log(`canary reconciler: skipped a round (${(err as Error).message.split('\n')[0]})`);
    }
  };
  void check();
  // (a timer longer than 2^31-1 ms would fire at once: capped at about 24 days)
  const timer = setInterval(check, Math.min(opts.intervalMs, 2 ** 31 - 1));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
