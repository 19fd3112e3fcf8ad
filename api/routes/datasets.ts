import { createRoute, z } from '@hono/zod-openapi';
import { desc, eq } from 'drizzle-orm';
import { DatasetSchema } from '../../common/resources';
import type { Db } from '../../db/client';
import { datasets } from '../../db/schema';
import { notFound } from '../errors';
import { errorResponses, json, newRouter, pathParam } from '../router';

const view = (d: typeof datasets.$inferSelect) => ({
  hash: d.hash, sourceUri: d.sourceUri, format: d.format, rows: d.rows, sizeBytes: d.sizeBytes,
  schema: d.schema, statistics: d.statistics, firstSeenAt: d.firstSeenAt.toISOString(),
});

export function datasetRoutes(db: Db) {
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/', tags: ['datasets'], summary: 'Dataset versions, newest first',
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
      responses: { 200: json(z.object({ items: z.array(DatasetSchema) }), 'Datasets'), ...errorResponses(401) },
    }), async (c) => {
      const rows = await db.select().from(datasets).orderBy(desc(datasets.firstSeenAt)).limit(c.req.valid('query').limit);
      return c.json({ items: rows.map(view) }, 200);
    })

    .openapi(createRoute({
      method: 'get', path: '/{hash}', tags: ['datasets'], summary: 'One dataset version: schema, statistics, source',
      request: { params: z.object({ hash: pathParam('hash', z.string()) }) },
      responses: { 200: json(DatasetSchema, 'The dataset version'), ...errorResponses(401, 404) },
    }), async (c) => {
      const { hash } = c.req.valid('param');
      const [d] = await db.select().from(datasets).where(eq(datasets.hash, hash));
      if (!d) throw notFound(`Dataset ${hash}`);
      return c.json(view(d), 200);
    });
}
