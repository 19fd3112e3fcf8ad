/**
 * A model's policy: GET shows what every pipeline of the model must meet (the default when none was
 * set); PUT (approver) replaces it, audited. Applied to every start by api/pipelines.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { personActor } from '../../common/actors';
import { ModelName } from '../../common/pipeline-request';
import { ModelPolicySchema, type ModelPolicy } from '../../common/policy';
import { policyOf } from '../../db/policies';
import { writeAudit } from '../../db/audit';
import type { Db } from '../../db/client';
import { modelPolicies } from '../../db/schema';
import { requireRole } from '../auth';
import { errorResponses, json, newRouter, pathParam } from '../router';

const NameParam = z.object({ name: pathParam('name', ModelName) });

export { policyOf } from '../../db/policies';

export function policyRoutes(db: Db) {
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/{name}/policy', tags: ['models'], summary: "The model's policy: what every pipeline of it must meet",
      request: { params: NameParam },
      responses: { 200: json(ModelPolicySchema, 'The policy (the default when none was set)'), ...errorResponses(400, 401) },
    }), async (c) => c.json(await policyOf(db, c.req.valid('param').name), 200))

    .openapi(createRoute({
      method: 'put', path: '/{name}/policy', tags: ['models'], summary: "Set the model's policy (approver), audited",
      description: 'A pipeline request may tighten the policy and is refused (403, naming the field) where it would loosen it.',
      middleware: [requireRole('approver')],
      request: { params: NameParam, body: { content: { 'application/json': { schema: ModelPolicySchema } }, required: true } },
      responses: { 200: json(ModelPolicySchema, 'The policy now in force'), ...errorResponses(400, 401, 403) },
    }), async (c) => {
      const { name } = c.req.valid('param');
      const policy = c.req.valid('json');
      const by = c.get('principal');
      await db.transaction(async (tx) => {
        const [before] = await tx.select({ policy: modelPolicies.policy }).from(modelPolicies).where(eq(modelPolicies.modelName, name)).for('update');
        await tx.insert(modelPolicies).values({ modelName: name, policy, updatedBy: by.keyId, updatedAt: new Date() })
          .onConflictDoUpdate({ target: modelPolicies.modelName, set: { policy, updatedBy: by.keyId, updatedAt: new Date() } });
        await writeAudit(tx, { action: 'policy.update', actor: personActor(by), model: name, details: { before: before?.policy ?? null, after: policy } });
      });
      return c.json(policy, 200);
    });
}
