/**
 * Durable training with real worker processes: a training worker killed with SIGKILL mid-run is
 * replaced, and the new one resumes from the last checkpoint rather than from epoch zero.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { startPart, type PartProcess } from '../helpers/processes';

let t: TestPlatform;
const trainers: PartProcess[] = [];

before(async () => {
  // API and orchestration here; training only in the worker processes below
  t = await startTestPlatform({ PERENNIAL_HEARTBEAT_TIMEOUT: '2s' }, { api: true, orchestration: true, training: false });
  await t.allowUnapproved('resumable');
});
after(async () => {
  for (const p of trainers) await p.kill();
  await t?.stop();
});

/** a training worker of its own process group (`npm run trainer`), on the test platform's Temporal and queues */
async function startTrainer(): Promise<PartProcess> {
  const trainer = await startPart(t, 'trainer');
  trainers.push(trainer);
  return trainer;
}

test('a training worker killed with SIGKILL mid-run is replaced, and the new one resumes from the last checkpoint', async () => {
  const first = await startTrainer();
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'resumable', training: { epochs: 400, hiddenUnits: [32], checkpointEvery: 5 }, approval: { required: false } }),
  });
  assert.equal(started.status, 202);

  const midway = await t.waitFor(started.body.id, (p) => p.stage === 'train' && p.training?.epoch >= 15);
  assert.ok(midway.training.epoch < 400, 'progress shows while training');
  assert.equal(midway.training.epochs, 400);
  await first.kill('SIGKILL'); // no goodbye, no draining

  await startTrainer();
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.training.epoch, 400);
  assert.ok(done.training.resumedFromEpoch >= 5, `resumed from epoch ${done.training.resumedFromEpoch}, not from zero`);
  assert.equal(done.training.resumedFromEpoch % 5, 0, 'from a checkpoint');

  const model = await t.api('GET', '/v1/models/resumable');
  assert.deepEqual(model.body.versions.map((v: any) => [v.version, v.status]), [[1, 'production']], 'exactly one model version');
});

test('cancelling a pipeline mid-training ends it cancelled, with no model version', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'cancelled-training', training: { epochs: 2000, hiddenUnits: [32] } }),
  });
  await t.waitFor(started.body.id, (p) => p.stage === 'train' && p.training?.epoch >= 3);
  assert.equal((await t.api('POST', `/v1/pipelines/${started.body.id}/cancel`)).status, 202);
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'cancelled');
  assert.equal(done.modelVersion, null);
  assert.equal((await t.api('GET', '/v1/models/cancelled-training')).status, 404);
});
