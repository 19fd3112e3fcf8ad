/**
 * The one audit writer: every state change goes to the append-only audit log through here, inside
 * the caller's transaction where there is one. An event with an idempotency key is written once,
 * however often a retried activity writes it.
 */
import type { Actor } from '../common/actors';
import type { AuditAction } from '../common/vocabulary';
import type { Db } from './client';
import { auditEvents } from './schema';

export interface AuditEvent {
  action: AuditAction;
  actor: Actor;
  model?: string | null;
  version?: number | null;
  pipelineId?: string | null;
  details?: Record<string, unknown>;
  /** e.g. `<pipelineId>:promote`: the same key is recorded once */
  idempotencyKey?: string;
}

/** A database or an open transaction: anything that can insert. */
export type Writer = Pick<Db, 'insert'>;

export async function writeAudit(db: Writer, event: AuditEvent): Promise<void> {
  await db.insert(auditEvents).values({
    action: event.action,
    actorKind: event.actor.kind, actorId: event.actor.id, actorName: event.actor.name,
    modelName: event.model ?? null, version: event.version ?? null, pipelineId: event.pipelineId ?? null,
    details: event.details ?? {}, idempotencyKey: event.idempotencyKey ?? null,
  }).onConflictDoNothing({ target: auditEvents.idempotencyKey });
}
