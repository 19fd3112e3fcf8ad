import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { FeedbackRequest } from '../../common/resources';
import type { Db } from '../../db/client';
import { feedback } from '../../db/schema';
import { errorResponses, json, newRouter } from '../router';

/** Ground truth for earlier predictions, joined to them by id; a later label for the same id replaces the earlier one. */
export function feedbackRoutes(db: Db) {
  return newRouter().openapi(createRoute({
    method: 'post', path: '/', tags: ['serving'], summary: 'Labels for earlier predictions, by predictionId',
    request: { body: { content: { 'application/json': { schema: FeedbackRequest } }, required: true } },
    responses: { 202: json(z.object({ accepted: z.number() }), 'Stored; canary analysis and monitoring read it'), ...errorResponses(400, 401, 413) },
  }), async (c) => {
    const { items } = c.req.valid('json');
    // the last label given for an id in this request wins
    const byId = new Map(items.map((i) => [i.predictionId, i]));
    const rows = [...byId.values()].map((i) => ({ predictionId: i.predictionId, label: i.label ?? null, value: i.value ?? null }));
    for (let i = 0; i < rows.length; i += 1000) {
      await db.insert(feedback).values(rows.slice(i, i + 1000)).onConflictDoUpdate({
        target: feedback.predictionId,
        set: { label: sql`excluded.label`, value: sql`excluded.value`, receivedAt: sql`now()` },
      });
    }
    return c.json({ accepted: rows.length }, 202);
  });
}
