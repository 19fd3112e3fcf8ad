/** A multi-layer perceptron in TensorFlow.js: build, train, predict, save and load. */
import * as tf from '@tensorflow/tfjs';

export interface MlpSpec {
  inputSize: number;
  hiddenUnits: number[];
  /** number of classes, or 1 for regression */
  outputSize: number;
  task: 'classification' | 'regression';
  learningRate: number;
  seed: number;
  dropout?: number;
  l2?: number;
}

export function buildMlp(spec: MlpSpec): tf.LayersModel {
  const model = tf.sequential();
  spec.hiddenUnits.forEach((units, i) => {
    model.add(tf.layers.dense({
      units, activation: 'relu', inputShape: i === 0 ? [spec.inputSize] : undefined,
      kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed + i }),
      kernelRegularizer: spec.l2 ? tf.regularizers.l2({ l2: spec.l2 }) : undefined,
    }));
    if (spec.dropout) model.add(tf.layers.dropout({ rate: spec.dropout, seed: spec.seed + 100 + i }));
  });
  model.add(tf.layers.dense({
    units: spec.outputSize,
    activation: spec.task === 'classification' ? 'softmax' : 'linear',
    inputShape: spec.hiddenUnits.length === 0 ? [spec.inputSize] : undefined,
    kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed + 1000 }),
  }));
  compileMlp(model, spec);
  return model;
}

/** A loaded checkpoint needs its optimizer and loss again before it trains on. */
export function compileMlp(model: tf.LayersModel, spec: Pick<MlpSpec, 'task' | 'learningRate'>) {
  model.compile({
    optimizer: tf.train.adam(spec.learningRate),
    loss: spec.task === 'classification' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError',
  });
}

export interface FitOptions {
  epochs: number;
  /** epochs already done (a resumed run): training goes on from here to `epochs` */
  initialEpoch?: number;
  batchSize: number;
  validationSplit: number;
  onEpochEnd?: (epoch: number, logs: { loss: number; valLoss: number | null }) => Promise<void> | void;
  shouldStop?: () => boolean;
  /** early stopping: stop when validation loss has not improved for this many epochs */
  patience?: number | null;
  /** per class index, for imbalanced classes */
  classWeight?: Record<number, number>;
}

export async function fitMlp(model: tf.LayersModel, x: Float32Array, y: Float32Array, rows: number, inputSize: number,
  task: 'classification' | 'regression', opts: FitOptions) {
  const xs = tf.tensor2d(x, [rows, inputSize]);
  const ys = task === 'classification' ? tf.tensor1d(y, 'float32') : tf.tensor2d(y, [rows, 1]);
  let last = { loss: NaN, valLoss: null as number | null, epochs: opts.initialEpoch ?? 0, stoppedEarly: false };
  let best = Infinity;
  let sinceBest = 0;
  try {
    await model.fit(xs, ys, {
      epochs: opts.epochs,
      initialEpoch: opts.initialEpoch ?? 0,
      batchSize: opts.batchSize,
      validationSplit: opts.validationSplit,
      shuffle: false, // rows were shuffled with the seed: tf's shuffle is not seedable
      verbose: 0,
      classWeight: opts.classWeight,
      callbacks: {
        onEpochEnd: async (epoch, logs) => {
          last = { ...last, loss: Number(logs?.loss), valLoss: logs?.val_loss === undefined ? null : Number(logs.val_loss), epochs: epoch + 1 };
          await opts.onEpochEnd?.(epoch + 1, last);
          if (opts.shouldStop?.()) model.stopTraining = true;
          if (opts.patience && last.valLoss !== null) {
            if (last.valLoss < best - 1e-6) { best = last.valLoss; sinceBest = 0; } else if (++sinceBest >= opts.patience) {
              last.stoppedEarly = true;
              model.stopTraining = true;
            }
          }
        },
      },
    });
  } finally {
    xs.dispose();
    ys.dispose();
  }
  return last;
}

/** Class probabilities (rows x classes) or values (rows), as a flat array. */
export function predictMlp(model: tf.LayersModel, x: Float32Array, rows: number, inputSize: number): Float32Array {
  return tf.tidy(() => {
    const out = model.predict(tf.tensor2d(x, [rows, inputSize])) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

export interface SavedMlp { modelJson: string; weights: Uint8Array }

export async function saveMlp(model: tf.LayersModel): Promise<SavedMlp> {
  let saved: SavedMlp | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const data = artifacts.weightData;
    const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : (data as ArrayBuffer);
    saved = {
      modelJson: JSON.stringify({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, format: 'layers-model' }),
      weights: new Uint8Array(buffer),
    };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

export async function loadMlp(saved: SavedMlp): Promise<tf.LayersModel> {
  const { modelTopology, weightSpecs } = JSON.parse(saved.modelJson);
  const weightData = saved.weights.buffer.slice(saved.weights.byteOffset, saved.weights.byteOffset + saved.weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }));
}
