import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { personActor } from '../../common/actors';
import { ApiKeyCreate, ApiKeyCreated, ApiKeySchema } from '../../common/resources';
import { writeAudit } from '../../db/audit';
import type { Db } from '../../db/client';
import { apiKeys } from '../../db/schema';
import { hashToken, newKeyId, newToken, requireRole, type KeyCache } from '../auth';
import { notFound } from '../errors';
import { errorResponses, json, newRouter, pathParam } from '../router';

const view = (k: typeof apiKeys.$inferSelect) => ({
  id: k.id, name: k.name, owner: k.owner, role: k.role, groups: k.groups, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null,
});

export function apiKeyRoutes(db: Db, keyCache?: KeyCache) {
  const admin = [requireRole('admin')];
  return newRouter()
    .openapi(createRoute({
      method: 'post', path: '/', tags: ['api-keys'], summary: 'Create an API key (the token is shown once)', middleware: admin,
      request: { body: { content: { 'application/json': { schema: ApiKeyCreate } }, required: true } },
      responses: { 201: json(ApiKeyCreated, 'Created'), ...errorResponses(400, 401, 403) },
    }), async (c) => {
      const { name, role, owner = name, groups } = c.req.valid('json');
      const id = newKeyId();
      const token = newToken();
      const by = c.get('principal');
      await db.transaction(async (tx) => {
        await tx.insert(apiKeys).values({ id, name, owner, role, groups, tokenHash: hashToken(token), createdBy: by.keyId, createdByOwner: by.owner });
        await writeAudit(tx, { action: 'api_key.create', actor: personActor(by), details: { id, name, owner, role, groups } });
      });
      return c.json({ id, name, owner, role, groups, token }, 201);
    })

    .openapi(createRoute({
      method: 'get', path: '/', tags: ['api-keys'], summary: 'List API keys (never their tokens)', middleware: admin,
      responses: { 200: json(z.object({ items: z.array(ApiKeySchema) }), 'Keys'), ...errorResponses(401, 403) },
    }), async (c) => c.json({ items: (await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt))).map(view) }, 200))

    .openapi(createRoute({
      method: 'delete', path: '/{id}', tags: ['api-keys'], summary: 'Revoke an API key', middleware: admin,
      request: { params: z.object({ id: pathParam('id', z.string()) }) },
      responses: { 200: json(ApiKeySchema, 'Revoked'), ...errorResponses(401, 403, 404) },
    }), async (c) => {
      const { id } = c.req.valid('param');
      const key = await db.transaction(async (tx) => {
        const [revoked] = await tx.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning();
        if (revoked) await writeAudit(tx, { action: 'api_key.revoke', actor: personActor(c.get('principal')), details: { id, name: revoked.name, owner: revoked.owner } });
        return revoked;
      });
      keyCache?.forget(id);
      if (!key) throw notFound(`Active API key ${id}`);
      return c.json(view(key), 200);
    });
}
