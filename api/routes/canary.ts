/**
 * Clearing a stuck canary: an approver can always take a canary's traffic away and free the model's
 * slot, whatever state its workflow is in. A running canary workflow is asked to cancel (it rolls
 * back on its own); the slot is freed here either way. Audited.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { personActor } from '../../common/actors';
import { ModelName } from '../../common/pipeline-request';
import { DecisionRequest, ModelSummary } from '../../common/resources';
import { canaryHolder, clearCanary } from '../../db/canary-lease';
import type { Db } from '../../db/client';
import { models } from '../../db/schema';
import { workflowIsRunning } from '../../platform/housekeeping';
import { requireRole } from '../auth';
import { conflict, notFound } from '../errors';
import { errorResponses, json, newRouter, pathParam } from '../router';
import { summary } from './models';

const NameParam = z.object({ name: pathParam('name', ModelName) });

/** deployed: awaited after the change, so this replica serves production alone from the next request on */
export function canaryRoutes(db: Db, client: Client, deployed: (model: string) => Promise<void> = async () => {}) {
  const isRunning = workflowIsRunning(client);
  return newRouter()
    .openapi(createRoute({
      method: 'post', path: '/{name}/canary/clear', tags: ['models'],
      summary: "Take the canary's traffic away and free the model's canary slot, whatever its workflow's state (approver)",
      description: 'Optional JSON body: {"comment": "..."}. A running canary workflow is asked to cancel; its version is rejected. Audited.',
      middleware: [requireRole('approver')],
      request: { params: NameParam, body: { content: { 'application/json': { schema: DecisionRequest } }, required: false } },
      responses: { 200: json(ModelSummary, 'The model, with no canary'), ...errorResponses(400, 401, 403, 404, 409) },
    }), async (c) => {
      const { name } = c.req.valid('param');
      const [m] = await db.select().from(models).where(eq(models.name, name));
      if (!m) throw notFound(`Model ${name}`);
      if (m.canaryVersion === null) throw conflict(`Model ${name} has no canary.`);
      const holder = canaryHolder({ ...m, canaryVersion: m.canaryVersion });
      const running = await isRunning(holder).catch(() => true);
      if (running) await client.workflow.getHandle(holder).cancel().catch(() => undefined);
      await clearCanary(db, {
        model: name, version: m.canaryVersion, workflowId: holder, actor: personActor(c.get('principal')),
        reason: running ? 'cleared by an approver; its workflow was asked to cancel' : 'cleared by an approver; no workflow held it',
        comment: c.req.valid('json')?.comment,
      });
      await deployed(name);
      const [after] = await db.select().from(models).where(eq(models.name, name));
      return c.json(summary(after), 200);
    });
}
