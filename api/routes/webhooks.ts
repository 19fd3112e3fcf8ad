/**
 * Webhooks (API.md, "Audit and notifications"), admin only: subscribe a receiver to events, list and
 * delete subscriptions, and read one webhook's delivery log, newest first, with a cursor. The secret
 * is taken once and never shown; the URL is held to the address rules (activities/webhook-target.ts).
 * Creation and deletion are audited, with the receiver's origin only (a URL's path may be a token).
 */
import crypto from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNull, lt, type SQL } from 'drizzle-orm';
import { personActor } from '../../common/actors';
import { WebhookCreate, WebhookDeliverySchema, WebhookSchema } from '../../common/webhooks';
import { parseWebhookUrl, vetWebhookTarget, WebhookUrlRefused, type WebhookTargetPolicy } from '../../activities/webhook-target';
import { writeAudit } from '../../db/audit';
import type { Db } from '../../db/client';
import { webhookDeliveries, webhooks } from '../../db/schema';
import { requireRole } from '../auth';
import { ApiError, notFound } from '../errors';
import { errorResponses, json, newRouter, pathParam } from '../router';

export const MAX_DELIVERY_PAGE = 200;

const WebhookId = pathParam('id', z.string().regex(/^wh_[0-9a-f]{24}$/, 'a webhook id (wh_ and 24 hex digits)'));
const DeliveriesQuery = z.object({
  cursor: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a cursor from an earlier page (nextCursor)').optional(),
  limit: z.coerce.number().int().min(1).max(MAX_DELIVERY_PAGE).default(50),
});

const view = (w: typeof webhooks.$inferSelect) => ({
  id: w.id, url: w.url, events: w.events, secretSet: w.secret.length > 0, createdBy: w.createdBy,
  createdAt: w.createdAt.toISOString(), deletedAt: w.deletedAt?.toISOString() ?? null,
});
const deliveryView = (d: typeof webhookDeliveries.$inferSelect) => ({
  id: d.id, event: d.event, status: d.status, attempts: d.attempts, lastStatusCode: d.lastStatusCode, lastError: d.lastError,
  createdAt: d.createdAt.toISOString(), deliveredAt: d.deliveredAt?.toISOString() ?? null,
});

/** The URL under the address rules, DNS included: a 400 whose code names the rule. */
async function checkUrl(raw: string, policy: WebhookTargetPolicy) {
  try {
    await vetWebhookTarget(parseWebhookUrl(raw, policy), policy);
  } catch (err) {
    if (err instanceof WebhookUrlRefused) throw new ApiError(400, err.code, err.message, [{ field: 'url', message: err.message }]);
    throw err;
  }
}

export function webhookRoutes(db: Db, policy: WebhookTargetPolicy) {
  const admin = [requireRole('admin')];
  const find = async (id: string) => {
    const [w] = await db.select().from(webhooks).where(eq(webhooks.id, id));
    if (!w) throw notFound(`Webhook ${id}`);
    return w;
  };
  return newRouter()
    .openapi(createRoute({
      method: 'post', path: '/', tags: ['webhooks'], summary: 'Subscribe a receiver to events (the secret is never shown again)', middleware: admin,
      request: { body: { content: { 'application/json': { schema: WebhookCreate } }, required: true } },
      responses: { 201: json(WebhookSchema, 'Created'), ...errorResponses(400, 401, 403) },
    }), async (c) => {
      const { url, events, secret } = c.req.valid('json');
      await checkUrl(url, policy);
      const by = c.get('principal');
      const id = `wh_${crypto.randomBytes(12).toString('hex')}`;
      const created = await db.transaction(async (tx) => {
        const [row] = await tx.insert(webhooks).values({ id, url, events, secret, createdBy: by.keyId }).returning();
        await writeAudit(tx, { action: 'webhook.create', actor: personActor(by), details: { id, origin: new URL(url).origin, events } });
        return row;
      });
      return c.json(view(created), 201);
    })

    .openapi(createRoute({
      method: 'get', path: '/', tags: ['webhooks'], summary: 'The webhooks not deleted (never their secrets)', middleware: admin,
      responses: { 200: json(z.object({ items: z.array(WebhookSchema) }), 'Webhooks'), ...errorResponses(401, 403) },
    }), async (c) => {
      const rows = await db.select().from(webhooks).where(isNull(webhooks.deletedAt)).orderBy(desc(webhooks.createdAt));
      return c.json({ items: rows.map(view) }, 200);
    })

    .openapi(createRoute({
      method: 'get', path: '/{id}', tags: ['webhooks'], summary: 'One webhook, deleted or not (never its secret)', middleware: admin,
      request: { params: z.object({ id: WebhookId }) },
      responses: { 200: json(WebhookSchema, 'The webhook'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => c.json(view(await find(c.req.valid('param').id)), 200))

    .openapi(createRoute({
      method: 'delete', path: '/{id}', tags: ['webhooks'], summary: 'Delete a webhook: nothing more is sent to it; its delivery log stays', middleware: admin,
      request: { params: z.object({ id: WebhookId }) },
      responses: { 200: json(WebhookSchema, 'Deleted'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => {
      const { id } = c.req.valid('param');
      const by = c.get('principal');
      const deleted = await db.transaction(async (tx) => {
        const [row] = await tx.update(webhooks).set({ deletedAt: new Date() }).where(and(eq(webhooks.id, id), isNull(webhooks.deletedAt))).returning();
        if (row) await writeAudit(tx, { action: 'webhook.delete', actor: personActor(by), details: { id, origin: new URL(row.url).origin, events: row.events } });
        return row;
      });
      if (!deleted) throw notFound(`Webhook ${id}`);
      return c.json(view(deleted), 200);
    })

    .openapi(createRoute({
      method: 'get', path: '/{id}/deliveries', tags: ['webhooks'], summary: "A webhook's deliveries, newest first, with a cursor", middleware: admin,
      request: { params: z.object({ id: WebhookId }), query: DeliveriesQuery },
      responses: {
        200: json(z.object({ items: z.array(WebhookDeliverySchema), nextCursor: z.string().nullable() }), 'A page of deliveries'),
        ...errorResponses(400, 401, 403, 404),
      },
    }), async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      await find(id);
      const where: SQL[] = [eq(webhookDeliveries.webhookId, id)];
      if (q.cursor) where.push(lt(webhookDeliveries.id, q.cursor));
      const rows = await db.select().from(webhookDeliveries).where(and(...where)).orderBy(desc(webhookDeliveries.id)).limit(q.limit + 1);
      const page = rows.slice(0, q.limit);
      return c.json({ items: page.map(deliveryView), nextCursor: rows.length > q.limit ? page[page.length - 1].id : null }, 200);
    });
}
