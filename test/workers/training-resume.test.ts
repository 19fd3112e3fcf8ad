/**
 * Durable training with real worker processes: a training worker killed with SIGKILL mid-run is
 * replaced, and the new one resumes from the last checkpoint rather than from epoch zero.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestPlatform, REPO_ROOT, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
const trainers: ChildProcess[] = [];

before(async () => {
  // API and orchestration here; training only in the worker processes below
  t = await startTestPlatform({ PERENNIAL_HEARTBEAT_TIMEOUT: '2s' }, { api: true, orchestration: true, training: false });
  await t.allowUnapproved('resumable');
});
after(async () => {
  for (const p of trainers) if (p.exitCode === null) killGroup(p);
  await t?.stop();
});

/** SIGKILL to the worker and everything it started: no goodbye, no draining */
function killGroup(p: ChildProcess) {
  try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* already gone */ }
}

async function startTrainer(): Promise<ChildProcess> {
  const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['platform/trainer.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env, TEMPORAL_ADDRESS: t.temporalAddress, PERENNIAL_TRAINING_TASK_QUEUE: t.config.taskQueues.training,
      PERENNIAL_DATA_DIR: t.dataDir, PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: tsx runs the worker in a child process, and SIGKILL must reach both
  });
  trainers.push(child);
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => { if (/\[trainer\] running/.test(out)) { clearInterval(timer); resolve(); } }, 50);
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`trainer exited (${code}): ${out}`)); });
  });
  return child;
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
  const exited = new Promise((r) => first.once('exit', r));
  killGroup(first);
  await exited;

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
