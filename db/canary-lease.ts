/**
 * A model's canary slot is a lease held by one canary workflow, not a lock held forever: when no
 * running workflow holds it (terminated, timed out, lost to a bug before it could roll back), the
 * reconciler, or an approver through the API, takes the canary's traffic away and frees the slot.
 */
import { isNotNull } from 'drizzle-orm';
import type { Actor } from '../common/actors';
import { workflowIds } from '../common/names';
import { writeAudit } from './audit';
import type { Db } from './client';
import { takeCanaryTrafficAway } from './deployments';
import { models } from './schema';

/** whether the workflow with this id has an open run (Temporal is asked by the caller) */
export type IsRunning = (workflowId: string) => Promise<boolean>;

/** the workflow that holds the model's canary slot (rows from before the lease was recorded: the id is derived) */
export const canaryHolder = (m: { name: string; canaryVersion: number; canaryWorkflowId: string | null }) =>
  m.canaryWorkflowId ?? workflowIds.canary(m.name, m.canaryVersion);

/** Frees the canary slot of `model` held by `version`: traffic away, version rejected, audited. */
export async function clearCanary(db: Db, input: { model: string; version: number; workflowId: string; actor: Actor; reason: string; comment?: string }) {
  const freed = await takeCanaryTrafficAway(db, input.model, input.version);
  if (freed) {
    await writeAudit(db, {
      action: 'canary.clear', actor: input.actor, model: input.model, version: input.version,
      details: { reason: input.reason, workflowId: input.workflowId, comment: input.comment ?? null },
    });
  }
  return freed;
}

/** Every canary slot whose holder has no open run is cleared; returns the models cleared. */
export async function reconcileCanaries(db: Db, isRunning: IsRunning, actor: Actor): Promise<string[]> {
  const held = await db.select().from(models).where(isNotNull(models.canaryVersion));
  const cleared: string[] = [];
  for (const m of held) {
    const holder = canaryHolder({ ...m, canaryVersion: m.canaryVersion! });
    if (await isRunning(holder)) continue;
    const freed = await clearCanary(db, { model: m.name, version: m.canaryVersion!, workflowId: holder, actor, reason: 'no running canary workflow holds the slot' });
    if (freed) cleared.push(m.name);
  }
  return cleared;
}
