/**
 * Housekeeping beside the orchestration worker, once at start and then every interval: the canary
 * reconciler (db/canary-lease.ts) and the removal of unused dataset versions (db/dataset-retention.ts).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SystemActors } from '../common/actors';
import type { Db } from '../db/client';
import type { ArtifactStore } from '../db/artifacts';
import { reconcileCanaries, type IsRunning } from '../db/canary-lease';
import { removeUnusedDatasets } from '../db/dataset-retention';

export const workflowIsRunning = (client: Client): IsRunning => async (workflowId) => {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err; // Temporal does not answer: nothing is cleared on a guess
  }
};

/** Runs `job` now and then every `intervalMs`; a failed round is logged and the next one tried. */
function every(intervalMs: number, name: string, log: (msg: string) => void, job: () => Promise<void>) {
  const run = () => job().catch((err: Error) => log(`${name}: skipped a round (${err.message.split('\n')[0]})`));
  void run();
  // (a timer longer than 2^31-1 ms would fire at once: capped at about 24 days)
  const timer = setInterval(run, Math.min(intervalMs, 2 ** 31 - 1));
  timer.unref();
  return () => clearInterval(timer);
}

export function startHousekeeping(opts: {
  db: Db; client: Client; artifacts: ArtifactStore; canaryIntervalMs: number; datasetRetentionMs: number; log: (msg: string) => void;
}): { stop(): void } {
  const stops = [
    every(opts.canaryIntervalMs, 'canary reconciler', opts.log, async () => {
      const cleared = await reconcileCanaries(opts.db, workflowIsRunning(opts.client), SystemActors.canaryReconciler);
      if (cleared.length) opts.log(`canary reconciler: freed the canary slot of ${cleared.join(', ')} (no running workflow held it)`);
    }),
    every(DATASET_SWEEP_MS, 'dataset retention', opts.log, async () => {
      const removed = await removeUnusedDatasets(opts.db, opts.artifacts, opts.datasetRetentionMs);
      if (removed.length) opts.log(`dataset retention: removed ${removed.length} unused dataset version(s)`);
    }),
  ];
  return { stop: () => stops.forEach((stop) => stop()) };
}

const DATASET_SWEEP_MS = 60 * 60 * 1000;
