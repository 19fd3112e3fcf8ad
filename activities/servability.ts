/**
 * What production is asked, for the servability check: recent requests production answered, so a
 * candidate that would refuse them (a feature renamed or dropped, a type changed) is caught before
 * it takes any traffic. The instances go to the artifact store, never into workflow history.
 */
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { predictions } from '../db/schema';

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
  };
}
