/**
 * The governance gate cannot be skipped by the people it governs: a model's policy, four-eyes per
 * person, cancel during a canary, a stuck canary's slot, one production version, an append-only audit.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { after, before, test } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { SystemActors } from '../../common/actors';
import { reconcileCanaries } from '../../db/canary-lease';
import { makeProduction } from '../../db/deployments';
import { auditEvents, models, modelVersions, pipelineRuns, predictions } from '../../db/schema';
import { workflowIsRunning } from '../../platform/housekeeping';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let olivia: string; // operator
let oliviaApprover: string; // Olivia's second key, with the approver role
let alice: string; // approver
let viewer: string;
before(async () => {
  // the reconciler's first round runs at start; the tests below make stuck canaries after it
  t = await startTestPlatform({ PERENNIAL_CANARY_RECONCILE_INTERVAL: '365d' });
  olivia = await t.createKey('olivia', 'operator');
  oliviaApprover = await t.createKey('olivia (approvals)', 'approver', 'olivia');
  alice = await t.createKey('alice', 'approver');
  viewer = await t.createKey('vera', 'viewer');
});
after(async () => { await t?.stop(); });

const start = (body: Record<string, unknown>, token = olivia) => t.api('POST', '/v1/pipelines', { token, body });
const refusedFields = (res: { body: any }) => (res.body.error.details ?? []).map((d: { field: string }) => d.field);
const auditOf = (action: string, model: string) => t.database.db.select().from(auditEvents)
  .where(and(eq(auditEvents.action, action as never), eq(auditEvents.modelName, model)));

test('without a policy, approval is required: a request that skips it is refused 403 naming approval.required', async () => {
  const policy = await t.api('GET', '/v1/models/unruled/policy', { token: viewer });
  assert.equal(policy.status, 200);
  assert.equal(policy.body.approval.required, true);
  assert.equal(policy.body.approval.timeout, '72h');
  const res = await start(weatherRequest({ model: 'unruled', approval: { required: false } }));
  assert.equal(res.status, 403);
  assert.equal(res.body.error.code, 'policy');
  assert.deepEqual(refusedFields(res), ['approval.required']);
});

test('only an approver sets a policy, and each change is audited with the policy before and after', async () => {
  const policy = { approval: { required: false } };
  assert.equal((await t.api('PUT', '/v1/models/relaxed/policy', { token: olivia, body: policy })).status, 403);
  const set = await t.api('PUT', '/v1/models/relaxed/policy', { token: alice, body: policy });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal((await t.api('GET', '/v1/models/relaxed/policy', { token: viewer })).body.approval.required, false);
  const [event] = await auditOf('policy.update', 'relaxed');
  assert.equal(event.actorName, 'alice');
  assert.equal((event.details as any).before, null);
  assert.equal((event.details as any).after.approval.required, false);
  const bad = await t.api('PUT', '/v1/models/relaxed/policy', { token: alice, body: { approval: { required: 'no' }, surprise: 1 } });
  assert.equal(bad.status, 400);
});

test('every field that would loosen the policy is refused 403 naming it; what tightens it is accepted and what is left out takes its value', async () => {
  await t.setPolicy('strict', {
    gates: { minMetrics: { accuracy: 0.5 }, maxMetrics: { log_loss: 2 }, mustBeatProduction: true, maxFairnessGap: 0.2 },
    canary: {
      minStepDuration: '1m', minRequests: 50, minLabels: 10, maxErrorRateIncrease: 0.01, maxLatencyRatio: 2,
      maxPredictionDistance: 0.3, maxAccuracyDrop: 0.05, onInsufficientTraffic: 'rollback',
    },
    approval: { timeout: '24h' },
  });
  const loosenings: [Record<string, unknown>, string][] = [
    [{ approval: { required: false } }, 'approval.required'],
    [{ approval: { timeout: '48h' } }, 'approval.timeout'],
    [{ gates: { minMetrics: { accuracy: 0.4 } } }, 'gates.minMetrics.accuracy'],
    [{ gates: { maxMetrics: { log_loss: 3 } } }, 'gates.maxMetrics.log_loss'],
    [{ gates: { mustBeatProduction: false } }, 'gates.mustBeatProduction'],
    [{ gates: { tolerance: 0.1 } }, 'gates.tolerance'],
    [{ gates: { maxFairnessGap: 0.5 } }, 'gates.maxFairnessGap'],
    [{ canary: null }, 'canary'],
    [{ canary: { stepDuration: '10s' } }, 'canary.stepDuration'],
    [{ canary: { minRequests: 10 } }, 'canary.minRequests'],
    [{ canary: { minLabels: 1 } }, 'canary.minLabels'],
    [{ canary: { maxErrorRateIncrease: 1 } }, 'canary.maxErrorRateIncrease'],
    [{ canary: { maxLatencyRatio: 100 } }, 'canary.maxLatencyRatio'],
    [{ canary: { maxPredictionDistance: 1 } }, 'canary.maxPredictionDistance'],
    [{ canary: { maxAccuracyDrop: 0.5 } }, 'canary.maxAccuracyDrop'],
    [{ canary: { onInsufficientTraffic: 'promote' } }, 'canary.onInsufficientTraffic'],
  ];
  for (const [fragment, field] of loosenings) {
    const res = await start(weatherRequest({ model: 'strict', ...fragment }));
    assert.equal(res.status, 403, `${field}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(refusedFields(res), [field]);
    assert.ok(res.body.error.message.includes(field));
  }
  // an admin is governed too
  assert.equal((await start(weatherRequest({ model: 'strict', approval: { required: false } }), t.adminToken)).status, 403);

  const tighter = await start(weatherRequest({ model: 'strict', gates: { minMetrics: { accuracy: 0.6 } }, canary: { stepDuration: '5m', maxLatencyRatio: 1.2 } }));
  assert.equal(tighter.status, 202, JSON.stringify(tighter.body));
  // the rules come from the run's record, which its first activity writes
  const view = { body: await t.waitFor(tighter.body.id, (p) => p.rules != null, viewer) };
  assert.equal(view.body.rules.gates.minMetrics.accuracy, 0.6, 'an approver sees the rules the pipeline runs under');
  assert.equal(view.body.rules.canary.maxLatencyRatio, 1.2);
  await t.api('POST', `/v1/pipelines/${tighter.body.id}/cancel`, { token: olivia });
  const [run] = await t.database.db.select().from(pipelineRuns).where(eq(pipelineRuns.id, tighter.body.id));
  const spec = run.request;
  assert.equal(spec.gates.minMetrics.accuracy, 0.6, 'tightened by the request');
  assert.equal(spec.gates.maxMetrics.log_loss, 2, 'left out: the policy');
  assert.equal(spec.gates.mustBeatProduction, true);
  assert.equal(spec.approval.timeout, '24h');
  assert.equal(spec.canary?.stepDuration, '5m');
  assert.equal(spec.canary?.maxLatencyRatio, 1.2);
  assert.equal(spec.canary?.minRequests, 100, "the default is already above the policy's floor");
  assert.equal(spec.canary?.maxPredictionDistance, 0.2);
});

test("four-eyes compares owners: neither the starter's other key nor a key the starter minted may approve; another person may", async () => {
  const started = await start(weatherRequest({ model: 'eyes' }));
  assert.equal(started.status, 202);
  await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  const self = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: oliviaApprover });
  assert.equal(self.status, 403);
  assert.equal(self.body.error.code, 'four_eyes');
  assert.match(self.body.error.message, /olivia/);
  assert.equal((await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: alice })).status, 200);

  // the bootstrap admin starts a pipeline: keys it minted are its own second pair of hands, not a second pair of eyes
  const byAdmin = await start(weatherRequest({ model: 'eyes' }), t.adminToken);
  await t.waitFor(byAdmin.body.id, (p) => p.status === 'awaiting_approval');
  const minted = await t.api('POST', `/v1/pipelines/${byAdmin.body.id}/approve`, { token: alice });
  assert.equal(minted.status, 403);
  assert.equal(minted.body.error.code, 'four_eyes');
  // a key another admin minted, for another person, may
  const rootTwo = await t.createKey('root two', 'admin');
  const created = await t.api('POST', '/v1/api-keys', { token: rootTwo, body: { name: 'bob', role: 'approver' } });
  assert.equal(created.body.owner, 'bob');
  const approved = await t.api('POST', `/v1/pipelines/${byAdmin.body.id}/approve`, { token: created.body.token });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
});

test("a policy's approval terms: fewer approvals, approvers outside its list, approve-on-timeout or a later reminder are refused 403; a bad policy is a 400", async () => {
  await t.setPolicy('committee', { approval: { approvals: 2, approvers: ['alice', 'bob', 'group:risk'], remindAfter: '2h', escalateAfter: '8h', timeout: '24h' } });
  const loosenings: [Record<string, unknown>, string][] = [
    [{ approval: { approvals: 1 } }, 'approval.approvals'],
    [{ approval: { approvers: ['alice', 'mallory'] } }, 'approval.approvers'],
    [{ approval: { onTimeout: 'approve' } }, 'approval.onTimeout'],
    [{ approval: { remindAfter: '3h' } }, 'approval.remindAfter'],
    [{ approval: { escalateAfter: '9h' } }, 'approval.escalateAfter'],
  ];
  for (const [fragment, field] of loosenings) {
    const res = await start(weatherRequest({ model: 'committee', ...fragment }));
    assert.equal(res.status, 403, `${field}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(refusedFields(res), [field]);
  }
  const tighter = await start(weatherRequest({ model: 'committee', approval: { approvals: 3, approvers: ['alice', 'bob'], remindAfter: '1h' } }));
  assert.equal(tighter.status, 202, JSON.stringify(tighter.body));
  await t.api('POST', `/v1/pipelines/${tighter.body.id}/cancel`, { token: olivia });
  const [run] = await t.database.db.select().from(pipelineRuns).where(eq(pipelineRuns.id, tighter.body.id));
  assert.deepEqual(
    [run.request.approval.approvals, run.request.approval.approvers, run.request.approval.remindAfter, run.request.approval.escalateAfter, run.request.approval.onTimeout],
    [3, ['alice', 'bob'], '1h', '8h', 'reject'],
  );

  for (const bad of [
    { approval: { approvals: 0 } }, { approval: { approvals: 11 } }, { approval: { approvers: [] } }, { approval: { approvers: ['a\u0000b'] } },
    { approval: { remindAfter: '72h', timeout: '72h' } }, { approval: { escalateAfter: 'soon' } }, { approval: { onTimeout: 'escalate' } },
  ]) {
    const res = await t.api('PUT', '/v1/models/committee/policy', { token: alice, body: bad });
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.equal(res.body.error.code, 'invalid_request');
  }
  const never = await t.api('PUT', '/v1/models/committee/policy', { token: alice, body: { approval: { remindAfter: '80h' } } });
  assert.match(JSON.stringify(never.body), /remindAfter \(80h\) must be shorter than the timeout \(72h\)/);
});

test('two of a group must approve over HTTP: the pipeline shows each decision and how many are still needed; one person twice is refused', async () => {
  const createKey = async (name: string, owner: string, groups: string[]) => {
    const res = await t.api('POST', '/v1/api-keys', { body: { name, owner, role: 'approver', groups } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.groups, groups);
    return res.body.token as string;
  };
  const rita = await createKey('rita', 'rita', ['risk']);
  const ritaAgain = await createKey('rita (phone)', 'rita', ['risk']);
  const sam = await createKey('sam', 'sam', ['risk', 'ops']);
  await t.setPolicy('pair', { approval: { approvals: 2, approvers: ['group:risk'] } });

  const started = await start(weatherRequest({ model: 'pair' }));
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const waiting = await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  assert.deepEqual([waiting.approval.needed, waiting.approval.stillNeeded, waiting.approval.approvers], [2, 2, ['group:risk']]);

  const outsider = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: alice, body: { comment: 'fine by me' } });
  assert.equal(outsider.status, 403);
  assert.equal(outsider.body.error.code, 'not_an_approver');

  const first = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: rita, body: { comment: 'accuracy holds on winter days' } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.status, 'awaiting_approval');
  assert.deepEqual([first.body.approval.received, first.body.approval.stillNeeded], [1, 1]);
  assert.deepEqual(first.body.approval.decisions.map((d: any) => [d.decision, d.by, d.comment]), [['approved', 'rita', 'accuracy holds on winter days']]);

  const twice = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: ritaAgain });
  assert.equal(twice.status, 403);
  assert.equal(twice.body.error.code, 'same_approver');

  const second = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: sam, body: { comment: 'agreed' } });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.approval.decision, 'approved');
  assert.equal(second.body.approval.by, 'rita, sam');
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed');
  // RECORD_HISTORY=1: keep this run's history for the replay test (test/workflows/replay.test.ts)
  if (process.env.RECORD_HISTORY) {
    const history = await t.platform.client.workflow.getHandle(started.body.id).fetchHistory();
    fs.writeFileSync(path.join(import.meta.dirname, '../fixtures/histories/weather-two-approvals.json'), historyToJSON(history));
  }

  const events = await t.database.db.select().from(auditEvents).where(eq(auditEvents.pipelineId, started.body.id)).orderBy(auditEvents.id);
  const actions = events.map((e) => e.action);
  assert.deepEqual(actions.filter((a) => a.startsWith('approv')), ['approval.request', 'approve', 'approve']);
  const [partial, final] = events.filter((e) => e.action === 'approve');
  assert.deepEqual([partial.actorName, (partial.details as any).final, (partial.details as any).comment], ['rita', false, 'accuracy holds on winter days']);
  assert.ok((partial.details as any).shown.metrics.accuracy > 0, 'each decision keeps the metrics the approver was shown');
  assert.equal(final.actorName, 'sam');
  assert.deepEqual((final.details as any).approvers.map((a: any) => a.name), ['rita', 'sam']);
  const model = await t.api('GET', '/v1/models/pair');
  assert.equal(model.body.versions.find((v: any) => v.pipelineId === started.body.id).approvedBy, 'rita, sam');
});

let canaryModel: { name: string; production: number; cancelled: number };

test('cancelling a pipeline during its canary needs the approver role; it rolls the canary back and is audited', async () => {
  const name = 'guarded';
  await t.setPolicy(name, { approval: { required: false } });
  const first = await start(weatherRequest({ model: name, approval: { required: false } }));
  const done = await t.waitFor(first.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const second = await start(weatherRequest({ model: name, approval: { required: false }, training: { epochs: 3, hiddenUnits: [8] }, canary: { steps: [50], stepDuration: '1h' } }));
  const rolling = await t.waitFor(second.body.id, (p) => p.stage === 'canary' && p.canary?.trafficPercent === 50);

  const refused = await t.api('POST', `/v1/pipelines/${second.body.id}/cancel`, { token: olivia });
  assert.equal(refused.status, 403);
  assert.match(refused.body.error.message, /approver/);
  assert.equal((await t.api('POST', `/v1/pipelines/${second.body.id}/cancel`, { token: alice })).status, 202);
  const ended = await t.waitFor(second.body.id, (p) => p.status !== 'running');
  assert.equal(ended.status, 'cancelled');
  const model = (await t.api('GET', `/v1/models/${name}`, { token: viewer })).body;
  assert.equal(model.canaryVersion, null);
  assert.equal(model.productionVersion, done.modelVersion);
  const [cancel] = await auditOf('pipeline.cancel', name);
  assert.equal(cancel.actorName, 'alice');
  assert.equal(cancel.pipelineId, second.body.id);
  assert.equal((cancel.details as any).stage, 'canary');
  canaryModel = { name, production: done.modelVersion, cancelled: rolling.modelVersion };
});

test('a candidate that would refuse what production is asked (a feature dropped) is not servable, before any traffic', async () => {
  const { name } = canaryModel;
  const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
  const answered = await t.api('POST', `/v1/models/${name}:predict`, { token: viewer, body: { instances: [day, { ...day, wind: 5 }] } });
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  // the prediction log writes off the request path: wait until production's answers are in it
  for (let i = 0; i < 600; i++) {
    const logged = await t.database.db.select().from(predictions).where(eq(predictions.modelName, name));
    if (logged.length >= 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = await start(weatherRequest({ model: name, approval: { required: false }, features: ['precipitation', 'temp_max', 'temp_min'] }));
  const ended = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(ended.status, 'rejected', JSON.stringify(ended));
  assert.equal(ended.reason, 'servability');
  assert.match(ended.servability.problem, /refuses requests production answers/);
  assert.equal((await t.api('GET', `/v1/models/${name}`, { token: viewer })).body.productionVersion, canaryModel.production);
});

/** a canary whose workflow is gone (terminated, or lost to a bug before it could roll back) */
async function strandCanary() {
  const { name, cancelled } = canaryModel;
  await t.database.db.update(modelVersions).set({ status: 'canary' }).where(and(eq(modelVersions.modelName, name), eq(modelVersions.version, cancelled)));
  await t.database.db.update(models).set({ canaryVersion: cancelled, canaryWeight: 50, canaryWorkflowId: `canary-${name}-gone` }).where(eq(models.name, name));
}

