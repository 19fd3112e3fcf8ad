/**
 * The HTTP contracts of webhooks (API.md, "Audit and notifications"): a subscription, what a GET
 * shows of it (never the secret), and the delivery log.
 */
import { z } from '@hono/zod-openapi';
import { SafeText } from './text';
import { WebhookEventSchema, webhookEvents } from './webhook-events';

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const deliveryStatuses = ['pending', 'sending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export const WebhookCreate = z.object({
  url: SafeText.min(1).max(MAX_WEBHOOK_URL_LENGTH).openapi({ description: 'http(s) URL of the receiver; public addresses only unless PERENNIAL_ALLOW_PRIVATE_WEBHOOKS=true' }),
  events: z.array(WebhookEventSchema).min(1).max(webhookEvents.length * 2)
    .transform((events) => [...new Set(events)])
    .openapi({ description: `which events to send: ${webhookEvents.join(', ')}` }),
  secret: SafeText.min(16).max(256).openapi({ description: 'signs every delivery (X-Perennial-Signature); never shown again' }),
}).strict().openapi('WebhookCreate');
export type WebhookCreateInput = z.output<typeof WebhookCreate>;

export const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(WebhookEventSchema),
  secretSet: z.boolean().openapi({ description: 'a secret is set (it is never shown)' }),
  createdBy: z.string(),
  createdAt: z.string(),
  deletedAt: z.string().nullable(),
}).openapi('Webhook');

export const WebhookDeliverySchema = z.object({
  id: z.string(),
  event: WebhookEventSchema,
  status: z.enum(deliveryStatuses),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
}).openapi('WebhookDelivery');

/** The JSON body a receiver gets, as db/webhook-outbox.ts renders it when the audit event commits. */
export interface WebhookBody {
  /** the delivery's id, also in X-Perennial-Delivery: a receiver dedupes by it */
  id: string;
  event: z.output<typeof WebhookEventSchema>;
  /** the audit action behind it (approval.decided: approve, reject or approval_timeout) */
  action: string;
  occurredAt: string;
  model: string | null;
  version: number | null;
  pipelineId: string | null;
  actor: { kind: string; id: string; name: string };
  summary: string;
  details: Record<string, unknown>;
  links: { api: string | null; console: string | null; temporalUi: string | null };
}
