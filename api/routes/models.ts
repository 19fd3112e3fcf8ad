import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq } from 'drizzle-orm';
import { personActor } from '../../common/actors';
import { ModelName } from '../../common/pipeline-request';
import { ModelDetail, ModelSummary, RollbackRequest } from '../../common/resources';
import { writeAudit } from '../../db/audit';
import type { Db } from '../../db/client';
import { lockModel, makeProduction } from '../../db/deployments';
import { datasets, models, modelVersions } from '../../db/schema';
import { requireRole } from '../auth';
import { conflict, notFound } from '../errors';
import { modelCard, modelCardMarkdown } from '../model-card';
import { errorResponses, json, newRouter, pathParam, versionParam } from '../router';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const NameParam = z.object({ name: pathParam('name', ModelName) });

export const summary = (m: typeof models.$inferSelect) => ({
  name: m.name, task: m.task, productionVersion: m.productionVersion, canaryVersion: m.canaryVersion,
  canaryTrafficPercent: m.canaryVersion === null ? 0 : m.canaryWeight, canaryMode: m.canaryMode, updatedAt: m.updatedAt.toISOString(),
});

const versionView = (v: typeof modelVersions.$inferSelect) => ({
  version: v.version, status: v.status, metrics: v.metrics, datasetHash: v.datasetHash,
  params: v.params, features: v.features, target: v.target, backend: v.backend,
  codeVersion: v.codeVersion, pipelineId: v.pipelineId, workflowRunId: v.workflowRunId, createdAt: v.createdAt.toISOString(),
  approvedBy: v.approvedBy, approvedAt: iso(v.approvedAt),
});

/**
 * deployed: called after a change to a model's deployment has committed, and awaited before the
 * answer, so this replica serves the new deployment from the next request on (others follow NOTIFY).
 */
export function modelRoutes(db: Db, deployed: (model: string) => Promise<void> = async () => {},
  /** after a rollback: the model's monitor watches the version now in production */
  productionChanged: (model: string, version: number) => Promise<void> = async () => {}) {
  async function detail(name: string) {
    const [model] = await db.select().from(models).where(eq(models.name, name));
    if (!model) throw notFound(`Model ${name}`);
    const versions = await db.select().from(modelVersions).where(eq(modelVersions.modelName, name)).orderBy(desc(modelVersions.version));
    return { ...summary(model), versions: versions.map(versionView) };
  }

  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/', tags: ['models'], summary: 'Every model and the versions serving it',
      responses: { 200: json(z.object({ items: z.array(ModelSummary) }), 'Models'), ...errorResponses(401) },
    }), async (c) => c.json({ items: (await db.select().from(models).orderBy(asc(models.name))).map(summary) }, 200))

    .openapi(createRoute({
      method: 'get', path: '/{name}', tags: ['models'], summary: 'A model with every version and its lineage',
      request: { params: NameParam },
      responses: { 200: json(ModelDetail, 'The model'), ...errorResponses(400, 401, 404) },
    }), async (c) => c.json(await detail(c.req.valid('param').name), 200))

    .openapi(createRoute({
      method: 'get', path: '/{name}/versions/{version}/card', tags: ['models'],
      summary: 'The model card of a version: intended use, data, parameters, metrics, comparison with production, lineage',
      description: 'JSON by default; Markdown with ?format=markdown or Accept: text/markdown.',
      request: {
        params: NameParam.extend({ version: versionParam() }),
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
      if (markdown) return c.body(modelCardMarkdown(card), 200, { 'content-type': 'text/markdown; charset=utf-8' });
      return c.json(card, 200);
    })

    .openapi(createRoute({
      method: 'post', path: '/{name}/rollback', tags: ['models'],
      summary: 'Switch production to the previous (or the named) version at once, audited',
      middleware: [requireRole('approver')],
      request: { params: NameParam, body: { content: { 'application/json': { schema: RollbackRequest } }, required: false } },
      responses: { 200: json(ModelDetail, 'The model after the rollback'), ...errorResponses(400, 401, 403, 404, 409) },
    }), async (c) => {
      const { name } = c.req.valid('param');
      const { toVersion, comment } = c.req.valid('json');
      const actor = personActor(c.get('principal'));
      const rolledBackTo = await db.transaction(async (tx) => {
        // the model's row is held until commit: rollbacks and promotions of one model happen one at a time
        const model = await lockModel(tx, name);
        if (!model) throw notFound(`Model ${name}`);
        const current = model.productionVersion;
        if (current === null) throw conflict(`Model ${name} has no version in production to roll back from.`);
        const versions = await tx.select().from(modelVersions).where(eq(modelVersions.modelName, name)).orderBy(desc(modelVersions.version));
        // the previous production: the newest archived version older than the current one
        const target = toVersion
          ? versions.find((v) => v.version === toVersion)
          : versions.find((v) => v.version < current && v.status === 'archived');
        if (!target) throw toVersion ? notFound(`Model ${name} version ${toVersion}`) : conflict(`Model ${name} has no earlier production version to roll back to.`);
        if (target.version === current) throw conflict(`Version ${target.version} is already in production.`);
        if (!['archived', 'approved'].includes(target.status)) {
          throw conflict(`Version ${target.version} is ${target.status}: only an archived or approved version can take production back.`);
        }
        await makeProduction(tx, name, target.version);
        await writeAudit(tx, {
          action: 'rollback', actor, model: name, version: target.version, details: { fromVersion: current, comment: comment ?? null },
        });
        return target.version;
      });
      await deployed(name);
      await productionChanged(name, rolledBackTo);
      return c.json(await detail(name), 200);
    });
}
