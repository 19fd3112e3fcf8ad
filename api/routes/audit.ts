/**
 * Reading the audit log (API.md, "Audit and notifications"): `GET /v1/audit` with filters and a
 * cursor, newest first; and one version's life in one call, oldest first: its registration (from
 * the registry) and every audited event about it (decisions, gates, servability, canary steps and
 * verdict, promotion, rollback). Viewers may read; nobody may change it (the table refuses).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import { ModelName } from '../../common/pipeline-request';
import { SafeText } from '../../common/text';
import { actorKinds, auditActions } from '../../common/vocabulary';
import type { Db } from '../../db/client';
import { auditEvents, modelVersions, pipelineRuns } from '../../db/schema';
import { notFound, validationError } from '../errors';
import { errorResponses, json, newRouter, pathParam, versionParam } from '../router';

export const MAX_AUDIT_PAGE = 200;

const AuditEventSchema = z.object({
  id: z.string().openapi({ description: 'the event\'s place in the log (a decimal number)' }),
  at: z.string(),
  actor: z.object({ kind: z.enum(actorKinds), id: z.string(), name: z.string() }),
  action: z.string(),
  model: z.string().nullable(),
  version: z.number().nullable(),
  pipelineId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
}).openapi('AuditEvent');

const AuditQuery = z.object({
  model: ModelName.optional(),
  action: z.enum(auditActions).optional(),
  actor: SafeText.min(1).max(200).optional().openapi({ description: 'the actor\'s id (a key id, or a part of the system) or name' }),
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: 'ISO 8601: events at or after' }),
  until: z.iso.datetime({ offset: true }).optional().openapi({ description: 'ISO 8601: events before' }),
  cursor: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a cursor from an earlier page (nextCursor)').optional(),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(50),
});

type Row = typeof auditEvents.$inferSelect;
const view = (r: Row) => ({
  id: String(r.id), at: r.at.toISOString(), actor: { kind: r.actorKind, id: r.actorId, name: r.actorName }, action: r.action,
  model: r.modelName, version: r.version, pipelineId: r.pipelineId, details: r.details,
});

export function auditRoutes(db: Db) {
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/', tags: ['audit'], summary: 'The audit log, newest first, with filters and a cursor',
      request: { query: AuditQuery },
      responses: {
        200: json(z.object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() }), 'A page of events'),
        ...errorResponses(400, 401),
      },
    }), async (c) => {
      const q = c.req.valid('query');
      if (q.since && q.until && Date.parse(q.since) >= Date.parse(q.until)) {
        throw validationError([{ path: ['since'], message: 'must be before until' }]);
      }
      const where: SQL[] = [];
      if (q.model) where.push(eq(auditEvents.modelName, q.model));
      if (q.action) where.push(eq(auditEvents.action, q.action));
      if (q.actor) where.push(or(eq(auditEvents.actorId, q.actor), eq(auditEvents.actorName, q.actor))!);
      if (q.since) where.push(gte(auditEvents.at, new Date(q.since)));
      if (q.until) where.push(lt(auditEvents.at, new Date(q.until)));
      if (q.cursor) where.push(lt(auditEvents.id, Number(q.cursor)));
      const rows = await db.select().from(auditEvents).where(where.length ? and(...where) : undefined)
        .orderBy(desc(auditEvents.id)).limit(q.limit + 1);
      const page = rows.slice(0, q.limit);
      return c.json({ items: page.map(view), nextCursor: rows.length > q.limit ? String(page[page.length - 1].id) : null }, 200);
    });
}

const HistoryParams = z.object({ name: pathParam('name', ModelName), version: versionParam() });

export function versionHistoryRoutes(db: Db) {
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/{name}/versions/{version}/history', tags: ['audit'],
      summary: "One version's life, oldest first: registered, each decision, servability, canary steps and verdict, promoted, archived, rolled back",
      request: { params: HistoryParams },
      responses: { 200: json(z.object({ items: z.array(AuditEventSchema) }), 'Events'), ...errorResponses(400, 401, 404) },
    }), async (c) => {
      const { name, version } = c.req.valid('param');
      const [v] = await db.select().from(modelVersions).where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, version)));
      if (!v) throw notFound(`Model ${name} version ${version}`);
      const asText = String(version);
      // its own events, and the two that another version's row carries: a promotion that archived it, a rollback away from it
      const rows = await db.select().from(auditEvents).where(and(eq(auditEvents.modelName, name), or(
        eq(auditEvents.version, version),
        and(eq(auditEvents.action, 'promote'), sql`${auditEvents.details}->>'previousVersion' = ${asText}`),
        and(eq(auditEvents.action, 'rollback'), sql`${auditEvents.details}->>'fromVersion' = ${asText}`),
      ))).orderBy(asc(auditEvents.id));
      const events = rows.map((r) => {
        if (r.version === version) return view(r);
        const other = { ...view(r), version, details: { ...r.details, auditEventId: String(r.id), byVersion: r.version } };
        return r.action === 'promote' ? { ...other, action: 'version.archived' } : { ...other, action: 'version.rolled_back' };
      });
      // registration is the registry's record, not an audit event: shown first, from the version itself
      const registered = {
        id: '0', at: v.createdAt.toISOString(), actor: { kind: 'system' as const, id: 'pipeline', name: 'system:pipeline' }, action: 'version.registered',
        model: name, version, pipelineId: v.pipelineId,
        details: { datasetHash: v.datasetHash, metrics: v.metrics, params: v.params, codeVersion: v.codeVersion, workflowRunId: v.workflowRunId },
      };
      // the servability check is the pipeline's record (its stage and result), not an audit event
      const [run] = await db.select({ outcome: pipelineRuns.outcome }).from(pipelineRuns).where(eq(pipelineRuns.id, v.pipelineId));
      const stage = run?.outcome?.stages.find((s) => s.name === 'servability' && s.endedAt);
      const servability = stage && run?.outcome?.servability ? [{
        id: '0', at: stage.endedAt!, actor: { kind: 'system' as const, id: 'pipeline', name: 'system:pipeline' }, action: 'version.servability',
        model: name, version, pipelineId: v.pipelineId, details: { ...run.outcome.servability },
      }] : [];
      const items = [registered, ...servability, ...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      return c.json({ items }, 200);
    });
}
