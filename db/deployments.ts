/**
 * Deployment changes shared by the workflows' activities and the API: what is in production, and
 * what a canary holds. Every change to a model's row reaches the API replicas through its NOTIFY
 * trigger. Changes to one model serialize on its row (SELECT ... FOR UPDATE), and the database
 * holds at most one production and one canary version per model (partial unique indexes).
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db } from './client';
import { models, modelVersions } from './schema';

type Tx = Pick<Db, 'select' | 'update'>;

/** Waits for, then holds until the transaction ends, the model's row: one deployment change at a time. */
export async function lockModel(tx: Tx, model: string) {
  const [row] = await tx.select().from(models).where(eq(models.name, model)).for('update');
  return row;
}

/**
 * Puts a version in production, inside the caller's transaction: the current production version
 * is archived, and a canary that becomes production stops being a canary. Promotion and rollback
 * both go through here. Returns the version that was in production before, if any.
 */
export async function makeProduction(tx: Tx, model: string, version: number): Promise<number | null> {
  await lockModel(tx, model);
  const isOtherProduction = and(eq(modelVersions.modelName, model), eq(modelVersions.status, 'production'), ne(modelVersions.version, version));
  const [previous] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(isOtherProduction);
  await tx.update(modelVersions).set({ status: 'archived', updatedAt: new Date() }).where(isOtherProduction);
  await tx.update(modelVersions).set({ status: 'production', updatedAt: new Date() })
    .where(and(eq(modelVersions.modelName, model), eq(modelVersions.version, version)));
  await tx.update(models).set({ productionVersion: version, updatedAt: sql`now()` }).where(eq(models.name, model));
  await tx.update(models).set({ canaryVersion: null, canaryWeight: 0, canaryWorkflowId: null })
    .where(and(eq(models.name, model), eq(models.canaryVersion, version)));
  return previous?.version ?? null;
}

/**
 * A canary's end without promotion: no traffic, the slot freed, the version rejected (approved or
 * candidate: it was stopped while it waited for another canary). Idempotent.
 */
export async function takeCanaryTrafficAway(db: Pick<Db, 'transaction'>, model: string, version: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockModel(tx, model);
    const freed = await tx.update(models).set({ canaryVersion: null, canaryWeight: 0, canaryWorkflowId: null, updatedAt: new Date() })
      .where(and(eq(models.name, model), eq(models.canaryVersion, version))).returning({ name: models.name });
    await tx.update(modelVersions).set({ status: 'rejected', updatedAt: new Date() })
      .where(and(eq(modelVersions.modelName, model), eq(modelVersions.version, version), inArray(modelVersions.status, ['canary', 'approved', 'candidate'])));
    return freed.length > 0;
  });
}
