import { createRoute, z } from '@hono/zod-openapi';
import { json, newRouter } from '../router';
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { makeProduction } from '../../activities/registry';
import { auditEvents, datasets, models, modelVersions } from '../../db/schema';
import { requireRole } from '../auth';
import { modelCard, modelCardMarkdown } from '../model-card';
import { conflict, notFound } from '../errors';
import { errorResponses, ModelDetail, ModelName, ModelSummary } from '../schemas';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function modelRoutes(db: Db) {
  const app = newRouter();
  const summary = (m: typeof models.$inferSelect) => ({
    name: m.name, task: m.task, productionVersion: m.productionVersion, canaryVersion: m.canaryVersion,
    canaryTrafficPercent: m.canaryVersion === null ? 0 : m.canaryWeight, canaryMode: m.canaryMode, updatedAt: m.updatedAt.toISOString(),
  });

  async function detail(name: string) {
    const [model] = await db.select().from(models).where(eq(models.name, name));
    if (!model) throw notFound(`Model ${name}`);
    const versions = await db.select().from(modelVersions).where(eq(modelVersions.modelName, name)).orderBy(desc(modelVersions.version));
    return {
      ...summary(model),
      versions: versions.map((v) => ({
        version: v.version, status: v.status, metrics: v.metrics as Record<string, number>, datasetHash: v.datasetHash,
        params: v.params as Record<string, unknown>, features: v.features as string[], target: v.target, backend: v.backend,
        codeVersion: v.codeVersion, pipelineId: v.pipelineId, workflowRunId: v.workflowRunId, createdAt: v.createdAt.toISOString(),
        approvedBy: v.approvedBy, approvedAt: iso(v.approvedAt),
      })),
    };
  }

  app.openapi(createRoute({
    method: 'get', path: '/', tags: ['models'], summary: 'Every model and the versions serving it',
    responses: { 200: json(z.object({ items: z.array(ModelSummary) }), 'Models'), ...errorResponses(401) },
  }), async (c) => c.json({ items: (await db.select().from(models).orderBy(asc(models.name))).map(summary) }, 200));

  app.openapi(createRoute({
    method: 'get', path: '/{name}', tags: ['models'], summary: 'A model with every version and its lineage',
    request: { params: z.object({ name: ModelName.openapi({ param: { name: 'name', in: 'path' } }) }) },
    responses: { 200: json(ModelDetail, 'The model'), ...errorResponses(400, 401, 404) },
  }), async (c) => {
    return c.json(await detail(c.req.valid('param').name), 200);
  });
  app.openapi(createRoute({
    method: 'get', path: '/{name}/versions/{version}/card', tags: ['models'],
    summary: 'The model card of a version: intended use, data, parameters, metrics, comparison with production, lineage',
    description: 'JSON by default; Markdown with ?format=markdown or Accept: text/markdown.',
    request: {
      params: z.object({
        name: ModelName.openapi({ param: { name: 'name', in: 'path' } }),
        version: z.coerce.number().int().min(1).openapi({ param: { name: 'version', in: 'path' } }),
      }),
      query: z.object({ format: z.enum(['json', 'markdown']).optional() }),
    },
    responses: {
      200: { description: 'The model card', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) }, 'text/markdown': { schema: z.string() } } },
      ...errorResponses(400, 401, 404),
    },
  }), async (c) => {
    const { name, version } = c.req.valid('param');
    const [v] = await db.select().from(modelVersions).where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, version)));
    if (!v) throw notFound(`Model ${name} version ${version}`);
    const [d] = await db.select().from(datasets).where(eq(datasets.hash, v.datasetHash));
    const card = modelCard(v, d);
    const markdown = c.req.valid('query').format === 'markdown' || /text\/markdown/.test(c.req.header('accept') ?? '');
    if (markdown) return c.body(modelCardMarkdown(card), 200, { 'content-type': 'text/markdown; charset=utf-8' }) as never;
    return c.json(card as never, 200);
  });
  app.openapi(createRoute({
    method: 'post', path: '/{name}/rollback', tags: ['models'],
    summary: 'Switch production to the previous (or the named) version at once, audited',
    middleware: [requireRole('approver')],
    request: {
      params: z.object({ name: ModelName.openapi({ param: { name: 'name', in: 'path' } }) }),
      body: { content: { 'application/json': { schema: z.object({ toVersion: z.number().int().min(1).optional(), comment: z.string().max(10_000).optional() }).strict() } }, required: false },
    },
    responses: { 200: json(ModelDetail, 'The model after the rollback'), ...errorResponses(400, 401, 403, 404, 409) },
  }), async (c) => {
    const { name } = c.req.valid('param');
    const body = (c.req.valid('json' as never) ?? {}) as { toVersion?: number; comment?: string };
    const by = c.get('principal');
    await db.transaction(async (tx) => {
      const [model] = await tx.select().from(models).where(eq(models.name, name));
      if (!model) throw notFound(`Model ${name}`);
      if (model.productionVersion === null) throw conflict(`Model ${name} has no version in production to roll back from.`);
      const versions = await tx.select().from(modelVersions).where(eq(modelVersions.modelName, name)).orderBy(desc(modelVersions.version));
      // the previous production: the newest archived version older than the current one
      const target = body.toVersion
        ? versions.find((v) => v.version === body.toVersion)
        : versions.find((v) => v.version < model.productionVersion! && v.status === 'archived');
      if (!target) throw body.toVersion ? notFound(`Model ${name} version ${body.toVersion}`) : conflict(`Model ${name} has no earlier production version to roll back to.`);
      if (target.version === model.productionVersion) throw conflict(`Version ${target.version} is already in production.`);
      if (!['archived', 'approved'].includes(target.status)) {
        throw conflict(`Version ${target.version} is ${target.status}: only an archived or approved version can take production back.`);
      }
      await makeProduction(tx, name, target.version);
      await tx.insert(auditEvents).values({
        actor: `${by.name} (${by.keyId})`, action: 'rollback', modelName: name, version: target.version,
        details: { fromVersion: model.productionVersion, comment: body.comment ?? null },
      });
    });
    return c.json(await detail(name) as never, 200);
  });
  return app;
}
