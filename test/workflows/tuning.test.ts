/** The hyperparameter search's trials: drawn from the grid by index, never by building it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_GRID_SIZE } from '../../common/pipeline-request';
import { trialParams } from '../../workflows/tuning';

const space = { learningRate: [0.1, 0.01, 0.001], hiddenUnits: [[8], [16, 8]], dropout: [0, 0.2, 0.5, 0.1] };

test('the same seed picks the same trials, every one a distinct point of the grid with a value of each parameter', () => {
  const trials = trialParams({ trials: 24, parallelism: 2, metric: 'val_loss', space }, 42);
  assert.deepEqual(trialParams({ trials: 24, parallelism: 2, metric: 'val_loss', space }, 42), trials);
  assert.equal(trials.length, 24, 'the whole grid: 3 x 2 x 4');
  assert.equal(new Set(trials.map((t) => JSON.stringify(t))).size, 24);
  for (const t of trials) {
    assert.deepEqual(Object.keys(t), ['learningRate', 'hiddenUnits', 'dropout']);
    assert.ok(space.learningRate.includes(t.learningRate!) && space.dropout.includes(t.dropout!));
  }
  assert.notDeepEqual(trialParams({ trials: 24, parallelism: 2, metric: 'val_loss', space }, 7), trials, 'another seed, another order');
});

test('a grid at the API limit yields its trials from indices: only `trials` points are ever made', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000);
  const trials = trialParams({ trials: 5, parallelism: 1, metric: 'val_loss', space: { learningRate: hundred, l2: hundred } }, 1);
  assert.equal(100 * 100, MAX_GRID_SIZE);
  assert.equal(trials.length, 5);
  for (const t of trials) assert.ok(hundred.includes(t.learningRate!) && hundred.includes(t.l2!));
});
