/**
 * Webhooks end to end, on a real Temporal server and database, with real receivers on 127.0.0.1:
 * signed deliveries for an approved and promoted pipeline, a rollback and a failed pipeline; a
 * receiver that is down at first gets its event when it comes back; a receiver that never answers
 * holds up no pipeline; bad input is refused and the secret is never shown.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { signWebhook } from '../../activities/notifications';
import { webhookEvents } from '../../common/webhook-events';
import { startPlatform } from '../../platform/platform';
import { apiClient, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

interface Delivery { headers: http.IncomingHttpHeaders; raw: string; body: any }
interface Receiver { url: string; received: Delivery[]; close(): Promise<void> }

/** A receiver on 127.0.0.1: `answer` decides each response (by the count of requests so far); by default 204. */
async function receiver(answer: (res: http.ServerResponse, n: number) => void = (res) => { res.writeHead(204).end(); }): Promise<Receiver> {
  const received: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      answer(res, received.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/perennial`,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Polls until `get` gives a value: a guard against a hung test, not a timing assertion. */
async function eventually<T>(what: string, get: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const value = await get();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never happened: ${what}`);
}

/** The receiver's check: the signature over "<timestamp>.<body>", and the headers agreeing with the body. */
function assertSigned(d: Delivery, secret: string) {
  const timestamp = Number(d.headers['x-perennial-timestamp']);
  assert.ok(Number.isInteger(timestamp) && Math.abs(timestamp - Date.now() / 1000) < 3600, String(d.headers['x-perennial-timestamp']));
  const expected = `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${d.raw}`).digest('hex')}`;
  const given = String(d.headers['x-perennial-signature']);
  assert.ok(given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected)), 'a valid signature');
  assert.equal(given, signWebhook(secret, timestamp, d.raw));
  assert.equal(d.headers['content-type'], 'application/json');
  assert.equal(d.headers['x-perennial-delivery'], d.body.id);
  assert.equal(d.headers['x-perennial-event'], d.body.event);
}

let t: TestPlatform;
let operator: string;
let approver: string;
let viewer: string;
const SECRET = 'whsec-test-0123456789abcdef';

before(async () => {
  t = await startTestPlatform({ PERENNIAL_ALLOW_PRIVATE_WEBHOOKS: 'true', PERENNIAL_ALLOW_PRIVATE_SOURCES: 'true' });
  operator = await t.createKey('olga', 'operator');
  approver = await t.createKey('alice', 'approver');
  viewer = await t.createKey('vic', 'viewer');
});
after(() => t?.stop());

const subscribe = async (url: string, events: readonly string[], secret = SECRET) => {
  const res = await t.api('POST', '/v1/webhooks', { body: { url, events, secret } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
};
const deliveries = async (id: string, query = '') => {
  const res = await t.api('GET', `/v1/webhooks/${id}/deliveries${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { items: any[]; nextCursor: string | null };
};
const of = (r: Receiver, event: string) => r.received.filter((d) => d.body.event === event);

