/**
 * webhookDelivery: one notification to one receiver, as `webhook-delivery-<deliveryId>`. It sends
 * the delivery, trying again with backoff for 24 hours while the receiver is down (across restarts
 * of any process: the retries are Temporal's), and records the delivery failed when it gives up.
 * No pipeline waits for it: the dispatcher (platform/webhook-dispatcher.ts) starts it from the outbox.
 */
import { ActivityFailure, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { OrchestrationActivities } from '../activities';
import { notifying, recordkeeping } from './activity-options';

export interface WebhookDeliveryInput {
  deliveryId: string;
}

export async function webhookDelivery({ deliveryId }: WebhookDeliveryInput): Promise<{ deliveryId: string; status: 'delivered' | 'failed' }> {
  const sender = proxyActivities<OrchestrationActivities>(notifying);
  const records = proxyActivities<OrchestrationActivities>(recordkeeping);
  try {
    const { status } = await sender.deliverWebhook({ deliveryId });
    return { deliveryId, status };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const reason = err.cause instanceof TimeoutFailure ? 'gave up after 24 hours of retries' : err.cause?.message ?? 'not delivered';
    await records.markWebhookDeliveryFailed({ deliveryId, reason });
    return { deliveryId, status: 'failed' };
  }
}
