/**
 * The webhook dispatcher, beside the orchestration worker: it hands each pending delivery in the
 * outbox (db/webhook-outbox.ts) to its own workflow, `webhook-delivery-<id>`, and marks it sending.
 * Woken at once by NOTIFY perennial_webhook_deliveries (a trigger on insert), and every 30 s by a
 * sweep, so a delivery committed just before a crash is sent after the restart. Every worker runs
 * one; the workflow id makes a second start of the same delivery a no-op.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { and, asc, eq } from 'drizzle-orm';
import { WORKFLOW_TYPES, workflowIds } from '../common/names';
import type { Database, Db } from '../db/client';
import { webhookDeliveries } from '../db/schema';
import type { webhookDelivery } from '../workflows/webhook-delivery';

export const WEBHOOK_DELIVERIES_CHANNEL = 'perennial_webhook_deliveries';
export const WEBHOOK_SWEEP_MS = 30_000;
const BATCH = 50;

/** Starts the workflow of every pending delivery; returns how many were handed over. */
export async function dispatchPendingDeliveries(db: Db, client: Client, taskQueue: string): Promise<number> {
  let handed = 0;
  for (;;) {
    const pending = await db.select({ id: webhookDeliveries.id }).from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, 'pending')).orderBy(asc(webhookDeliveries.createdAt)).limit(BATCH);
    await Promise.all(pending.map(async ({ id }) => {
      try {
        await client.workflow.start<typeof webhookDelivery>(WORKFLOW_TYPES.webhookDelivery, {
          workflowId: workflowIds.webhookDelivery(id), taskQueue, args: [{ deliveryId: id }],
          // a delivery is sent by one workflow, ever: a closed one is not started again
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (err) {
        // another dispatcher (or this one, before a crash) handed it over already
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      await db.update(webhookDeliveries).set({ status: 'sending' })
        .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, 'pending')));
    }));
    handed += pending.length;
    if (pending.length < BATCH) return handed;
  }
}

export async function startWebhookDispatcher(opts: {
  database: Database; client: Client; taskQueue: string; log: (msg: string) => void; sweepMs?: number;
}): Promise<{ stop(): Promise<void> }> {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  // one round at a time; a wake-up during a round runs one more after it
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await dispatchPendingDeliveries(opts.database.db, opts.client, opts.taskQueue)
          .catch((err: Error) => opts.log(`webhook dispatcher: skipped a round (${err.message.split('\n')[0]})`));
      } while (again && !stopped);
    })().finally(() => { running = undefined; });
  };
  const unlisten = await opts.database.listen(WEBHOOK_DELIVERIES_CHANNEL, wake, wake).catch((err: Error) => {
    opts.log(`webhook dispatcher: not listening (${err.message.split('\n')[0]}); sweeping every ${(opts.sweepMs ?? WEBHOOK_SWEEP_MS) / 1000} s`);
    return undefined;
  });
  const timer = setInterval(wake, opts.sweepMs ?? WEBHOOK_SWEEP_MS);
  timer.unref();
  wake();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      await running;
    },
  };
}