test('a receiver subscribed to every event gets approval, promotion, rollback and failure, each signed, with a summary and links to the pipeline', async () => {
  const hook = await receiver();
  try {
    const id = await subscribe(hook.url, webhookEvents);

    const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest() });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const pipelineId = started.body.id;
    await t.waitFor(pipelineId, (p) => p.status === 'awaiting_approval', operator);
    assert.equal((await t.api('POST', `/v1/pipelines/${pipelineId}/approve`, { token: approver, body: { comment: 'better on rain' } })).status, 200);
    await t.waitFor(pipelineId, (p) => p.status === 'completed', operator);

    const decided = await eventually('approval.decided arrives', () => of(hook, 'approval.decided')[0]);
    const promoted = await eventually('model.promoted arrives', () => of(hook, 'model.promoted')[0]);
    for (const d of [decided, promoted]) {
      assertSigned(d, SECRET);
      assert.equal(d.body.pipelineId, pipelineId);
      assert.equal(d.body.model, 'weather');
      assert.equal(d.body.version, 1);
      assert.ok(d.body.links.api.endsWith(`/v1/pipelines/${pipelineId}`), d.body.links.api);
      assert.ok(d.body.links.console.endsWith(`/ui/pipelines/${pipelineId}`), d.body.links.console);
      // the pipeline's own run in the Temporal UI
      assert.match(d.body.links.temporalUi, new RegExp(`/namespaces/default/workflows/${pipelineId}/[^/]+/history$`));
      assert.ok(!Number.isNaN(Date.parse(d.body.occurredAt)));
    }
    assert.equal(decided.body.summary, 'weather v1 was approved by alice: "better on rain"');
    assert.deepEqual(decided.body.actor, { kind: 'person', id: decided.body.actor.id, name: 'alice' });
    assert.equal(decided.body.action, 'approve');
    assert.equal(promoted.body.summary, 'weather v1 was promoted to production by alice');
    // the request for a decision went out first, with what the approver will be shown
    const pending = await eventually('approval.pending arrives', () => of(hook, 'approval.pending')[0]);
    assertSigned(pending, SECRET);
    assert.equal(pending.body.pipelineId, pipelineId);
    assert.match(pending.body.summary, /weather v1/);
    assert.ok(pending.body.details.metrics.accuracy > 0, JSON.stringify(pending.body.details));
    assert.equal(pending.body.details.needed, 1);
    assert.ok(Date.parse(pending.body.occurredAt) <= Date.parse(decided.body.occurredAt));

    // a second version, then a person rolls production back to the first
    const second = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ training: { epochs: 6, hiddenUnits: [16] } }) });
    await t.waitFor(second.body.id, (p) => p.status === 'awaiting_approval', operator);
    assert.equal((await t.api('POST', `/v1/pipelines/${second.body.id}/approve`, { token: approver, body: {} })).status, 200);
    await t.waitFor(second.body.id, (p) => p.status === 'completed', operator);
    const rolledBack = await t.api('POST', '/v1/models/weather/rollback', { token: approver, body: { comment: 'v2 misses the snow' } });
    assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
    const rollback = await eventually('model.rolled_back arrives', () => of(hook, 'model.rolled_back')[0]);
    assertSigned(rollback, SECRET);
    assert.equal(rollback.body.summary, 'weather was rolled back from v2 to v1 by alice: "v2 misses the snow"');
    assert.ok(rollback.body.links.api.endsWith('/v1/models/weather'), rollback.body.links.api);

    // a source that keeps answering 503 fails its pipeline: the failure is announced
    const down = http.createServer((_req, res) => { res.writeHead(503).end(); });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    try {
      const uri = `http://127.0.0.1:${(down.address() as { port: number }).port}/weather.csv`;
      const failing = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'weather-unreachable', dataset: { uri } }) });
      assert.equal((await t.waitFor(failing.body.id, (p) => p.status !== 'running', operator)).status, 'failed');
      const failed = await eventually('pipeline.failed arrives', () => of(hook, 'pipeline.failed')[0]);
      assertSigned(failed, SECRET);
      assert.equal(failed.body.pipelineId, failing.body.id);
      assert.match(failed.body.summary, new RegExp(`^Pipeline ${failing.body.id} for weather-unreachable failed: ".*503`));
      assert.ok(failed.body.links.api.endsWith(`/v1/pipelines/${failing.body.id}`));
    } finally {
      down.close();
    }

    // each event is one delivery, sent once; the log shows them delivered, newest first, page by page
    const ids = hook.received.map((d) => d.body.id);
    assert.equal(new Set(ids).size, ids.length, 'no delivery was sent twice');
    const log = await eventually('every delivery is recorded delivered', async () => {
      const page = await deliveries(id, '?limit=200');
      return page.items.length === hook.received.length && page.items.every((d) => d.status === 'delivered') ? page : undefined;
    });
    for (const d of log.items) {
      assert.equal(d.attempts, 1);
      assert.equal(d.lastStatusCode, 204);
      assert.equal(d.lastError, null);
      assert.ok(d.deliveredAt);
    }
    const sorted = [...log.items].sort((a, b) => (a.id < b.id ? 1 : -1));
    assert.deepEqual(log.items.map((d) => d.id), sorted.map((d) => d.id), 'newest first');
    const first = await deliveries(id, '?limit=2');
    assert.equal(first.items.length, 2);
    const next = await deliveries(id, `?limit=2&cursor=${first.nextCursor}`);
    assert.deepEqual([...first.items, ...next.items].map((d) => d.id), log.items.slice(0, 4).map((d) => d.id));
    assert.equal((await t.api('DELETE', `/v1/webhooks/${id}`)).status, 200);
  } finally {
    await hook.close();
  }
});

