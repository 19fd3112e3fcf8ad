/**
 * What production is asked, for the servability check: recent requests production answered, so a
 * candidate that would refuse them (a feature renamed or dropped, a type changed) is caught before
 * it takes any traffic. The instances go to the artifact store, never into workflow history.
 * And after the approval wait: the bundle about to take traffic is the one the check judged.
 */
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { predictions } from '../db/schema';
import { BUNDLE_FILES, bundleDigest } from '../ml/bundle';

/** how many recent production requests the check replays */
export const PRODUCTION_REPLAY_ROWS = 200;

export function createServabilityActivities({ db, artifacts }: { db: Db; artifacts: ArtifactStore }) {
  return {
    /** Recent instances production answered, stored as an artifact; null when production has answered none. */
    async sampleProductionRequests(input: { pipelineId: string; model: string }): Promise<{ key: string; instances: number } | null> {
      const rows = await db.select({ features: predictions.features }).from(predictions)
        .where(and(eq(predictions.modelName, input.model), eq(predictions.role, 'production'), isNull(predictions.error)))
        .orderBy(desc(predictions.createdAt)).limit(PRODUCTION_REPLAY_ROWS);
      if (!rows.length) return null;
      const key = `servability/${input.model}/${input.pipelineId}/production-requests.json`;
      await artifacts.putBytes(key, JSON.stringify(rows.map((r) => r.features)));
      return { key, instances: rows.length };
    },

    /**
     * The bundle's sha256 now, against the one the servability check judged before the approval wait
     * (which may have lasted days). Files gone: not unchanged. A store that fails to answer throws, and is retried.
     */
    async confirmBundleUnchanged(input: { artifactKey: string; bundleSha256: string }): Promise<{ unchanged: boolean; bundleSha256: string | null }> {
      const files = new Map<string, Uint8Array>();
      for (const name of BUNDLE_FILES) {
        const key = `${input.artifactKey}/${name}`;
        if (!(await artifacts.exists(key))) return { unchanged: false, bundleSha256: null };
        files.set(name, await artifacts.getBytes(key));
      }
      const now = bundleDigest(files);
      return { unchanged: now === input.bundleSha256, bundleSha256: now };
    },
  };
}
