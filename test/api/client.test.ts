/**
 * The typed client (client/) against the real platform: every call here is checked against the
 * API's route types at compile time (`npm run typecheck`), and its answers are checked here at run time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PerennialError } from '../../client';
import { expectJson, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => { t = await startTestPlatform(); });
after(async () => { await t?.stop(); });

const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };

test('the typed client starts a pipeline, reads it, approves it, lists models and predicts', async () => {
  const approver = t.clientFor(await t.createKey('alice', 'approver'));

  const operator = t.clientFor(await t.createKey('olivia', 'operator'));
  const { id, runId, temporalUiUrl } = await expectJson(operator.v1.pipelines.$post({ json: weatherRequest() }), 202);
  assert.match(id, /^pipeline-weather-/);
  assert.ok(temporalUiUrl.endsWith(`/workflows/${id}/${runId}/history`));

  await t.waitFor(id, (p) => p.status === 'awaiting_approval');
  const waiting = await expectJson(t.client.v1.pipelines[':id'].$get({ param: { id } }), 200);
  assert.equal(waiting.stage, 'approval');
  assert.equal(waiting.modelVersion, 1);
  assert.equal(waiting.temporalUiUrl, temporalUiUrl);

  const approved = await expectJson(approver.v1.pipelines[':id'].approve.$post({ param: { id }, json: { comment: 'typed all the way' } }), 200);
  assert.equal(approved.approval.comment, 'typed all the way');
  await t.waitFor(id, (p) => p.status === 'completed');

  const listed = await expectJson(t.client.v1.models.$get(), 200);
  assert.deepEqual(listed.items.map((m) => [m.name, m.productionVersion]), [['weather', 1]]);

  const answer = await t.client.predict('weather', [day], { entityKey: 'customer-42' });
  assert.equal(answer.modelVersion, 1);
  assert.equal(answer.predictions.length, 1);
  assert.equal(answer.predictionIds.length, 1);
  assert.ok('label' in answer.predictions[0]);
});

test('a bad body comes back as a 400 typed in the one error shape', async () => {
  const res = await t.client.v1.pipelines.$post({ json: { model: 'weather', dataset: { uri: '' }, target: 'weather', training: { epochs: 0 } } });
  assert.equal(res.status, 400);
  if (res.status !== 400) return; // narrows the answer to the route's 400: the error shape
  const { error } = await res.json();
  assert.equal(error.code, 'invalid_request');
  assert.match(error.message, /dataset\.uri/);
  assert.ok(Array.isArray(error.details));
});

test('a role too low comes back as a 403, and the helper throws the error shape for predict', async () => {
  const viewer = t.clientFor(await t.createKey('vera', 'viewer'));
  const { error } = await expectJson(viewer.v1['api-keys'].$get(), 403);
  assert.equal(error.code, 'forbidden');

  await assert.rejects(viewer.predict('nope', [day]), (err: unknown) => {
    assert.ok(err instanceof PerennialError);
    assert.equal(err.status, 404);
    assert.equal(err.body.error.code, 'not_found');
    return true;
  });
});

test('a route or a field that does not exist does not compile', () => {
  // compile-time checks: these calls are never made
  const calls = [
    // @ts-expect-error: there is no /v1/pipeline route (it is /v1/pipelines)
    () => t.client.v1.pipeline.$get(),
    // @ts-expect-error: the path parameter is :id, not :pipelineId
    () => t.client.v1.pipelines[':id'].$get({ param: { pipelineId: 'x' } }),
    // @ts-expect-error: a model name is a string
    () => t.client.v1.pipelines.$post({ json: { model: 42, dataset: { uri: 'x.csv' }, target: 'y' } }),
  ];
  assert.equal(calls.length, 3);
});