test('a pipeline nobody decides on sends approval.pending, approval.reminder, approval.escalated, then approval.decided (timed out), in that order', async () => {
  const hook = await receiver();
  try {
    const id = await subscribe(hook.url, ['approval.pending', 'approval.reminder', 'approval.escalated', 'approval.decided']);
    await t.setPolicy('nudged', { approval: { remindAfter: '1s', escalateAfter: '2s', timeout: '3s' } });
    const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'nudged' }) });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const ended = await t.waitFor(started.body.id, (p) => p.status !== 'running' && p.status !== 'awaiting_approval', operator);
    assert.equal(ended.reason, 'approval_timeout');
    assert.ok(ended.approval.remindedAt && ended.approval.escalatedAt, 'the pipeline shows when it reminded and escalated');

    await eventually('four deliveries', () => (hook.received.filter((d) => d.body.model === 'nudged').length >= 4 ? true : undefined));
    const mine = hook.received.filter((d) => d.body.model === 'nudged').sort((a, b) => Date.parse(a.body.occurredAt) - Date.parse(b.body.occurredAt));
    assert.deepEqual(mine.map((d) => d.body.event), ['approval.pending', 'approval.reminder', 'approval.escalated', 'approval.decided']);
    for (const d of mine) assertSigned(d, SECRET);
    assert.match(mine[2].body.summary, /^The approval of nudged v1 was escalated: no decision after 2s/);
    assert.equal(mine[3].body.summary, 'No one decided on nudged v1 in time: it was rejected');
    const log = await deliveries(id);
    assert.ok(log.items.every((x) => x.status === 'delivered'), JSON.stringify(log.items));
  } finally {
    await hook.close();
  }
});

test('a receiver that is down for its first attempts gets the event when it comes back; the log shows the attempts', async () => {
  const flaky = await receiver((res, n) => { res.writeHead(n <= 2 ? 503 : 200).end(); });
  try {
    const id = await subscribe(flaky.url, ['model.rolled_back']);
    const res = await t.api('POST', '/v1/models/weather/rollback', { token: approver, body: { toVersion: 2 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [delivery] = await eventually('delivered after the receiver came back', async () => {
      const { items } = await deliveries(id);
      return items.length === 1 && items[0].status === 'delivered' ? items : undefined;
    });
    assert.equal(delivery.attempts, 3);
    assert.equal(delivery.lastStatusCode, 200);
    assert.equal(delivery.lastError, null);
    assert.equal(flaky.received.length, 3);
    // every attempt is the same delivery: the same id and body, signed afresh
    assert.deepEqual(new Set(flaky.received.map((d) => d.raw)).size, 1);
    for (const d of flaky.received) assertSigned(d, SECRET);
    assert.equal(flaky.received[0].body.summary, 'weather was rolled back from v1 to v2 by alice');
    assert.equal((await t.api('DELETE', `/v1/webhooks/${id}`)).status, 200);
  } finally {
    await flaky.close();
  }
});

test('a pipeline never waits for a receiver that never answers; a deleted webhook is sent nothing more', async () => {
  const silent = await receiver(() => { /* never answers */ });
  try {
    const id = await subscribe(silent.url, ['model.promoted']);
    await t.allowUnapproved('weather-quiet');
    const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'weather-quiet', approval: { required: false } }) });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await t.waitFor(started.body.id, (p) => p.status === 'completed', operator);
    // the promotion's delivery reached the receiver and is still waiting for an answer, or retrying
    await eventually('the receiver got the request', () => (silent.received.length ? true : undefined));
    const delivery = await eventually('the delivery is handed to its workflow', async () => {
      const [d] = (await deliveries(id)).items;
      return d?.status === 'sending' ? d : undefined;
    });
    assert.equal(delivery.event, 'model.promoted');

    const deleted = await t.api('DELETE', `/v1/webhooks/${id}`);
    assert.equal(deleted.status, 200);
    assert.ok(deleted.body.deletedAt);
    const ended = await eventually('the delivery gives up on the deleted webhook', async () => {
      const [d] = (await deliveries(id)).items;
      return d.status === 'failed' ? d : undefined;
    });
    assert.ok(ended.attempts >= 1);
    assert.equal(ended.lastError, 'the webhook was deleted: not sent');
    assert.equal((await t.api('GET', `/v1/webhooks/${id}`)).body.deletedAt, deleted.body.deletedAt);
    assert.ok(!(await t.api('GET', '/v1/webhooks')).body.items.some((w: any) => w.id === id), 'a deleted webhook is not listed');
  } finally {
    await silent.close();
  }
});

