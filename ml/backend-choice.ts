/**
 * Which TensorFlow.js backend a training job should use, from the model's size.
 *
 * Native TensorFlow pays a fixed cost per op (an N-API call, a tensor handle), WASM pays per
 * multiply-add. Small models are all fixed cost, so WASM wins; wide models are all arithmetic, so
 * native wins. The work of one training step is about batch x weights multiply-adds (forward and
 * backward are fixed multiples of it), and the crossover is a threshold on that figure, measured by
 * `npm run bench:crossover` (figures in README.md, "Training backends").
 */
export type TrainingBackend = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/**
 * batch x weights at and above which native TensorFlow trains faster than WASM on a CPU.
 * Measured on 2 cores (tfjs 4.22, TF 2.21, flights-3m, 46 inputs): 128-64 at batch 64 (0.9M)
 * WASM x1.6; 256-128 at batch 32 (1.4M) WASM x1.1; 64-32 at batch 512 (2.6M) even;
 * 256-128 at batch 64 (2.9M) native x1.5; 128-64 at batch 256 (3.7M) native x1.6;
 * 1024-512 at batch 512 (294M) native x57. Native costs about 6 ms a step however small the model.
 */
export const NATIVE_CROSSOVER_WORK = 2_500_000;

/** weights and biases of an MLP */
export function mlpWeights(inputSize: number, hiddenUnits: number[], outputSize: number): number {
  let total = 0;
  let previous = inputSize;
  for (const units of [...hiddenUnits, outputSize]) {
    total += previous * units + units;
    previous = units;
  }
  return total;
}

export interface BackendChoice {
  backend: TrainingBackend;
  /** why, in words a person reads on the model version */
  reason: string;
}

export interface ChoiceInput {
  inputSize: number;
  hiddenUnits: number[];
  outputSize: number;
  batchSize: number;
  /** what this process can load (ml/backend.ts availableBackends) */
  available: ReadonlySet<TrainingBackend>;
}

/** `auto`: a CUDA GPU when there is one, else native or WASM by the work per step. */
export function chooseTrainingBackend({ inputSize, hiddenUnits, outputSize, batchSize, available }: ChoiceInput): BackendChoice {
  const weights = mlpWeights(inputSize, hiddenUnits, outputSize);
  const work = weights * batchSize;
  const size = `${weights.toLocaleString('en')} weights x batch ${batchSize} = ${work.toLocaleString('en')} multiply-adds per step`;
  if (available.has('tensorflow-gpu')) return { backend: 'tensorflow-gpu', reason: `a CUDA GPU is visible (${size})` };
  const threshold = NATIVE_CROSSOVER_WORK.toLocaleString('en');
  if (work >= NATIVE_CROSSOVER_WORK) {
    if (available.has('tensorflow')) return { backend: 'tensorflow', reason: `${size}, at or above the native crossover of ${threshold}` };
    return { backend: fallback(available), reason: `${size} would train faster on native TensorFlow, which is not installed here (npm run setup:native)` };
  }
  if (available.has('wasm')) return { backend: 'wasm', reason: `${size}, below the native crossover of ${threshold}` };
  return { backend: fallback(available), reason: `${size}; WASM is not available here` };
}

function fallback(available: ReadonlySet<TrainingBackend>): TrainingBackend {
  for (const b of ['wasm', 'tensorflow', 'cpu'] as const) if (available.has(b)) return b;
  return 'cpu';
}
