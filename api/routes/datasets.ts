import { createRoute, z } from '@hono/zod-openapi';
import { json, newRouter } from '../router';
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { datasets } from '../../db/schema';
import { notFound } from '../errors';
import { DatasetSchema, errorResponses } from '../schemas';


export function datasetRoutes(db: Db) {
  const app = newRouter();
  const view = (d: typeof datasets.$inferSelect) => ({
    hash: d.hash, sourceUri: d.sourceUri, format: d.format, rows: d.rows, sizeBytes: d.sizeBytes,
    schema: d.schema, statistics: d.statistics, firstSeenAt: d.firstSeenAt.toISOString(),
  });

  app.openapi(createRoute({
    method: 'get', path: '/', tags: ['datasets'], summary: 'Dataset versions, newest first',
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
    responses: { 200: json(z.object({ items: z.array(DatasetSchema) }), 'Datasets'), ...errorResponses(401) },
  }), async (c) => {
    const rows = await db.select().from(datasets).orderBy(desc(datasets.firstSeenAt)).limit(c.req.valid('query').limit);
    return c.json({ items: rows.map(view) }, 200);
  });

  app.openapi(createRoute({
    method: 'get', path: '/{hash}', tags: ['datasets'], summary: 'One dataset version: schema, statistics, source',
    request: { params: z.object({ hash: z.string().openapi({ param: { name: 'hash', in: 'path' } }) }) },
    responses: { 200: json(DatasetSchema, 'The dataset version'), ...errorResponses(401, 404) },
  }), async (c) => {
    const [d] = await db.select().from(datasets).where(eq(datasets.hash, c.req.valid('param').hash));
    if (!d) throw notFound(`Dataset ${c.req.valid('param').hash}`);
    return c.json(view(d), 200);
  });
  return app;
}
