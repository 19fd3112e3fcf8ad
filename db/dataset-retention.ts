/**
 * Dataset versions nobody uses are not kept forever (disk is finite): a version that no model
 * version was trained on, that no data contract holds as its reference, and that no pipeline has
 * named in the retention period is removed, row and bytes, once it is older than that period.
 * Uploading or ingesting the same bytes again registers it anew.
 */
import { sql } from 'drizzle-orm';
import type { ArtifactStore } from './artifacts';
import type { Db } from './client';
import { datasets } from './schema';

export async function removeUnusedDatasets(db: Db, artifacts: ArtifactStore, retentionMs: number): Promise<string[]> {
  // (a raw SQL fragment takes the time as text: drizzle maps Date values only for typed columns)
  const cutoff = new Date(Date.now() - retentionMs).toISOString();
  const unused = await db.select({ hash: datasets.hash, artifactKey: datasets.artifactKey }).from(datasets).where(sql`
    ${datasets.firstSeenAt} < ${cutoff}::timestamptz
    AND NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.dataset_hash = ${datasets.hash})
    AND NOT EXISTS (SELECT 1 FROM data_contracts c WHERE c.reference_hash = ${datasets.hash} OR c.previous_hash = ${datasets.hash})
    AND NOT EXISTS (SELECT 1 FROM pipeline_runs r WHERE (r.created_at >= ${cutoff}::timestamptz OR r.status = 'running')
      AND (r.request->'dataset'->>'uri' = 'dataset://' || ${datasets.hash} OR r.outcome->'dataset'->>'hash' = ${datasets.hash}))`);
  const removed: string[] = [];
  for (const d of unused) {
    try {
      // the row first: a model version registered meanwhile holds it (foreign key), and then it stays
      await db.delete(datasets).where(sql`${datasets.hash} = ${d.hash}`);
    } catch {
      continue;
    }
    await artifacts.delete(d.artifactKey);
    removed.push(d.hash);
  }
  return removed;
}