test('an approver can always clear a stuck canary: its traffic goes back to production, the version is rejected, audited', async () => {
  const { name, cancelled } = canaryModel;
  await strandCanary();
  assert.equal((await t.api('POST', `/v1/models/${name}/canary/clear`, { token: olivia })).status, 403);
  const cleared = await t.api('POST', `/v1/models/${name}/canary/clear`, { token: alice, body: { comment: 'its workflow was terminated' } });
  assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
  assert.equal(cleared.body.canaryVersion, null);
  assert.equal(cleared.body.canaryTrafficPercent, 0);
  const model = (await t.api('GET', `/v1/models/${name}`, { token: viewer })).body;
  assert.equal(model.versions.find((v: any) => v.version === cancelled).status, 'rejected');
  const [event] = await auditOf('canary.clear', name);
  assert.equal(event.actorName, 'alice');
  assert.equal((event.details as any).comment, 'its workflow was terminated');
  assert.equal((await t.api('POST', `/v1/models/${name}/canary/clear`, { token: alice })).status, 409, 'nothing left to clear');
});

test('the reconciler frees a canary slot that no running workflow holds, and leaves a running one alone', async () => {
  await strandCanary();
  const cleared = await reconcileCanaries(t.database.db, workflowIsRunning(t.platform.client), SystemActors.canaryReconciler);
  assert.deepEqual(cleared, [canaryModel.name]);
  const [m] = await t.database.db.select().from(models).where(eq(models.name, canaryModel.name));
  assert.equal(m.canaryVersion, null);
  const events = await auditOf('canary.clear', canaryModel.name);
  assert.equal(events.at(-1)!.actorName, 'system:canary-reconciler');
  assert.deepEqual(await reconcileCanaries(t.database.db, async () => true, SystemActors.canaryReconciler), [], 'nothing stuck');
});

