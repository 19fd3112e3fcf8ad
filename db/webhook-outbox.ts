/**
 * The webhook outbox: the audit writer (db/audit.ts) calls enqueueDeliveries in the transaction
 * that writes an audit event, and it adds one pending delivery per live webhook subscribed to the
 * event, its JSON body rendered now. A committed decision therefore always has its notifications,
 * and an event that rolled back has none. Sending is the dispatcher's and the delivery workflow's.
 */
import crypto from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { workflowIds } from '../common/names';
import { workflowRunsUiUrl, workflowUiUrl, type TemporalUi } from '../common/temporal-ui';
import { summaryOf, type AuditFacts, type WebhookEvent } from '../common/webhook-events';
import type { WebhookBody } from '../common/webhooks';
import type { Db } from './client';
import { pipelineRuns, webhookDeliveries, webhooks } from './schema';

/** Where a body's links point: the API's public address and the Temporal UI. */
export interface LinkBase {
  publicUrl: string;
  temporal: TemporalUi;
}

/**
 * The link base of this process. Every process of a deployment reads one configuration, so the
 * composition root (platform/platform.ts) sets it once at start, beside everything else it builds
 * from config; the audit writer's many callers need not pass it.
 */
let linkBase: LinkBase = { publicUrl: 'http://localhost:3000', temporal: { uiUrl: 'http://localhost:8233', namespace: 'default' } };
export function setWebhookLinkBase(base: LinkBase) {
  linkBase = base;
}

/** A UUID v7: the time in its first 48 bits, so ids sort in the order they were made. */
export function newDeliveryId(now = Date.now()): string {
  const bytes = crypto.randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const enc = encodeURIComponent;

/** The API resource, the console page and the Temporal UI page a person opens from a notification. */
export function linksOf(base: LinkBase, event: Pick<AuditFacts, 'action' | 'model' | 'pipelineId'>, runId?: string): WebhookBody['links'] {
  const { publicUrl, temporal } = base;
  if (event.pipelineId) {
    return {
      api: `${publicUrl}/v1/pipelines/${enc(event.pipelineId)}`,
      console: `${publicUrl}/ui/pipelines/${enc(event.pipelineId)}`,
      temporalUi: runId ? workflowUiUrl(temporal, event.pipelineId, runId) : workflowRunsUiUrl(temporal, event.pipelineId),
    };
  }
  if (event.model) {
    return {
      api: `${publicUrl}/v1/models/${enc(event.model)}`,
      console: `${publicUrl}/ui/models/${enc(event.model)}`,
      temporalUi: event.action === 'drift.detected' ? workflowRunsUiUrl(temporal, workflowIds.monitor(event.model)) : null,
    };
  }
  return { api: null, console: null, temporalUi: null };
}

export function webhookBody(id: string, event: WebhookEvent, audit: AuditFacts & { at: Date }, links: WebhookBody['links']): WebhookBody {
  return {
    id, event, action: audit.action, occurredAt: audit.at.toISOString(),
    model: audit.model ?? null, version: audit.version ?? null, pipelineId: audit.pipelineId ?? null,
    actor: { kind: audit.actor.kind, id: audit.actor.id, name: audit.actor.name },
    summary: summaryOf(audit), details: audit.details ?? {}, links,
  };
}

/** A database or an open transaction: what the outbox reads and writes with. */
export type OutboxWriter = Pick<Db, 'insert' | 'select'>;

/** Adds the deliveries of one audit event; returns how many. Call it in the audit event's transaction. */
export async function enqueueDeliveries(tx: OutboxWriter, event: WebhookEvent, audit: AuditFacts & { id: number; at: Date }): Promise<number> {
  const subscribers = await tx.select({ id: webhooks.id }).from(webhooks)
    .where(and(isNull(webhooks.deletedAt), sql`${webhooks.events} @> ARRAY[${event}]::text[]`));
  if (!subscribers.length) return 0;
  let runId: string | undefined;
  if (audit.pipelineId) {
    [{ runId } = { runId: undefined }] = await tx.select({ runId: pipelineRuns.runId }).from(pipelineRuns).where(eq(pipelineRuns.id, audit.pipelineId));
  }
  const links = linksOf(linkBase, audit, runId);
  await tx.insert(webhookDeliveries).values(subscribers.map((s) => {
    const id = newDeliveryId();
    return { id, webhookId: s.id, event, auditEventId: audit.id, body: JSON.stringify(webhookBody(id, event, audit, links)) };
  }));
  return subscribers.length;
}
