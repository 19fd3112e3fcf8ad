import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => { t = await startTestPlatform(); });
after(async () => { await t?.stop(); });

async function run(training: Record<string, unknown>) {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'cached', training, approval: { required: false } }) });
  return t.waitFor(started.body.id, (p) => p.status !== 'running');
}

test('a run with the same data, parameters and code reuses the earlier model and says so; cache: false trains anew', async () => {
  const training = { epochs: 5, hiddenUnits: [16] };
  const first = await run(training);
  assert.equal(first.status, 'completed');
  assert.equal(first.training.cached, false);

  const second = await run(training);
  assert.equal(second.status, 'completed');
  assert.equal(second.training.cached, true);
  assert.deepEqual(second.training.cachedFrom, { version: 1, pipelineId: first.id });
  assert.deepEqual(second.metrics, first.metrics, 'the same model, judged on the same rows');
  assert.equal(second.modelVersion, 2, 'still a version of its own, with its own lineage');

  const forced = await run({ ...training, cache: false });
  assert.equal(forced.training.cached, false);
  assert.ok(forced.training.trainSeconds > 0);

  const other = await run({ ...training, seed: 7 });
  assert.equal(other.training.cached, false, 'other parameters are another model');
});
