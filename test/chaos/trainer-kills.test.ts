/**
 * Chaos 1: the training worker is killed with SIGKILL at a random epoch, ten pipelines in a row, and
 * a new one started each time: every pipeline completes, resumed from a checkpoint, with exactly one
 * version each. The kill points come from a seed that is printed, so a failing run can be repeated.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { startPart, type PartProcess } from '../helpers/processes';
import { report, waitAll } from './report';

const RUNS = Number(process.env.CHAOS_TRAINER_RUNS ?? 10);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);
const EPOCHS = 300;
/** the kill comes at a random epoch before this one (training must still be under way to be killed) */
const KILL_BEFORE = 120;
const CHECKPOINT_EVERY = 5;
let t: TestPlatform;
const trainers: PartProcess[] = [];

/** mulberry32: the kill epochs, repeatable from the seed */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

before(async () => {
  // API and orchestration here; training only in the worker processes killed below
  t = await startTestPlatform({ PERENNIAL_HEARTBEAT_TIMEOUT: '2s' }, { api: true, orchestration: true, training: false });
  await t.allowUnapproved(...Array.from({ length: RUNS }, (_, run) => `killed-${run}`));
});
after(async () => {
  for (const p of trainers) await p.kill();
  await t?.stop();
});

test(`the training worker killed with SIGKILL at a random epoch, ${RUNS} times: every pipeline completes from a checkpoint, one version each`, async () => {
  console.log(`chaos seed ${SEED} (CHAOS_SEED=${SEED} repeats these kill points)`);
  const next = random(SEED);
  const start = async () => { const p = await startPart(t, 'trainer'); trainers.push(p); return p; };
  let trainer = await start();
  const runs: { killedAt: number; resumedFrom: number; recoveryMs: number; versions: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const model = `killed-${run}`;
    const killAt = CHECKPOINT_EVERY + 1 + Math.floor(next() * (KILL_BEFORE - CHECKPOINT_EVERY - 1));
    const started = await t.api('POST', '/v1/pipelines', {
      body: weatherRequest({ model, training: { epochs: EPOCHS, hiddenUnits: [32], checkpointEvery: CHECKPOINT_EVERY }, approval: { required: false } }),
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const seen = await t.waitFor(started.body.id, (p) => (p.stage === 'train' && p.training?.epoch >= killAt) || p.stage !== 'train' && p.stages?.some((s: any) => s.name === 'train' && s.status === 'completed'));
    assert.equal(seen.stage, 'train', `run ${run}: training ended before epoch ${killAt}, nothing to kill`);
    assert.equal(await trainer.kill('SIGKILL'), 'SIGKILL');
    const killed = Date.now();
    trainer = await start();
    const [done] = await waitAll(t, [started.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
    assert.equal(done.status, 'completed', `run ${run}: ${JSON.stringify(done.error)}`);
    assert.equal(done.training.epoch, EPOCHS);
    assert.ok(done.training.resumedFromEpoch >= CHECKPOINT_EVERY && done.training.resumedFromEpoch % CHECKPOINT_EVERY === 0,
      `run ${run}: killed at epoch ${killAt}, resumed from ${done.training.resumedFromEpoch}`);
    const versions = (await t.api('GET', `/v1/models/${model}`)).body.versions;
    assert.deepEqual(versions.map((v: any) => v.version), [1], `run ${run}: exactly one version`);
    runs.push({ killedAt: killAt, resumedFrom: done.training.resumedFromEpoch, recoveryMs: Date.now() - killed, versions: versions.length });
  }
  report('SIGKILL the training worker at a random epoch', {
    seed: SEED, runs: runs.length, completions: runs.length, resumedFromCheckpoint: runs.filter((r) => r.resumedFrom > 0).length,
    versions: runs.reduce((n, r) => n + r.versions, 0), killedAfterEpoch: runs.map((r) => r.killedAt), resumedFrom: runs.map((r) => r.resumedFrom),
    recoveryMsMedian: runs.map((r) => r.recoveryMs).sort((a, b) => a - b)[Math.floor(runs.length / 2)],
  });
});
