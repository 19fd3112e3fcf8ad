/**
 * Deployment changes shared by the workflows' activities and the API: what is in production.
 * Every change to a model's row reaches the API replicas through its NOTIFY trigger.
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Db } from './client';
import { models, modelVersions } from './schema';

/**
 * Puts a version in production, inside the caller's transaction: the current production version
 * is archived, and a canary that becomes production stops being a canary. Promotion and rollback
 * both go through here. Returns the version that was in production before, if any.
 */
export async function makeProduction(tx: Pick<Db, 'select' | 'update'>, model: string, version: number): Promise<number | null> {
  const isOtherProduction = and(eq(modelVersions.modelName, model), eq(modelVersions.status, 'production'), ne(modelVersions.version, version));
  const [previous] = await tx.select({ version: modelVersions.version }).from(modelVersions).where(isOtherProduction);
  await tx.update(modelVersions).set({ status: 'archived', updatedAt: new Date() }).where(isOtherProduction);
  await tx.update(modelVersions).set({ status: 'production', updatedAt: new Date() })
    .where(and(eq(modelVersions.modelName, model), eq(modelVersions.version, version)));
  await tx.update(models).set({ productionVersion: version, updatedAt: sql`now()` }).where(eq(models.name, model));
  await tx.update(models).set({ canaryVersion: null, canaryWeight: 0 }).where(and(eq(models.name, model), eq(models.canaryVersion, version)));
  return previous?.version ?? null;
}
