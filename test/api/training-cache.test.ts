import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { modelVersions } from '../../db/schema';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('cached', 'carded', 'tuned', 'sliced');
});
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

test('a cached model whose files are gone from the store is trained again, and the pipeline completes', async () => {
  const training = { epochs: 4, hiddenUnits: [8] };
  const first = await run(training);
  assert.equal(first.status, 'completed');
  const [stored] = await t.database.db.select({ artifactKey: modelVersions.artifactKey }).from(modelVersions).where(eq(modelVersions.pipelineId, first.id));
  fs.rmSync(path.join(t.config.artifactsDir, stored.artifactKey), { recursive: true, force: true });
  const second = await run(training);
  assert.equal(second.status, 'completed', JSON.stringify(second.error));
  assert.equal(second.training.cached, false);
  assert.ok(second.training.trainSeconds > 0);
});

test('each version has a model card, as JSON and as Markdown, comparing it with production on the same rows', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({
      model: 'carded', intendedUse: 'Tomorrow\'s weather for the office garden watering; not for aviation.',
      training: { epochs: 5, hiddenUnits: [16] }, approval: { required: false },
    }),
  });
  await t.waitFor(started.body.id, (p) => p.status === 'completed');
  const second = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'carded', training: { epochs: 6, hiddenUnits: [16] }, approval: { required: false } }),
  });
  await t.waitFor(second.body.id, (p) => p.status === 'completed');

  const first = await t.api('GET', '/v1/models/carded/versions/1/card');
  assert.equal(first.status, 200);
  assert.equal(first.body.intendedUse, 'Tomorrow\'s weather for the office garden watering; not for aviation.');
  assert.equal(first.body.data.rows, 1461);
  assert.deepEqual(first.body.data.schema.map((c: any) => c.name), ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
  assert.equal(first.body.parameters.epochs, 5);
  assert.equal(first.body.training.backend, 'wasm');
  assert.match(first.body.training.device, /^cpu: .+ \(\d+ cores\)$/, 'the CPU it trained on');
  assert.equal(first.body.training.backendReason, 'PERENNIAL_TF_BACKEND=wasm');
  assert.ok(first.body.evaluation.metrics.roc_auc > 0.5);
  assert.equal(first.body.evaluation.perClass.length, 5);
  assert.equal(first.body.comparisonWithProduction, null, 'nothing was in production before version 1');

  const card2 = await t.api('GET', '/v1/models/carded/versions/2/card');
  assert.equal(card2.body.comparisonWithProduction.productionVersion, 1);
  assert.ok('accuracy' in card2.body.comparisonWithProduction.productionMetrics);

  const md = await fetch(`${t.url}/v1/models/carded/versions/2/card?format=markdown`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.equal(md.status, 200);
  assert.match(md.headers.get('content-type')!, /text\/markdown/);
  const text = await md.text();
  assert.match(text, /^# Model card: carded v2/);
  assert.match(text, /## Comparison with production\n\nAgainst production v1 on the same held-out rows:/);
  assert.match(text, /\| accuracy \| 0\.\d{4} \| 0\.\d{4} \|/);
  assert.equal((await t.api('GET', '/v1/models/carded/versions/9/card')).status, 404);
});

test('a 4-trial hyperparameter search trains every trial, picks the lowest validation loss, and records every trial on the version', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({
      model: 'tuned', training: { epochs: 4, hiddenUnits: [16] }, approval: { required: false },
      tuning: { trials: 4, parallelism: 2, metric: 'val_loss', space: { learningRate: [0.002, 0.03], hiddenUnits: [[8], [32, 16]] } },
    }),
  });
  assert.equal(started.status, 202);
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  const trials = done.training.trials;
  assert.equal(trials.length, 4);
  assert.deepEqual(trials.map((x: any) => `${x.params.learningRate}/${x.params.hiddenUnits.join('x')}`).sort(),
    ['0.002/32x16', '0.002/8', '0.03/32x16', '0.03/8'], 'the whole 2x2 grid');
  const best = trials.reduce((a: any, b: any) => (b.valLoss < a.valLoss ? b : a));
  assert.equal(done.training.bestTrial, best.trial);

  const card = await t.api('GET', '/v1/models/tuned/versions/1/card');
  assert.equal(card.body.parameters.learningRate, best.params.learningRate, 'the version carries the winning parameters');
  assert.deepEqual(card.body.parameters.hiddenUnits, best.params.hiddenUnits);
  assert.equal(card.body.training.trials.length, 4, 'every trial is recorded on the version');
});

test('evaluation slices metrics by season, ranks features by permutation importance, and a fairness gap above the gate rejects', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { SEATTLE_WEATHER } = await import('../helpers/platform');
  const seasons = ['winter', 'winter', 'spring', 'spring', 'spring', 'summer', 'summer', 'summer', 'autumn', 'autumn', 'autumn', 'winter'];
  const lines = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const file = path.join(t.importDir, 'weather-seasons.csv');
  fs.writeFileSync(file, lines.map((l, i) => `${l},${i === 0 ? 'season' : seasons[Number(l.slice(5, 7)) - 1]}`).join('\n'));

  const request = {
    model: 'sliced', dataset: { uri: file }, training: { epochs: 15, hiddenUnits: [16] }, approval: { required: false },
    evaluation: { slices: ['season'], sensitive: ['season'], positiveClass: 'sun' },
  };
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest(request) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed', JSON.stringify(done.gates ?? done.error));
  const card = (await t.api('GET', '/v1/models/sliced/versions/1/card')).body;
  assert.deepEqual(card.evaluation.slices.season.map((s: any) => s.value), ['autumn', 'spring', 'summer', 'winter']);
  assert.equal(card.evaluation.slices.season.reduce((n: number, s: any) => n + s.rows, 0), card.evaluation.heldOutRows);
  assert.ok('accuracy' in card.evaluation.slices.season[0].metrics);
  assert.equal(card.featureImportance[0].feature, 'precipitation', 'rain is told apart by precipitation above all');
  assert.ok(card.featureImportance[0].importance > 0);
  const fairness = card.fairness.season;
  assert.equal(fairness.positiveClass, 'sun');
  assert.equal(fairness.groups.length, 4);
  assert.ok(fairness.selectionRateGap > 0, 'summer is sunnier than winter');

  const gated = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ ...request, gates: { maxFairnessGap: 0.05 } }) });
  const rejected = await t.waitFor(gated.body.id, (p) => p.status !== 'running');
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.reason, 'gates');
  assert.match(rejected.gates.failures.join(' '), /^fairness on season: a gap of 0\.\d+ between groups/);
});
