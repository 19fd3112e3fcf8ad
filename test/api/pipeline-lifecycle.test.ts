import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { eq } from 'drizzle-orm';
import { auditEvents } from '../../db/schema';
import { decideAndWait, expectJson, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather');
});
after(async () => { await t?.stop(); });

test('the weather pipeline goes from raw CSV to production version 1 once a second key approves it', async () => {
  const operator = await t.createKey('olivia (operator)', 'operator');
  const approver = await t.createKey('alice (approver)', 'approver');

  const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest() });
  assert.equal(started.status, 202);
  assert.match(started.body.id, /^pipeline-weather-/);
  assert.match(started.body.temporalUiUrl, new RegExp(`/namespaces/default/workflows/${started.body.id}/${started.body.runId}/history$`));

  const waiting = await t.waitFor(started.body.id, (p) => p.status !== 'running', operator);
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(waiting.stage, 'approval');
  assert.equal(waiting.modelVersion, 1);
  assert.equal(waiting.task, 'classification');
  assert.equal(waiting.dataset.rows, 1461);
  assert.match(waiting.dataset.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(waiting.validation, { passed: true, anomalies: [], reference: { contract: null, previous: null } }, 'the first dataset sets the contract');
  assert.ok(waiting.metrics.accuracy > 0.4, `accuracy ${waiting.metrics.accuracy}`);
  assert.ok('f1_macro' in waiting.metrics);
  assert.deepEqual(waiting.stages.map((s: any) => s.name), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'approval']);
  // what it trained on, and why: the test platform forces WASM
  assert.equal(waiting.training.backend, 'wasm');
  assert.match(waiting.training.device, /^cpu: .+ \(\d+ cores\)$/);
  assert.equal(waiting.training.backendReason, 'PERENNIAL_TF_BACKEND=wasm');

  const { decided, ended } = await decideAndWait(t, approver, started.body.id, 'approve', 'ship it');
  assert.equal(decided.approval.decision, 'approved');
  assert.equal(decided.approval.by, 'alice (approver)');
  assert.equal(ended.status, 'completed');
  assert.equal(ended.stage, 'done');

  const asOperator = t.clientFor(operator);
  const model = await expectJson(asOperator.v1.models[':name'].$get({ param: { name: 'weather' } }), 200);
  assert.equal(model.productionVersion, 1);
  const [v1] = model.versions;
  assert.equal(v1.status, 'production');
  assert.equal(v1.datasetHash, waiting.dataset.hash);
  assert.equal(v1.pipelineId, started.body.id);
  assert.equal(v1.approvedBy, 'alice (approver)');
  assert.equal(v1.params.epochs, 5);
  assert.equal(v1.backend, 'wasm');

  const list = await expectJson(asOperator.v1.models.$get(), 200);
  assert.deepEqual(list.items.map((m) => [m.name, m.productionVersion]), [['weather', 1]]);

  const audit = await t.database.db.select().from(auditEvents).where(eq(auditEvents.pipelineId, started.body.id)).orderBy(auditEvents.id);
  assert.deepEqual(audit.map((e) => e.action), ['pipeline.start', 'approval.request', 'approve', 'promote']);

  if (process.env.RECORD_HISTORY) {
    const history = await t.platform.client.workflow.getHandle(started.body.id).fetchHistory();
    fs.writeFileSync(path.join(import.meta.dirname, '../fixtures/histories/weather-approved.json'), historyToJSON(history));
  }
});

test('a second approved run makes version 2 production and archives version 1', async () => {
  const approver = await t.createKey('bob (approver)', 'approver');
  const operator = await t.createKey('oscar (operator)', 'operator');
  const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ training: { epochs: 3, hiddenUnits: [8], seed: 7 } }) });
  assert.equal(started.status, 202);
  const waiting = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(waiting.modelVersion, 2);
  assert.equal(waiting.dataset.deduplicated, true, 'the same bytes are stored once');

  const approved = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver });
  assert.equal(approved.status, 200);
  await t.waitFor(started.body.id, (p) => p.status === 'completed');

  const model = await expectJson(t.client.v1.models[':name'].$get({ param: { name: 'weather' } }), 200);
  assert.equal(model.productionVersion, 2);
  assert.deepEqual(model.versions.map((v) => [v.version, v.status]), [[2, 'production'], [1, 'archived']]);

  const pipelines = await expectJson(t.client.v1.pipelines.$get({ query: { model: 'weather' } }), 200);
  assert.deepEqual(pipelines.items.map((p) => p.id).slice(0, 1), [started.body.id], 'newest first');
  const completed = await expectJson(t.client.v1.pipelines.$get({ query: { status: 'completed' } }), 200);
  assert.equal(completed.items.length, 2);
});

test('the same Idempotency-Key returns the same pipeline instead of starting a second one', async () => {
  const body = weatherRequest({ approval: { required: false } });
  const first = await t.api('POST', '/v1/pipelines', { body, headers: { 'idempotency-key': 'nightly-2026-11-22' } });
  const second = await t.api('POST', '/v1/pipelines', { body, headers: { 'idempotency-key': 'nightly-2026-11-22' } });
  assert.equal(first.status, 202);
  assert.equal(second.status, 202);
  assert.equal(second.body.id, first.body.id);
  assert.equal(second.body.runId, first.body.runId);
  await t.waitFor(first.body.id, (p) => p.status === 'completed');
  const third = await t.api('POST', '/v1/pipelines', { body, headers: { 'idempotency-key': 'nightly-2026-11-22' } });
  assert.equal(third.body.id, first.body.id, 'still the same pipeline after it ended');
});
