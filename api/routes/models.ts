import { createRoute, z } from '@hono/zod-openapi';
import { json, newRouter } from '../router';
import { asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { models, modelVersions } from '../../db/schema';
import { notFound } from '../errors';
import { errorResponses, ModelDetail, ModelName, ModelSummary } from '../schemas';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function modelRoutes(db: Db) {
  const app = newRouter();
  const summary = (m: typeof models.$inferSelect) => ({
    name: m.name, task: m.task, productionVersion: m.productionVersion, canaryVersion: m.canaryVersion, updatedAt: m.updatedAt.toISOString(),
  });

  app.openapi(createRoute({
    method: 'get', path: '/', tags: ['models'], summary: 'Every model and the versions serving it',
    responses: { 200: json(z.object({ items: z.array(ModelSummary) }), 'Models'), ...errorResponses(401) },
  }), async (c) => c.json({ items: (await db.select().from(models).orderBy(asc(models.name))).map(summary) }, 200));

  app.openapi(createRoute({
    method: 'get', path: '/{name}', tags: ['models'], summary: 'A model with every version and its lineage',
    request: { params: z.object({ name: ModelName.openapi({ param: { name: 'name', in: 'path' } }) }) },
    responses: { 200: json(ModelDetail, 'The model'), ...errorResponses(400, 401, 404) },
  }), async (c) => {
    const { name } = c.req.valid('param');
    const [model] = await db.select().from(models).where(eq(models.name, name));
    if (!model) throw notFound(`Model ${name}`);
    const versions = await db.select().from(modelVersions).where(eq(modelVersions.modelName, name)).orderBy(desc(modelVersions.version));
    return c.json({
      ...summary(model),
      versions: versions.map((v) => ({
        version: v.version, status: v.status, metrics: v.metrics as Record<string, number>, datasetHash: v.datasetHash,
        params: v.params as Record<string, unknown>, features: v.features as string[], target: v.target, backend: v.backend,
        codeVersion: v.codeVersion, pipelineId: v.pipelineId, workflowRunId: v.workflowRunId, createdAt: v.createdAt.toISOString(),
        approvedBy: v.approvedBy, approvedAt: iso(v.approvedAt),
      })),
    }, 200);
  });
  return app;
}