test('two promotions of one model at the same moment leave exactly one version in production', async () => {
  const { name, production, cancelled } = canaryModel;
  const db = t.database.db;
  for (let round = 0; round < 5; round++) {
    await Promise.all([production, cancelled].map((v) => db.transaction((tx) => makeProduction(tx, name, v))));
    const live = await db.select().from(modelVersions).where(and(eq(modelVersions.modelName, name), eq(modelVersions.status, 'production')));
    assert.equal(live.length, 1);
    const [m] = await db.select().from(models).where(eq(models.name, name));
    assert.equal(m.productionVersion, live[0].version);
  }
  // and the database itself refuses a second one, whoever writes it
  await assert.rejects(db.update(modelVersions).set({ status: 'production' }).where(eq(modelVersions.modelName, name)));
});

test('the audit log refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
  const db = t.database.db;
  const before = (await db.select().from(auditEvents)).length;
  assert.ok(before > 0);
  const appendOnly = (err: Error & { cause?: Error }) => /append-only/.test(`${err.message} ${err.cause?.message}`);
  await assert.rejects(db.execute(sql`update audit_events set actor_name = 'someone else'`), appendOnly);
  await assert.rejects(db.execute(sql`delete from audit_events`), appendOnly);
  await assert.rejects(db.execute(sql`truncate audit_events`), appendOnly);
  assert.equal((await db.select().from(auditEvents)).length, before);
});
