/**
 * Webhook deliveries: send one delivery's stored body, signed, to its webhook, and record the
 * attempt on the delivery's row. A receiver that fails or does not answer makes the activity fail,
 * so Temporal retries it with backoff (workflows/webhook-delivery.ts); nothing else waits for it.
 *
 * Each request carries X-Perennial-Event, X-Perennial-Delivery (the same on every retry: receivers
 * dedupe by it), X-Perennial-Timestamp (unix seconds) and
 * X-Perennial-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, ne, sql } from 'drizzle-orm';
import { ErrorTypes } from '../common/names';
import type { Db } from '../db/client';
import { webhookDeliveries, webhooks } from '../db/schema';
import { pinnedLookup } from './http-source';
import type { Lookup, ResolvedAddress } from './source-policy';
import { parseWebhookUrl, vetWebhookTarget, WebhookUrlRefused, type WebhookTargetPolicy } from './webhook-target';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_ERROR_LENGTH = 200;

export interface NotificationDeps {
  db: Db;
  webhooks?: WebhookTargetPolicy;
  /** DNS, replaceable in tests */
  lookup?: Lookup;
}

/** `sha256=<hex>`: the HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const short = (s: string) => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
};

/** Why a request got no answer, in a few words: never a stack, never what the receiver sent. */
function networkError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out', EPIPE: 'connection closed', CERT_HAS_EXPIRED: 'TLS certificate expired',
  };
  if (code && known[code]) return known[code];
  return short(code ? `${code}: ${(err as Error).message}` : (err as Error).message);
}

class NoAnswer extends Error {}

/** POSTs `body` to exactly the vetted address; resolves with the status code. Redirects are not followed. */
function post(url: URL, pinned: ResolvedAddress, headers: Record<string, string>, body: string): Promise<number> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST', lookup: pinnedLookup(pinned), agent: false,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    }, (res) => {
      clearTimeout(timer);
      // only the status counts: what the receiver sends back is not read
      res.destroy();
      resolve(res.statusCode ?? 0);
    });
    const timer = setTimeout(() => req.destroy(new NoAnswer(`no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`)), WEBHOOK_TIMEOUT_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

export function createNotificationActivities({ db, webhooks: policy = { allowPrivateAddresses: false }, lookup }: NotificationDeps) {
  const record = (deliveryId: string, set: Partial<typeof webhookDeliveries.$inferInsert>) =>
    db.update(webhookDeliveries).set({ ...set, attempts: sql`${webhookDeliveries.attempts} + 1` })
      .where(and(eq(webhookDeliveries.id, deliveryId), ne(webhookDeliveries.status, 'delivered')));
  const fail = (deliveryId: string, reason: string) =>
    db.update(webhookDeliveries).set({ status: 'failed', lastError: sql`coalesce(${webhookDeliveries.lastError}, ${short(reason)})` })
      .where(and(eq(webhookDeliveries.id, deliveryId), ne(webhookDeliveries.status, 'delivered')));

  return {
    /** One attempt at a delivery: 2xx is delivered; anything else throws, and Temporal tries again. */
    async deliverWebhook(input: { deliveryId: string }): Promise<{ status: 'delivered' | 'failed' }> {
      const [row] = await db.select({
        status: webhookDeliveries.status, event: webhookDeliveries.event, body: webhookDeliveries.body,
        url: webhooks.url, secret: webhooks.secret, deletedAt: webhooks.deletedAt,
      }).from(webhookDeliveries).innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .where(eq(webhookDeliveries.id, input.deliveryId));
      if (!row) throw ApplicationFailure.nonRetryable(`No webhook delivery ${input.deliveryId}.`, ErrorTypes.webhookUndeliverable);
      if (row.status === 'delivered') return { status: 'delivered' };
      if (row.deletedAt) {
        await db.update(webhookDeliveries).set({ status: 'failed', lastError: 'the webhook was deleted: not sent' })
          .where(and(eq(webhookDeliveries.id, input.deliveryId), ne(webhookDeliveries.status, 'delivered')));
        return { status: 'failed' };
      }

      let url: URL;
      let target: ResolvedAddress;
      try {
        url = parseWebhookUrl(row.url, policy);
        target = await vetWebhookTarget(url, policy, lookup);
      } catch (err) {
        if (!(err instanceof WebhookUrlRefused)) throw err;
        await record(input.deliveryId, { status: 'sending', lastStatusCode: null, lastError: err.message });
        // a name that does not resolve now may resolve later; an address the rules refuse will not change
        if (err.code === 'webhook_url_unresolvable') throw ApplicationFailure.retryable(err.message, 'WebhookUnreachable');
        await fail(input.deliveryId, err.message);
        throw ApplicationFailure.nonRetryable(err.message, ErrorTypes.webhookUndeliverable);
      }

      const timestamp = Math.floor(Date.now() / 1000);
      let status: number;
      try {
        status = await post(url, target, {
          'content-type': 'application/json',
          'user-agent': 'perennial-webhooks',
          'x-perennial-event': row.event,
          'x-perennial-delivery': input.deliveryId,
          'x-perennial-timestamp': String(timestamp),
          'x-perennial-signature': signWebhook(row.secret, timestamp, row.body),
        }, row.body);
      } catch (err) {
        const reason = networkError(err);
        await record(input.deliveryId, { status: 'sending', lastStatusCode: null, lastError: reason });
        throw ApplicationFailure.retryable(`The receiver did not answer: ${reason}.`, 'WebhookUnreachable');
      }
      if (status >= 200 && status < 300) {
        await record(input.deliveryId, { status: 'delivered', lastStatusCode: status, lastError: null, deliveredAt: new Date() });
        return { status: 'delivered' };
      }
      const reason = `answered HTTP ${status}`;
      await record(input.deliveryId, { status: 'sending', lastStatusCode: status, lastError: reason });
      throw ApplicationFailure.retryable(`The receiver ${reason}.`, 'WebhookRefused');
    },

    /** The delivery workflow gave up (24 hours of retries, or an address the rules refuse). */
    async markWebhookDeliveryFailed(input: { deliveryId: string; reason: string }): Promise<void> {
      await fail(input.deliveryId, input.reason);
    },
  };
}
