/**
 * The one audit writer: every state change goes to the append-only audit log through here, inside
 * the caller's transaction where there is one. An event with an idempotency key is written once,
 * however often a retried activity writes it. An event that webhooks may subscribe to
 * (common/webhook-events.ts) adds its deliveries to the outbox in the same transaction
 * (db/webhook-outbox.ts): a notification is committed with the change it reports, exactly once.
 */
import { PgTransaction } from 'drizzle-orm/pg-core';
import { webhookEventOf } from '../common/webhook-events';
import type { Db } from './client';
import { auditEvents } from './schema';
import { enqueueDeliveries, type OutboxWriter } from './webhook-outbox';
import type { AuditFacts } from '../common/webhook-events';

/** An audit event as a writer hands it in: the facts (common/webhook-events.ts) and its idempotency key. */
export interface AuditEvent extends AuditFacts {
  /** e.g. `<pipelineId>:promote`: the same key is recorded once */
  idempotencyKey?: string;
}

/** A database or an open transaction. */
export type Writer = Pick<Db, 'insert' | 'select' | 'transaction'>;

async function insertEvent(db: Pick<Db, 'insert'>, event: AuditEvent) {
  const [row] = await db.insert(auditEvents).values({
    action: event.action,
    actorKind: event.actor.kind, actorId: event.actor.id, actorName: event.actor.name,
    modelName: event.model ?? null, version: event.version ?? null, pipelineId: event.pipelineId ?? null,
    details: event.details ?? {}, idempotencyKey: event.idempotencyKey ?? null,
  }).onConflictDoNothing({ target: auditEvents.idempotencyKey }).returning({ id: auditEvents.id, at: auditEvents.at });
  return row; // undefined: the idempotency key was taken, the event written before
}

export async function writeAudit(db: Writer, event: AuditEvent): Promise<void> {
  const webhookEvent = webhookEventOf(event);
  if (!webhookEvent) {
    await insertEvent(db, event);
    return;
  }
  const write = async (tx: OutboxWriter) => {
    const row = await insertEvent(tx, event);
    if (row) await enqueueDeliveries(tx, webhookEvent, { ...event, ...row });
  };
  // in the caller's transaction when it has one; else in one of its own
  if (db instanceof PgTransaction) await write(db);
  else await db.transaction(write);
}