test('bad input is refused naming the rule, only admins manage webhooks, and the secret is never shown', async () => {
  const url = 'http://127.0.0.1:9/hook';
  const post = (body: unknown, token?: string | null) => t.api('POST', '/v1/webhooks', { body, token });
  const refused = async (body: unknown, code: string, field?: string) => {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code, JSON.stringify(res.body));
    if (field) assert.ok(res.body.error.details.some((d: any) => d.field === field), JSON.stringify(res.body));
    assert.ok(!JSON.stringify(res.body).includes(SECRET), 'the secret is not echoed');
  };
  await refused({ url: 'ftp://example.com/hook', events: ['model.promoted'], secret: SECRET }, 'webhook_url_scheme', 'url');
  await refused({ url: 'file:///etc/passwd', events: ['model.promoted'], secret: SECRET }, 'webhook_url_scheme');
  await refused({ url: 'http://user:pw@127.0.0.1:9/hook', events: ['model.promoted'], secret: SECRET }, 'webhook_url_credentials');
  await refused({ url: 'not a url', events: ['model.promoted'], secret: SECRET }, 'webhook_url_invalid');
  await refused({ url: `http://127.0.0.1/${'a'.repeat(2100)}`, events: ['model.promoted'], secret: SECRET }, 'invalid_request', 'url');
  await refused({ url, events: ['model.exploded'], secret: SECRET }, 'invalid_request', 'events.0');
  await refused({ url, events: [], secret: SECRET }, 'invalid_request', 'events');
  await refused({ url, events: 'model.promoted', secret: SECRET }, 'invalid_request', 'events');
  await refused({ url, events: ['model.promoted'], secret: 'short' }, 'invalid_request', 'secret');
  await refused({ url, events: ['model.promoted'], secret: 'x'.repeat(257) }, 'invalid_request', 'secret');
  await refused({ url, events: ['model.promoted'] }, 'invalid_request', 'secret');
  await refused({ url, events: ['model.promoted'], secret: SECRET, retries: 3 }, 'invalid_request', 'retries');
  await refused({ url: 'http://127.0.0.1:9/\u0000', events: ['model.promoted'], secret: SECRET }, 'invalid_request', 'url');

  const operatorKey = operator;
  assert.equal((await post({ url, events: ['model.promoted'], secret: SECRET }, null)).status, 401);
  assert.equal((await post({ url, events: ['model.promoted'], secret: SECRET }, operatorKey)).status, 403);
  assert.equal((await post({ url, events: ['model.promoted'], secret: SECRET }, approver)).status, 403);
  assert.equal((await t.api('GET', '/v1/webhooks', { token: viewer })).status, 403);
  assert.equal((await t.api('GET', '/v1/webhooks', { token: null })).status, 401);

  // duplicates are kept once; GETs say a secret is set and never show it
  const created = await post({ url, events: ['model.promoted', 'drift.detected', 'model.promoted'], secret: SECRET });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.events, ['model.promoted', 'drift.detected']);
  assert.equal(created.body.secretSet, true);
  const id = created.body.id;
  assert.equal((await t.api('GET', `/v1/webhooks/${id}`, { token: operatorKey })).status, 403);
  assert.equal((await t.api('DELETE', `/v1/webhooks/${id}`, { token: operatorKey })).status, 403);
  assert.equal((await t.api('GET', `/v1/webhooks/${id}/deliveries`, { token: viewer })).status, 403);
  for (const route of ['/v1/webhooks', `/v1/webhooks/${id}`, `/v1/webhooks/${id}/deliveries`, '/v1/audit?action=webhook.create', '/openapi.json']) {
    const res = await t.api('GET', route);
    assert.equal(res.status, 200, route);
    assert.ok(!JSON.stringify(res.body).includes(SECRET), `${route} does not show the secret`);
  }
  assert.equal((await t.api('GET', '/v1/webhooks/wh_000000000000000000000000')).status, 404);
  assert.equal((await t.api('GET', '/v1/webhooks/nope')).status, 400);
  assert.equal((await t.api('GET', `/v1/webhooks/${id}/deliveries?cursor=x`)).status, 400);
  // creation and deletion are audited, with the receiver's origin, not its path
  assert.equal((await t.api('DELETE', `/v1/webhooks/${id}`)).status, 200);
  assert.equal((await t.api('DELETE', `/v1/webhooks/${id}`)).status, 404);
  for (const action of ['webhook.create', 'webhook.delete']) {
    const { items } = (await t.api('GET', `/v1/audit?action=${action}`)).body;
    const event = items.find((e: any) => e.details.id === id);
    assert.ok(event, action);
    assert.equal(event.details.origin, 'http://127.0.0.1:9');
  }

  // without PERENNIAL_ALLOW_PRIVATE_WEBHOOKS, an API refuses loopback and private receivers, by address or by name
  const strict = await startPlatform({ ...t.config, webhooks: { allowPrivateAddresses: false } }, {
    temporalAddress: t.temporalAddress, database: t.database, parts: { api: true, orchestration: false, training: false }, log: () => {},
  });
  try {
    const api = apiClient(strict.apiUrl!, t.adminToken);
    for (const privateUrl of ['http://127.0.0.1:8080/hook', 'http://localhost:8080/hook', 'http://10.0.0.7/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data']) {
      const res = await api('POST', '/v1/webhooks', { body: { url: privateUrl, events: ['model.promoted'], secret: SECRET } });
      assert.equal(res.status, 400, privateUrl);
      assert.equal(res.body.error.code, 'webhook_url_private', privateUrl);
      assert.ok(!res.body.error.message.includes(privateUrl));
    }
  } finally {
    await strict.stop();
  }
});
