/** `auto` picks each training job's backend from the model's size, and says why. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseTrainingBackend, mlpWeights, NATIVE_CROSSOVER_WORK, type TrainingBackend } from '../../ml/backend-choice';

const here = (...b: TrainingBackend[]) => new Set<TrainingBackend>(b);

test('an MLP counts its weights and biases layer by layer', () => {
  // 46 inputs -> 64 -> 32 -> 1: 46*64+64 + 64*32+32 + 32*1+1
  assert.equal(mlpWeights(46, [64, 32], 1), 3_008 + 2_080 + 33);
  assert.equal(mlpWeights(10, [], 3), 33, 'no hidden layer: a linear model');
});

test('a small model trains on WASM even where native TensorFlow is installed, and the reason gives the figures', () => {
  const choice = chooseTrainingBackend({ inputSize: 46, hiddenUnits: [64, 32], outputSize: 1, batchSize: 64, available: here('tensorflow', 'wasm', 'cpu') });
  assert.equal(choice.backend, 'wasm');
  assert.match(choice.reason, /5,121 weights x batch 64 = 327,744 multiply-adds per step, below the native crossover of 2,500,000/);
});

test('a wide model trains on native TensorFlow where it is installed', () => {
  const choice = chooseTrainingBackend({ inputSize: 46, hiddenUnits: [1024, 512], outputSize: 1, batchSize: 512, available: here('tensorflow', 'wasm', 'cpu') });
  assert.equal(choice.backend, 'tensorflow');
  assert.match(choice.reason, /at or above the native crossover/);
});

test('the crossover is inclusive: exactly the threshold goes native, one less stays on WASM', () => {
  // a linear model with 1 input and 1 output has 2 weights: batch decides the work
  const at = chooseTrainingBackend({ inputSize: 1, hiddenUnits: [], outputSize: 1, batchSize: NATIVE_CROSSOVER_WORK / 2, available: here('tensorflow', 'wasm') });
  const below = chooseTrainingBackend({ inputSize: 1, hiddenUnits: [], outputSize: 1, batchSize: NATIVE_CROSSOVER_WORK / 2 - 1, available: here('tensorflow', 'wasm') });
  assert.equal(at.backend, 'tensorflow');
  assert.equal(below.backend, 'wasm');
});

test('a wide model without native TensorFlow trains on WASM and the reason says how to get native', () => {
  const choice = chooseTrainingBackend({ inputSize: 46, hiddenUnits: [1024, 512], outputSize: 1, batchSize: 512, available: here('wasm', 'cpu') });
  assert.equal(choice.backend, 'wasm');
  assert.match(choice.reason, /npm run setup:native/);
});

test('a visible CUDA GPU takes every model, small ones included', () => {
  const choice = chooseTrainingBackend({ inputSize: 4, hiddenUnits: [8], outputSize: 2, batchSize: 32, available: here('tensorflow-gpu', 'wasm', 'cpu') });
  assert.equal(choice.backend, 'tensorflow-gpu');
  assert.match(choice.reason, /CUDA GPU is visible/);
});

test('with neither WASM nor native, plain JavaScript still trains', () => {
  assert.equal(chooseTrainingBackend({ inputSize: 4, hiddenUnits: [8], outputSize: 2, batchSize: 32, available: here('cpu') }).backend, 'cpu');
});
