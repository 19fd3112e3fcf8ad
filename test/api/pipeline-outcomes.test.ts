import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { auditEvents } from '../../db/schema';
import { decideAndWait, expectJson, SEATTLE_WEATHER, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let approver: string;
let operator: string;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather-auto');
  approver = await t.createKey('alice (approver)', 'approver');
  operator = await t.createKey('olivia (operator)', 'operator');
});
after(async () => { await t?.stop(); });

/** seattle-weather without its `weather` column: real rows, the target gone */
function weatherWithoutTarget(): string {
  const lines = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const file = path.join(t.importDir, 'no-target.csv');
  fs.writeFileSync(file, lines.map((l) => l.split(',').slice(0, 5).join(',')).join('\n'));
  return file;
}

test('an approver rejecting the candidate ends the pipeline rejected with reason approval, and the version rejected', async () => {
  const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'weather-rejected' }) });
  await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  const { decided, ended } = await decideAndWait(t, approver, started.body.id, 'reject', 'f1 too low');
  assert.equal(decided.approval.decision, 'rejected');
  assert.equal(decided.approval.comment, 'f1 too low');
  assert.equal(ended.status, 'rejected');
  assert.equal(ended.reason, 'approval');
  const model = await expectJson(t.client.v1.models[':name'].$get({ param: { name: 'weather-rejected' } }), 200);
  assert.equal(model.productionVersion, null);
  assert.equal(model.versions[0].status, 'rejected');
  const audit = await t.database.db.select().from(auditEvents).where(eq(auditEvents.pipelineId, started.body.id)).orderBy(auditEvents.id);
  assert.deepEqual(audit.map((e) => e.action), ['pipeline.start', 'approval.request', 'reject']);
  const reject = audit.at(-1)!;
  assert.equal((reject.details as { comment: string }).comment, 'f1 too low');
  assert.ok((reject.details as { shown: { metrics: { accuracy: number } } }).shown.metrics.accuracy > 0, 'the rejection keeps what the approver was shown');
});

test('nobody deciding before approval.timeout rejects the pipeline with reason approval_timeout', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    token: operator, body: weatherRequest({ model: 'weather-timeout', approval: { timeout: '2s', onTimeout: 'reject' } }),
  });
  const done = await t.waitFor(started.body.id, (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'approval_timeout');
  assert.equal(done.approval.decision, 'timed_out');
  const late = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver });
  assert.equal(late.status, 409);
});

test('a dataset without the target column is rejected at validation with the anomaly named', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-no-target', dataset: { uri: weatherWithoutTarget() } }) });
  assert.equal(started.status, 202);
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'validation');
  assert.equal(done.validation.passed, false);
  const anomaly = done.validation.anomalies.find((a: any) => a.kind === 'target_missing');
  assert.ok(anomaly, JSON.stringify(done.validation));
  assert.equal(anomaly.column, 'weather');
  assert.equal(anomaly.severity, 'error');
  assert.equal(done.modelVersion, null, 'no model was trained');
  assert.deepEqual(done.stages.map((s: any) => s.name), ['ingest', 'validate']);
});

test('a dataset file that does not exist (inside an import root) ends the pipeline rejected with a readable message, not a retry loop', async () => {
  const missing = path.join(t.importDir, 'nonexistent', 'weather.csv');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-missing', dataset: { uri: missing } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'validation');
  assert.match(done.validation.anomalies[0].message, /Dataset not found: .*\/nonexistent\/weather\.csv/);
});

test('a column that is entirely null is a validation error naming the column', async () => {
  const lines = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const file = path.join(t.importDir, 'null-wind.csv');
  fs.writeFileSync(file, lines.map((l, i) => { const c = l.split(','); c[4] = i === 0 ? 'wind' : ''; return c.join(','); }).join('\n'));
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-null', dataset: { uri: file } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.deepEqual(done.validation.anomalies.filter((a: any) => a.severity === 'error').map((a: any) => [a.kind, a.column]), [['all_null', 'wind']]);
});

test('approval.required false promotes straight after evaluation', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-auto', approval: { required: false } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.stages.map((s: any) => s.name), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'promote']);
  const model = await t.api('GET', '/v1/models/weather-auto');
  assert.equal(model.body.productionVersion, 1);
});

test('a candidate below gates.minMetrics is rejected with reason gates and the failing metric named', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-gated', gates: { minMetrics: { accuracy: 0.999 } } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'gates');
  assert.match(done.gates.failures[0], /^accuracy 0\.\d+ is below the minimum 0\.999$/);
  const model = await t.api('GET', '/v1/models/weather-gated');
  assert.equal(model.body.versions[0].status, 'rejected');
});

test('cancelling a pipeline that awaits approval ends it cancelled', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-cancel' }) });
  await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  const cancel = await t.api('POST', `/v1/pipelines/${started.body.id}/cancel`);
  assert.equal(cancel.status, 202);
  const done = await t.waitFor(started.body.id, (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'cancelled');
  await assert.rejects(t.platform.client.workflow.getHandle(started.body.id).result(), /cancel/i);
  const after = await t.api('GET', `/v1/pipelines/${started.body.id}`);
  assert.equal(after.body.status, 'cancelled', 'read back from the recorded outcome once the workflow has closed');
  const again = await t.api('POST', `/v1/pipelines/${started.body.id}/cancel`);
  assert.equal(again.status, 409);
});
