/**
 * The prediction log is not kept forever: predictions older than the retention period
 * (PERENNIAL_PREDICTION_RETENTION, default 180 days) go, with their feedback, in batches so no one
 * statement holds a lock for long. The audit log is never pruned.
 */
import { inArray, sql } from 'drizzle-orm';
import type { Db } from './client';
import { feedback, predictions } from './schema';

const BATCH = 10_000;

export async function prunePredictions(db: Db, retentionMs: number): Promise<number> {
  // (a raw SQL fragment takes the time as text: drizzle maps Date values only for typed columns)
  const cutoff = new Date(Date.now() - retentionMs).toISOString();
  let removed = 0;
  for (;;) {
    const batch = await db.select({ id: predictions.id }).from(predictions).where(sql`${predictions.createdAt} < ${cutoff}::timestamptz`).limit(BATCH);
    if (batch.length === 0) return removed;
    const ids = batch.map((b) => b.id);
    await db.transaction(async (tx) => {
      await tx.delete(feedback).where(inArray(feedback.predictionId, ids));
      await tx.delete(predictions).where(inArray(predictions.id, ids));
    });
    removed += ids.length;
  }
}
