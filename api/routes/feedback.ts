import { createRoute } from '@hono/zod-openapi';
import { and, inArray, ne } from 'drizzle-orm';
import { hasRole } from '../../common/actors';
import { FeedbackAccepted, FeedbackRequest } from '../../common/resources';
import type { Db } from '../../db/client';
import { feedback, predictions } from '../../db/schema';
import { errorResponses, json, newRouter } from '../router';

const CHUNK = 1_000;
const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK));

/**
 * Ground truth for earlier predictions, joined to them by id. Canary analysis and monitoring trust
 * it, so a label is taken only for a prediction that was logged, only from the owner of the key the
 * answer went to (or an approver), and only once: the first label counts.
 *
 * flushPredictionLog: writes this replica's buffered predictions, so feedback sent right after a
 * prediction finds it. A prediction still buffered on another replica is reported as not found.
 */
export function feedbackRoutes(db: Db, flushPredictionLog: () => Promise<void> = async () => {}) {
  /** who received each of these predictions (shadow answers are never shown, so never labelled) */
  async function receivers(ids: string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>();
    for (const part of chunks(ids)) {
      const rows = await db.select({ id: predictions.id, requestedBy: predictions.requestedBy }).from(predictions)
        .where(and(inArray(predictions.id, part), ne(predictions.role, 'shadow')));
      for (const r of rows) found.set(r.id, r.requestedBy);
    }
    return found;
  }

  return newRouter().openapi(createRoute({
    method: 'post', path: '/', tags: ['serving'], summary: 'Labels for earlier predictions, by predictionId',
    description: 'Only for predictions answered to a key of the same owner (an approver may label any); the first label for an id counts. '
      + 'Ids not found (or not yours) and ids already labelled are ignored and counted in the answer.',
    request: { body: { content: { 'application/json': { schema: FeedbackRequest } }, required: true } },
    responses: { 202: json(FeedbackAccepted, 'Stored; canary analysis and monitoring read it'), ...errorResponses(400, 401, 413) },
  }), async (c) => {
    const principal = c.get('principal');
    const { items } = c.req.valid('json');
    const byId = new Map<string, (typeof items)[number]>();
    for (const item of items) if (!byId.has(item.predictionId)) byId.set(item.predictionId, item);
    const ids = [...byId.keys()];

    const found = await receivers(ids);
    if (found.size < ids.length) {
      await flushPredictionLog();
      for (const [id, owner] of await receivers(ids.filter((id) => !found.has(id)))) found.set(id, owner);
    }
    const mayLabelAny = hasRole(principal, 'approver');
    const mayLabel = (id: string) => found.has(id) && (mayLabelAny || found.get(id) === principal.owner);
    const allowed = ids.filter(mayLabel);
    const notFoundIds = ids.filter((id) => !mayLabel(id));

    let accepted = 0;
    for (const part of chunks(allowed)) {
      const rows = part.map((id) => ({ predictionId: id, label: byId.get(id)!.label ?? null, value: byId.get(id)!.value ?? null, byOwner: principal.owner }));
      accepted += (await db.insert(feedback).values(rows).onConflictDoNothing({ target: feedback.predictionId }).returning({ id: feedback.predictionId })).length;
    }
    return c.json({ accepted, alreadyLabelled: allowed.length - accepted, notFound: notFoundIds.length, notFoundIds: notFoundIds.slice(0, 20) }, 202);
  });
}
