/** The train and evaluate activities on seattle-weather, on every TF.js backend installable here. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { LocalArtifactStore } from '../../db/artifacts';
import { createDataActivities } from '../../activities/data';
import { testSourcePolicy } from '../helpers/sources';
import { createTrainingActivities } from '../../activities/training';
import type { DatasetVersion, EvaluationResult, ValidationReport } from '../../common/domain';
import type { TrainingParams } from '../../common/pipeline-request';
import type { TrainResult } from '../../activities/types';
import type { Database } from '../../db/client';
import { backendUnavailable, type BackendPreference } from '../../ml/backend';
import { openTestDatabase } from '../helpers/database';
import { SEATTLE_WEATHER } from '../helpers/platform';

let database: Database;
let dir: string;
let artifacts: LocalArtifactStore;
let dataset: DatasetVersion;
let report: ValidationReport;

const params = (over: Partial<TrainingParams> = {}): TrainingParams => ({
  epochs: 8, batchSize: 64, learningRate: 0.01, hiddenUnits: [16], validationSplit: 0.2, holdoutFraction: 0.2, seed: 42,
  checkpointEvery: 100, dropout: 0, l2: 0, patience: null, classWeight: null, cache: true, split: null, ...over,
});

before(async () => {
  database = await openTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-training-'));
  artifacts = new LocalArtifactStore(dir);
  const data = createDataActivities({ db: database.db, artifacts, sources: testSourcePolicy({ dataDir: dir }) });
  dataset = await data.ingestDataset({ uri: SEATTLE_WEATHER });
  report = await data.validateDataset({ model: 'weather', dataset, target: 'weather' });
});
after(async () => {
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let run = 0;
async function trainAndEvaluate(backend: BackendPreference, p: TrainingParams) {
  const acts = createTrainingActivities({ artifacts, backend });
  const env = new MockActivityEnvironment();
  const trained: TrainResult = await env.run(acts.trainModel, {
    pipelineId: `p-${++run}`, model: 'weather', dataset, target: 'weather', task: report.task, features: report.features, params: p,
  });
  const evaluation: EvaluationResult = await env.run(acts.evaluateModel, { dataset, target: 'weather', params: p, candidateArtifactKey: trained.artifactKey });
  return { trained, evaluation };
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`the ${backend} backend trains a classifier that beats the majority class on held-out days`, async () => {
    const { trained, evaluation } = await trainAndEvaluate(backend, params());
    assert.equal(trained.backend, backend);
    assert.equal(trained.epochs, 8);
    // the majority class (rain) is 44 % of days
    assert.ok(evaluation.metrics.accuracy > 0.6, `accuracy ${evaluation.metrics.accuracy}`);
  });
}

for (const backend of ['tensorflow', 'tensorflow-gpu'] as const) {
  test(`the native ${backend} backend trains when installed`, async (t) => {
    const why = await backendUnavailable(backend);
    if (why) return t.skip(why);
    const { trained } = await trainAndEvaluate(backend, params());
    assert.equal(trained.backend, backend);
  });
}

test('the same seed and data give the same model: identical metrics twice', async () => {
  const a = await trainAndEvaluate('wasm', params({ dropout: 0.1 }));
  const b = await trainAndEvaluate('wasm', params({ dropout: 0.1 }));
  assert.deepEqual(b.evaluation.metrics, a.evaluation.metrics);
  const c = await trainAndEvaluate('wasm', params({ dropout: 0.1, seed: 7 }));
  assert.notDeepEqual(c.evaluation.metrics, a.evaluation.metrics);
});

test('early stopping ends training once validation loss stops improving for `patience` epochs', async () => {
  const { trained } = await trainAndEvaluate('wasm', params({ epochs: 500, patience: 3, learningRate: 0.05 }));
  assert.equal(trained.stoppedEarly, true);
  assert.ok(trained.epochs < 500, `stopped at epoch ${trained.epochs}`);
});

test('balanced class weights make the rare classes count: macro F1 rises', async () => {
  const plain = await trainAndEvaluate('wasm', params({ epochs: 20 }));
  const balanced = await trainAndEvaluate('wasm', params({ epochs: 20, classWeight: 'balanced' }));
  assert.ok(balanced.evaluation.metrics.f1_macro > plain.evaluation.metrics.f1_macro,
    `balanced ${balanced.evaluation.metrics.f1_macro} vs plain ${plain.evaluation.metrics.f1_macro}`);
});

test('L2 regularisation and dropout are saved with the model and it evaluates after loading', async () => {
  const { evaluation } = await trainAndEvaluate('wasm', params({ l2: 0.001, dropout: 0.2 }));
  assert.ok(evaluation.metrics.accuracy > 0.5);
});

test('a split by a time column holds out the latest days and trains on the earlier ones', async () => {
  const { splitRows } = await import('../../ml/split');
  const dates = ['2012-03-01', '2012-01-01', '2012-05-01', '2012-02-01', '2012-04-01'];
  const { order, holdout } = splitRows({ rows: 5, columns: { '__extra.date': dates } }, params({ holdoutFraction: 0.4, split: { by: 'date' } }));
  assert.deepEqual(holdout.map((i) => dates[i]), ['2012-04-01', '2012-05-01']);
  assert.deepEqual(order.map((i) => dates[i]), ['2012-01-01', '2012-02-01', '2012-03-01'], 'in time order: validation takes the latest');
  const { evaluation } = await trainAndEvaluate('wasm', params({ split: { by: 'date', validationFraction: 0.1 } }));
  assert.equal(evaluation.rows, 292, 'the last 20 % of 1,461 days');
  assert.ok(evaluation.metrics.accuracy > 0.5);
});
