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
import { columnReader, createTrainingActivities } from '../../activities/training';
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

/**
 * .ci/run sets up native TensorFlow (npm run setup:native) and sets PERENNIAL_EXPECT_NATIVE=1: there a
 * missing native backend fails the test instead of skipping it. The GPU test skips only for want of a GPU.
 */
async function nativeOrSkip(t: { skip: (why: string) => void }, backend: 'tensorflow' | 'tensorflow-gpu') {
  const why = await backendUnavailable(backend);
  if (!why) return true;
  if (backend === 'tensorflow' && process.env.PERENNIAL_EXPECT_NATIVE === '1') assert.fail(`native TensorFlow should be set up here: ${why}`);
  t.skip(backend === 'tensorflow-gpu' ? `needs a CUDA GPU and npm run setup:native -- --gpu: ${why}` : why);
  return false;
}

test('the native tensorflow backend trains a classifier that beats the majority class, and says which CPU it ran on', async (t) => {
  if (!(await nativeOrSkip(t, 'tensorflow'))) return;
  const { trained, evaluation } = await trainAndEvaluate('tensorflow', params());
  assert.equal(trained.backend, 'tensorflow');
  assert.match(trained.device!, /^cpu: .+ \(\d+ cores\)$/);
  assert.equal(trained.backendReason, 'PERENNIAL_TF_BACKEND=tensorflow');
  assert.ok(evaluation.metrics.accuracy > 0.6, `accuracy ${evaluation.metrics.accuracy}`);
});

test('the native tensorflow-gpu backend trains on a CUDA GPU (skips without a GPU)', async (t) => {
  if (!(await nativeOrSkip(t, 'tensorflow-gpu'))) return;
  const { trained } = await trainAndEvaluate('tensorflow-gpu', params());
  assert.equal(trained.backend, 'tensorflow-gpu');
  assert.match(trained.device!, /^cuda/);
});

test('auto trains a small model on WASM, and the reason recorded gives the size rule', async () => {
  const { trained } = await trainAndEvaluate('auto', params({ hiddenUnits: [16], batchSize: 32 }));
  if (trained.backend === 'tensorflow-gpu') return; // a GPU takes every model
  assert.equal(trained.backend, 'wasm');
  assert.match(trained.backendReason!, /below the native crossover of 2,500,000/);
});

test('auto trains a wide model on native TensorFlow where it is set up, and says how to get it where not', async () => {
  const { trained, evaluation } = await trainAndEvaluate('auto', params({ hiddenUnits: [512, 256], batchSize: 256, epochs: 3 }));
  const native = (await backendUnavailable('tensorflow')) === null;
  if (trained.backend === 'tensorflow-gpu') return;
  if (native) {
    assert.equal(trained.backend, 'tensorflow');
    assert.match(trained.backendReason!, /at or above the native crossover/);
  } else {
    assert.equal(trained.backend, 'wasm');
    assert.match(trained.backendReason!, /npm run setup:native/);
  }
  assert.ok(evaluation.metrics.accuracy > 0.5, `accuracy ${evaluation.metrics.accuracy}`);
});

test('a model trained on native TensorFlow passes the servability check on WASM: the same answers on both', async (t) => {
  if (!(await nativeOrSkip(t, 'tensorflow'))) return;
  const { trained, evaluation } = await trainAndEvaluate('tensorflow', params({ hiddenUnits: [64, 32] }));
  const onWasm = createTrainingActivities({ artifacts, backend: 'wasm' });
  const check: Awaited<ReturnType<typeof onWasm.checkServability>> = await new MockActivityEnvironment().run(onWasm.checkServability, { artifactKey: trained.artifactKey, sampleKey: evaluation.servingSampleKey });
  assert.equal(check.instances, 20, 'the servability sample: 20 held-out rows, answered by evaluation on native');
  assert.deepEqual({ servable: check.servable, problem: check.problem }, { servable: true, problem: undefined });
});

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

test('a training worker reads a dataset\'s columns once for training and evaluation alike, and what it hands out cannot be changed', async () => {
  let resolved = 0;
  const counting = Object.assign(Object.create(artifacts), { localPath: (key: string) => { resolved++; return artifacts.localPath(key); } });
  const read = columnReader(counting);
  const first = await read(dataset, report.features, 'weather', report.task);
  const again = await read(dataset, report.features, 'weather', report.task);
  assert.equal(resolved, 1, 'the second read of the same columns is the first one\'s');
  assert.equal(again, first);
  assert.equal(first.rows, 1461);
  assert.throws(() => (first.columns.temp_max as unknown[]).push(0), TypeError, 'frozen');
  await read(dataset, report.features.slice(0, 2), 'weather', report.task);
  assert.equal(resolved, 2, 'other columns are read');
});
