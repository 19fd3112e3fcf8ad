/**
 * The plain-script peer the pipeline benches compare against: the same ingest (DuckDB), preprocessing,
 * training and evaluation as a Perennial pipeline, in one plain function with no Temporal, database
 * or HTTP. bench/run.ts runs it with the default training (30 epochs, [64, 32]); bench/orchestration.ts
 * with the small one its pipelines use.
 */
import path from 'node:path';
import { withDuckDb, readModelColumns, sourceSql, describeColumns } from '../activities/duckdb';
import { derivedInputs } from '../ml/bundle';
import { loadBackend } from '../ml/backend';
import { classificationMetrics } from '../ml/metrics';
import { buildMlp, fitMlp, predictMlp } from '../ml/mlp';
import { encodeTarget, fitPreprocessor, transformFeatures, type Columns } from '../ml/preprocess';
import { holdoutSplit, shuffledIndices } from '../common/random';

export const WEATHER = path.join(path.resolve(import.meta.dirname, '..'), 'node_modules/vega-datasets/data/seattle-weather.csv');

/** the training a pipeline gets when its request names none */
export const DEFAULT_TRAINING = { epochs: 30, hiddenUnits: [64, 32] };

/** The peer: the same work as ingest + train + evaluate of the weather pipeline, in one plain script. */
export async function plainScript(training: { epochs: number; hiddenUnits: number[] } = DEFAULT_TRAINING) {
  const t0 = Date.now();
  await loadBackend('wasm');
  const { columns, rows, features } = await withDuckDb(async (conn) => {
    const source = sourceSql(WEATHER, 'csv');
    const cols = (await describeColumns(conn, source)).filter((c) => c.name !== 'weather');
    const read = await readModelColumns(conn, source, cols, { name: 'weather', numeric: false });
    return { ...read, features: cols };
  });
  const params = { batchSize: 64, learningRate: 0.01, validationSplit: 0.2, holdoutFraction: 0.2, seed: 42, ...training };
  const { train, holdout } = holdoutSplit(rows, params.holdoutFraction, params.seed);
  const order = shuffledIndices(train.length, params.seed + 1).map((i) => train[i]);
  const cols = columns as Columns;
  const pre = fitPreprocessor(cols, derivedInputs(features), cols.__target, 'classification', order);
  const model = buildMlp({ inputSize: pre.inputSize, hiddenUnits: params.hiddenUnits, outputSize: pre.target.labels!.length, task: 'classification', learningRate: params.learningRate, seed: params.seed });
  await fitMlp(model, transformFeatures(pre, cols, order), encodeTarget(pre.target, cols.__target, order), order.length, pre.inputSize, 'classification', params);
  const out = predictMlp(model, transformFeatures(pre, cols, holdout), holdout.length, pre.inputSize);
  const { metrics } = classificationMetrics(encodeTarget(pre.target, cols.__target, holdout), out, pre.target.labels!.length, pre.target.labels!);
  model.dispose(); // run in a loop, the peer keeps no weights behind
  return { totalMs: Date.now() - t0, accuracy: metrics.accuracy };
}
