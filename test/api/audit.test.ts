/**
 * Reading the audit log on a real platform: every change made here (keys, a policy, a pipeline's
 * approval and promotion, the monitor's settings, a retraining order) is found by `GET /v1/audit`
 * with its filters, page by page through the cursor, and one version's life reads oldest first.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SEATTLE_WEATHER, startTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let operator: string;
let approver: string;
let viewer: string;
let pipelineId: string;
const MODEL = 'audited';
let startedAt: string;

before(async () => {
  t = await startTestPlatform();
  startedAt = new Date().toISOString();
  operator = await t.createKey('otto', 'operator');
  approver = await t.createKey('ada', 'approver');
  viewer = await t.createKey('val', 'viewer');
  const started = await t.api('POST', '/v1/pipelines', {
    token: operator, body: { model: MODEL, dataset: { uri: SEATTLE_WEATHER }, target: 'weather', training: { epochs: 3 }, monitor: { interval: '1h' } },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  pipelineId = started.body.id;
  await t.waitFor(pipelineId, (p) => p.status === 'awaiting_approval', operator);
  assert.equal((await t.api('POST', `/v1/pipelines/${pipelineId}/approve`, { token: approver, body: { comment: 'fine' } })).status, 200);
  await t.waitFor(pipelineId, (p) => p.status === 'completed', operator);
  // the monitor starts with the promotion: its settings change and a retraining order are audited too
  for (let i = 0; i < 100 && (await t.api('GET', `/v1/models/${MODEL}/monitor`, { token: viewer })).status !== 200; i++) await new Promise((r) => setTimeout(r, 200));
  assert.equal((await t.api('PUT', `/v1/models/${MODEL}/monitor`, { token: operator, body: { minRows: 50 } })).status, 200);
  assert.equal((await t.api('POST', `/v1/models/${MODEL}/monitor/pause`, { token: operator })).status, 200);
});
after(() => t?.stop());

test('the audit log lists every change newest first, each with its actor, action, subject and details', async () => {
  const res = await t.api('GET', '/v1/audit?limit=200', { token: viewer });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const actions = res.body.items.map((e: any) => e.action);
  for (const a of ['api_key.create', 'pipeline.start', 'approval.request', 'approve', 'promote', 'monitor.update', 'monitor.pause']) assert.ok(actions.includes(a), `${a} in ${actions}`);
  const ids = res.body.items.map((e: any) => Number(e.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  const approve = res.body.items.find((e: any) => e.action === 'approve');
  assert.deepEqual({ kind: approve.actor.kind, name: approve.actor.name }, { kind: 'person', name: 'ada' });
  assert.equal(approve.model, MODEL);
  assert.equal(approve.version, 1);
  assert.equal(approve.pipelineId, pipelineId);
  const start = res.body.items.find((e: any) => e.action === 'pipeline.start');
  assert.deepEqual([start.actor.name, start.pipelineId, start.details.trigger.kind], ['otto', pipelineId, 'api']);
  const request = res.body.items.find((e: any) => e.action === 'approval.request');
  assert.deepEqual([request.actor.name, request.version, request.details.needed], ['system:approval-desk', 1, 1]);
  assert.ok(request.details.metrics.accuracy > 0, 'the request shows what the approvers will see');
  const update = res.body.items.find((e: any) => e.action === 'monitor.update');
  assert.equal(update.actor.name, 'otto');
  assert.deepEqual(update.details.changed, { minRows: 50 });
  assert.equal(res.body.nextCursor, null);
});

test('filters by model, action, actor and time narrow the log; the cursor walks it a page at a time without gaps or repeats', async () => {
  const byAction = (await t.api('GET', `/v1/audit?model=${MODEL}&action=promote`, { token: viewer })).body.items;
  assert.equal(byAction.length, 1);
  assert.equal(byAction[0].version, 1);
  const byActor = (await t.api('GET', '/v1/audit?actor=otto&limit=200', { token: viewer })).body.items;
  assert.ok(byActor.length >= 2 && byActor.every((e: any) => e.actor.name === 'otto' || e.actor.id === 'otto'));
  assert.equal((await t.api('GET', `/v1/audit?until=${encodeURIComponent(startedAt)}`, { token: viewer })).body.items.length, 0);
  const since = (await t.api('GET', `/v1/audit?since=${encodeURIComponent(startedAt)}&limit=200`, { token: viewer })).body.items;

  const walked: string[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await t.api('GET', `/v1/audit?since=${encodeURIComponent(startedAt)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: viewer });
    assert.equal(page.status, 200);
    assert.ok(page.body.items.length <= 2);
    walked.push(...page.body.items.map((e: any) => e.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  assert.deepEqual(walked, since.map((e: any) => e.id));
});

test('one version\'s history reads oldest first: registered, approved, promoted', async () => {
  const res = await t.api('GET', `/v1/models/${MODEL}/versions/1/history`, { token: viewer });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const actions = res.body.items.map((e: any) => e.action);
  assert.equal(actions[0], 'version.registered');
  assert.ok(actions.indexOf('approve') < actions.indexOf('promote'), actions.join(', '));
  assert.equal(res.body.items[0].pipelineId, pipelineId);
  assert.match(res.body.items[0].details.datasetHash, /^[0-9a-f]{64}$/);
  assert.equal((await t.api('GET', `/v1/models/${MODEL}/versions/9/history`, { token: viewer })).status, 404);
});

test('bad audit queries are 400s naming the field; without a token 401', async () => {
  for (const [query, field] of [
    ['cursor=abc', 'cursor'], ['cursor=0', 'cursor'], ['limit=0', 'limit'], ['limit=100000', 'limit'], ['action=drop_table', 'action'],
    ['since=yesterday', 'since'], [`since=${encodeURIComponent('2030-01-01T00:00:00Z')}&until=${encodeURIComponent('2020-01-01T00:00:00Z')}`, 'since'],
    ['model=bad%20name', 'model'], ['actor=a%00b', 'actor'],
  ]) {
    const res = await t.api('GET', `/v1/audit?${query}`, { token: viewer });
    assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.error.details.some((d: any) => d.field === field), `${query}: ${JSON.stringify(res.body.error)}`);
  }
  assert.equal((await t.api('GET', '/v1/audit', { token: null })).status, 401);
  assert.equal((await t.api('GET', '/v1/models/bad%20name/versions/1/history', { token: viewer })).status, 400);
  assert.equal((await t.api('GET', `/v1/models/${MODEL}/versions/0/history`, { token: viewer })).status, 400);
});
