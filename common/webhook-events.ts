/**
 * The events a webhook may subscribe to, and which audit event raises each one: every decision and
 * alarm is an audit row first (db/audit.ts), and the same writer turns it into deliveries. Pure:
 * the mapping and the one line a person reads in a chat channel.
 */
import { z } from '@hono/zod-openapi';
import type { Actor } from './actors';
import type { AuditAction } from './vocabulary';

export const webhookEvents = [
  'approval.pending', 'approval.reminder', 'approval.escalated', 'approval.decided',
  'model.promoted', 'model.rolled_back', 'canary.failed',
  'drift.detected', 'retraining.started', 'pipeline.failed',
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];
export const WebhookEventSchema = z.enum(webhookEvents);

/** What the mapping and the summary read of an audit event. */
export interface AuditFacts {
  action: AuditAction;
  actor: Actor;
  model?: string | null;
  version?: number | null;
  pipelineId?: string | null;
  details?: Record<string, unknown>;
}

const byAction: Partial<Record<AuditAction, WebhookEvent>> = {
  'approval.request': 'approval.pending',
  'approval.remind': 'approval.reminder',
  'approval.escalate': 'approval.escalated',
  approve: 'approval.decided',
  reject: 'approval.decided',
  approval_timeout: 'approval.decided',
  promote: 'model.promoted',
  rollback: 'model.rolled_back',
  canary_rollback: 'canary.failed',
  'drift.detected': 'drift.detected',
  'retraining.start': 'retraining.started',
  'pipeline.fail': 'pipeline.failed',
};

/**
 * The webhook event an audit event raises, or null. One approval of several (N-of-M, audited as
 * `approve` with details.final === false) decides nothing yet: only the approval that completes it does.
 */
export function webhookEventOf(event: Pick<AuditFacts, 'action' | 'details'>): WebhookEvent | null {
  if (event.action === 'approve' && event.details?.final === false) return null;
  return byAction[event.action] ?? null;
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** a comment or an error on one line, cut short: the summary is a line, the details hold the rest */
const clip = (s: string, max = 160) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};
const quoted = (v: unknown) => (text(v) ? `: "${clip(text(v)!)}"` : '');
const who = (a: Actor) => a.name;
/** " (1 of 2 approvals so far)" */
const progress = (d: Record<string, unknown>) => (num(d.needed) !== null && num(d.needed)! > 1 ? ` (${num(d.received) ?? 0} of ${num(d.needed)} approvals so far)` : '');
/** "; decide by 2026-11-26T10:00:00.000Z" */
const deadline = (d: Record<string, unknown>) => (text(d.deadline) ? `; decide by ${text(d.deadline)}` : '');

/** One line a person understands: "weather v3 was promoted to production by alice". */
export function summaryOf(event: AuditFacts): string {
  const d = event.details ?? {};
  const model = event.model ?? 'a model';
  const subject = event.version != null ? `${model} v${event.version}` : model;
  switch (event.action) {
    case 'approval.request': {
      const needed = num(d.needed);
      return `${subject} is waiting for approval${needed !== null && needed > 1 ? ` by ${needed} people` : ''}${deadline(d)}`;
    }
    case 'approval.remind': return `${subject} is still waiting for approval${progress(d)}${deadline(d)}`;
    case 'approval.escalate': return `The approval of ${subject} was escalated: no decision after ${text(d.after) ?? 'the escalation time'}${progress(d)}${deadline(d)}`;
    case 'approve': {
      const approvers = Array.isArray(d.approvers) && d.approvers.length > 1
        ? (d.approvers as Actor[]).map((a) => a.name).join(', ') : who(event.actor);
      return `${subject} was approved by ${approvers}${quoted(d.comment)}`;
    }
    case 'reject': return `${subject} was rejected by ${who(event.actor)}${quoted(d.comment)}`;
    case 'approval_timeout': return `No one decided on ${subject} in time: it was ${d.outcome === 'approved' ? 'approved, as its policy allows' : 'rejected'}`;
    case 'promote': {
      const previous = num(d.previousVersion);
      return `${subject} was promoted to production by ${who(event.actor)}${previous !== null ? ` (was v${previous})` : ''}`;
    }
    case 'rollback': {
      const from = num(d.fromVersion);
      return `${model} was rolled back${from !== null ? ` from v${from}` : ''} to v${event.version ?? '?'} by ${who(event.actor)}${quoted(d.comment)}`;
    }
    case 'canary_rollback': return `The canary of ${subject} was rolled back${quoted(d.reason)}`;
    case 'drift.detected': {
      const drifted = num(d.driftedFeatures);
      const features = num(d.features);
      if (d.kind === 'performance') return `Performance dropped on ${subject}${quoted(d.reason)}`;
      return `Drift detected on ${subject}${drifted !== null && features !== null ? `: ${drifted} of ${features} features drifted` : ''}`;
    }
    case 'retraining.start': {
      const trigger = (d.trigger && typeof d.trigger === 'object' ? (d.trigger as { kind?: unknown }).kind : d.trigger) as unknown;
      return `A retraining of ${model} was started by ${who(event.actor)}${text(trigger) ? ` (${text(trigger)})` : ''}`;
    }
    case 'pipeline.fail': return `Pipeline ${event.pipelineId ?? ''} for ${model} failed${quoted(d.error)}`.replace('Pipeline  for', 'A pipeline for');
    default: return `${event.action} on ${subject} by ${who(event.actor)}`;
  }
}
