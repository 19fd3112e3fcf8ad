/**
 * The pure parts of webhooks: the signature's format, the address rules, which audit event raises
 * which webhook event, the line a person reads, the links, and the monitor's alarm.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { alarmOf } from '../../activities/monitoring';
import { signWebhook } from '../../activities/notifications';
import { parseWebhookUrl, vetWebhookTarget, WebhookUrlRefused } from '../../activities/webhook-target';
import { systemActor } from '../../common/actors';
import type { DriftReport } from '../../common/monitor-settings';
import { auditActions, type AuditAction } from '../../common/vocabulary';
import { summaryOf, webhookEventOf, webhookEvents } from '../../common/webhook-events';
import { linksOf, newDeliveryId } from '../../db/webhook-outbox';

const alice = { kind: 'person' as const, id: 'key_0123', name: 'alice' };

test('the signature is sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> under the secret, as openssl computes it', () => {
  const body = '{"id":"d1","event":"model.promoted"}';
  // printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac 'whsec-0123456789abcdef'
  assert.equal(signWebhook('whsec-0123456789abcdef', 1700000000, body), 'sha256=f6dab2b3a5c03f6ef6fccc2c2f964dcadfeb165fed3b03d347d4eed3dd0fdbbb');
  // what a receiver checks, in a few lines of Node
  const expected = crypto.createHmac('sha256', 'whsec-0123456789abcdef').update(`1700000000.${body}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(`sha256=${expected}`), Buffer.from(signWebhook('whsec-0123456789abcdef', 1700000000, body))));
  assert.notEqual(signWebhook('whsec-0123456789abcdef', 1700000001, body), signWebhook('whsec-0123456789abcdef', 1700000000, body));
});

test('audit actions map to webhook events; a partial approval of several raises nothing, and every webhook event has a source', () => {
  const expected: Partial<Record<AuditAction, string>> = {
    'approval.request': 'approval.pending', 'approval.remind': 'approval.reminder', 'approval.escalate': 'approval.escalated',
    approve: 'approval.decided', reject: 'approval.decided', approval_timeout: 'approval.decided',
    promote: 'model.promoted', rollback: 'model.rolled_back', canary_rollback: 'canary.failed',
    'drift.detected': 'drift.detected', 'retraining.start': 'retraining.started', 'pipeline.fail': 'pipeline.failed',
  };
  for (const action of auditActions) assert.equal(webhookEventOf({ action, details: {} }), expected[action] ?? null, action);
  assert.equal(webhookEventOf({ action: 'approve', details: { final: false } }), null);
  assert.equal(webhookEventOf({ action: 'approve', details: { final: true } }), 'approval.decided');
  assert.deepEqual([...new Set(Object.values(expected))].sort(), [...webhookEvents].sort());
});

test('the summary is one line a person understands', () => {
  assert.equal(summaryOf({ action: 'promote', actor: alice, model: 'weather', version: 3, details: { previousVersion: 2 } }),
    'weather v3 was promoted to production by alice (was v2)');
  assert.equal(summaryOf({ action: 'drift.detected', actor: systemActor('monitor'), model: 'weather', version: 2, details: { kind: 'drift', features: 4, driftedFeatures: 4 } }),
    'Drift detected on weather v2: 4 of 4 features drifted');
  assert.equal(summaryOf({ action: 'rollback', actor: alice, model: 'weather', version: 1, details: { fromVersion: 2, comment: null } }),
    'weather was rolled back from v2 to v1 by alice');
  assert.equal(summaryOf({ action: 'reject', actor: alice, model: 'weather', version: 4, details: { comment: 'worse on\nwinter days' } }),
    'weather v4 was rejected by alice: "worse on winter days"');
  const desk = systemActor('approval-desk');
  assert.equal(summaryOf({ action: 'approval.request', actor: desk, model: 'weather', version: 5, details: { needed: 2, deadline: '2026-11-26T10:00:00.000Z' } }),
    'weather v5 is waiting for approval by 2 people; decide by 2026-11-26T10:00:00.000Z');
  assert.equal(summaryOf({ action: 'approval.remind', actor: desk, model: 'weather', version: 5, details: { needed: 2, received: 1, deadline: '2026-11-26T10:00:00.000Z' } }),
    'weather v5 is still waiting for approval (1 of 2 approvals so far); decide by 2026-11-26T10:00:00.000Z');
  assert.equal(summaryOf({ action: 'approval.escalate', actor: desk, model: 'weather', version: 5, details: { after: '8h', needed: 1, received: 0 } }),
    'The approval of weather v5 was escalated: no decision after 8h');
  assert.equal(summaryOf({ action: 'approve', actor: alice, model: 'weather', version: 5, details: { comment: 'ok', approvers: [{ kind: 'person', id: 'k1', name: 'rita' }, alice] } }),
    'weather v5 was approved by rita, alice: "ok"');
  assert.equal(summaryOf({ action: 'approval_timeout', actor: systemActor('approval-timeout'), model: 'weather', version: 5, details: { outcome: 'approved' } }),
    'No one decided on weather v5 in time: it was approved, as its policy allows');
  assert.equal(summaryOf({ action: 'pipeline.fail', actor: systemActor('pipeline'), model: 'weather', pipelineId: 'pipeline-weather-1', details: { error: 'x'.repeat(500) } }).length < 220, true);
});

test('links point at the pipeline (API, console, its Temporal run) or, without one, at the model', () => {
  const base = { publicUrl: 'https://perennial.example.com', temporal: { uiUrl: 'https://temporal.example.com', namespace: 'ml' } };
  assert.deepEqual(linksOf(base, { action: 'promote', model: 'weather', pipelineId: 'pipeline-weather-1' }, 'run-1'), {
    api: 'https://perennial.example.com/v1/pipelines/pipeline-weather-1',
    console: 'https://perennial.example.com/ui/pipelines/pipeline-weather-1',
    temporalUi: 'https://temporal.example.com/namespaces/ml/workflows/pipeline-weather-1/run-1/history',
  });
  const rollback = linksOf(base, { action: 'rollback', model: 'weather', pipelineId: null });
  assert.equal(rollback.api, 'https://perennial.example.com/v1/models/weather');
  assert.equal(rollback.temporalUi, null);
  assert.match(linksOf(base, { action: 'drift.detected', model: 'weather' }).temporalUi!, /workflows\?query=WorkflowId%3D%22monitor-weather%22$/);
});

test('delivery ids are UUID v7s that sort in the order they were made', () => {
  const a = newDeliveryId(1_700_000_000_000);
  const b = newDeliveryId(1_700_000_000_001);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b);
});

const refusal = async (url: string, allowPrivateAddresses = false) => {
  try {
    await vetWebhookTarget(parseWebhookUrl(url, { allowPrivateAddresses }), { allowPrivateAddresses },
      async () => [{ address: '10.1.2.3', family: 4 }]);
    return null;
  } catch (err) {
    assert.ok(err instanceof WebhookUrlRefused, String(err));
    assert.ok(!err.message.includes(url), 'the refusal does not repeat the URL');
    return err.code;
  }
};

test('a receiver must be an http(s) URL on a public address, without credentials; private ones only when allowed', async () => {
  for (const url of ['http://127.0.0.1:8080/hook', 'http://[::1]/hook', 'http://10.0.0.7/hook', 'http://169.254.169.254/latest', 'http://0x7f000001/',
    'http://[::ffff:127.0.0.1]/', 'http://internal.example/hook']) {
    assert.equal(await refusal(url), 'webhook_url_private', url);
  }
  assert.equal(await refusal('http://internal.example/hook', true), null);
  assert.equal(await refusal('http://127.0.0.1:8080/hook', true), null);
  assert.equal(await refusal('ftp://example.com/hook'), 'webhook_url_scheme');
  assert.equal(await refusal('file:///etc/passwd'), 'webhook_url_scheme');
  assert.equal(await refusal('https://user:pw@example.com/hook'), 'webhook_url_credentials');
  assert.equal(await refusal('not a url'), 'webhook_url_invalid');
  assert.equal(await refusal(`https://example.com/${'a'.repeat(2100)}`), 'webhook_url_too_long');
  const unresolved = await vetWebhookTarget(new URL('https://nowhere.example/'), { allowPrivateAddresses: false }, async () => []).catch((e) => e.code);
  assert.equal(unresolved, 'webhook_url_unresolvable');
  const publicOne = await vetWebhookTarget(new URL('https://hooks.example/'), { allowPrivateAddresses: false }, async () => [{ address: '93.184.216.34', family: 4 }]);
  assert.deepEqual(publicOne, { address: '93.184.216.34', family: 4 });
});

test('the monitor raises an alarm for dataset drift or a performance drop it acted on, never for a paused or too-small window', () => {
  const report = (over: Partial<DriftReport>) => ({
    id: 'r1', model: 'weather', version: 2, windowStart: '2025-01-01T00:00:00Z', windowEnd: '2025-01-02T00:00:00Z', rows: 300,
    reference: { rows: 1000, datasetHash: 'a'.repeat(64) }, tests: 'calibrated', calibration: null,
    features: [{ name: 'temp_max', drifted: true }, { name: 'wind', drifted: false }], skipped: [], driftShare: 0.5, datasetDrift: true,
    prediction: null, performance: null, estimated: null, action: 'retraining_started', pipelineId: 'p1', reason: 'dataset drift', at: '2025-01-02T00:00:00Z',
    ...over,
  }) as unknown as DriftReport;
  const drift = alarmOf(report({}))!;
  assert.equal(drift.kind, 'drift');
  assert.deepEqual([drift.features, drift.driftedFeatures, drift.drifted], [2, 1, ['temp_max']]);
  assert.equal(alarmOf(report({ action: 'paused' })), null);
  assert.equal(alarmOf(report({ action: 'too_few_rows' })), null);
  assert.equal(alarmOf(report({ datasetDrift: false, action: 'none' })), null);
  const performance = { labels: 50, accuracy: 0.5, expected: 0.8, drop: 0.3 };
  assert.equal(alarmOf(report({ datasetDrift: false, action: 'cooldown', performance, reason: 'accuracy on 50 labels fell 0.300 below evaluation (policy: 0.1)' }))!.kind, 'performance');
  assert.equal(alarmOf(report({ datasetDrift: false, action: 'retraining_started', performance, reason: 'new data at the training source (abc)' })), null);
});
