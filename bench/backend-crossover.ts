/**
 * `npm run bench:crossover`: where native TensorFlow starts to beat WASM on this machine.
 * Trains MLPs of growing width at several batch sizes on a sample of flights-3m, on WASM and on
 * native TensorFlow, and prints samples/s beside the work per training step (batch x weights),
 * the figure ml/backend-choice.ts's rule is written in. Run it to re-derive the rule elsewhere.
 */
import path from 'node:path';
import { describeColumns, readModelColumns, withDuckDb } from '../activities/duckdb';
import { derivedInputs } from '../ml/bundle';
import { backendUnavailable, loadBackend } from '../ml/backend';
import { mlpWeights } from '../ml/backend-choice';
import { buildMlp, fitMlp } from '../ml/mlp';
import { encodeTarget, fitPreprocessor, transformFeatures, type Columns } from '../ml/preprocess';
import { printTable, saveResults, skipped } from './report';

const root = path.resolve(import.meta.dirname, '..');
const FLIGHTS = path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
/** BENCH_SHAPES=16-8,64-32 and BENCH_BATCHES=32,64 measure fewer (a quick try) */
const SHAPES = process.env.BENCH_SHAPES?.split(',').map((s) => s.split('-').map(Number))
  ?? [[16, 8], [32, 16], [64, 32], [128, 64], [256, 128], [512, 256], [1024, 512]];
const BATCHES = process.env.BENCH_BATCHES?.split(',').map(Number) ?? [32, 64, 256, 512];
/** seconds each measurement aims at */
const TARGET_S = Number(process.env.BENCH_SECONDS ?? 1.5);

/**
 * A seeded sample of flights-3m, preprocessed as the train activity does. `regression` predicts the
 * delay in minutes; `classification` whether the flight is late (more than 15 minutes).
 */
export async function flightsSample(rows: number, task: 'regression' | 'classification' = 'regression') {
  const target = task === 'regression' ? 'delay' : 'late';
  const { columns, rows: n, features } = await withDuckDb(async (conn) => {
    await conn.run(`CREATE TEMP TABLE t AS SELECT date, distance, origin, destination, ${task === 'regression' ? 'delay' : "CASE WHEN delay > 15 THEN 'late' ELSE 'on time' END AS late"}
      FROM read_parquet('${FLIGHTS}') USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (42)`);
    const cols = (await describeColumns(conn, 't')).filter((c) => c.name !== target);
    return { ...(await readModelColumns(conn, 't', cols, { name: target, numeric: task === 'regression' })), features: cols };
  });
  const cols = columns as Columns;
  const order = Array.from({ length: n }, (_, i) => i);
  const pre = fitPreprocessor(cols, derivedInputs(features), cols.__target, task, order);
  return {
    task, x: transformFeatures(pre, cols, order), y: encodeTarget(pre.target, cols.__target, order), rows: n, inputSize: pre.inputSize,
    outputSize: task === 'classification' ? pre.target.labels!.length : 1,
  };
}
export type Sample = Awaited<ReturnType<typeof flightsSample>>;

/** samples/s of `hidden` at `batch` on the active backend: one epoch over as many rows as take about `seconds` */
export async function samplesPerSecond(data: Sample, hidden: number[], batch: number, seconds = TARGET_S) {
  const fit = async (rows: number) => {
    const model = buildMlp({ inputSize: data.inputSize, hiddenUnits: hidden, outputSize: data.outputSize, task: data.task, learningRate: 0.001, seed: 42 });
    const t0 = performance.now();
    await fitMlp(model, data.x.subarray(0, rows * data.inputSize), data.y.subarray(0, rows), rows, data.inputSize, data.task,
      { epochs: 1, batchSize: batch, validationSplit: 0 });
    const s = (performance.now() - t0) / 1000;
    model.dispose();
    return s;
  };
  const probe = Math.min(data.rows, batch * 4);
  await fit(probe); // kernels compiled, memory allocated
  const perRow = (await fit(probe)) / probe;
  const rows = Math.max(batch * 4, Math.min(data.rows, Math.round(seconds / perRow / batch) * batch));
  return rows / (await fit(rows));
}

async function main() {
  const title = 'Backend crossover: WASM vs native TensorFlow, MLP regression on a 100k-row flights-3m sample, samples/s';
  const columns = ['hidden', 'batch', 'weights', 'batch x weights', 'wasm', 'native', 'faster'];
  const why = await backendUnavailable('tensorflow');
  if (why) {
    // the comparison needs both sides: without native TensorFlow there is nothing to cross over to
    const reason = `native TensorFlow is unavailable (${why}); run npm run setup:native`;
    const table = printTable(title, columns, [['all shapes', skipped(reason)]]);
    saveResults('backend-crossover', { results: { native: skipped(reason) }, tables: [table] });
    return;
  }
  const data = await flightsSample(100_000);
  console.error(`backend crossover: ${SHAPES.length} shapes x ${BATCHES.length} batches, about ${TARGET_S} s a figure`);
  const results: { hidden: number[]; batch: number; weights: number; batchTimesWeights: number; wasm: number; native: number }[] = [];
  for (const hidden of SHAPES) {
    for (const batch of BATCHES) {
      const weights = mlpWeights(data.inputSize, hidden, data.outputSize);
      await loadBackend('wasm');
      const wasm = await samplesPerSecond(data, hidden, batch);
      await loadBackend('tensorflow');
      const native = await samplesPerSecond(data, hidden, batch);
      results.push({ hidden, batch, weights, batchTimesWeights: batch * weights, wasm, native });
    }
  }
  const table = printTable(`${title} (${data.inputSize} inputs)`, columns, results.map((r) => [
    r.hidden.join('-'), r.batch, r.weights.toLocaleString('en'), r.batchTimesWeights.toLocaleString('en'),
    Math.round(r.wasm).toLocaleString('en'), Math.round(r.native).toLocaleString('en'),
    r.native > r.wasm ? `native x${(r.native / r.wasm).toFixed(1)}` : `wasm x${(r.wasm / r.native).toFixed(1)}`,
  ]), [`One epoch over as many rows as take about ${TARGET_S} s a figure.`]);
  saveResults('backend-crossover', { rows: data.rows, inputs: data.inputSize, secondsPerFigure: TARGET_S, results, tables: [table] });
}

if (import.meta.url === `file://${process.argv[1]}`) main().catch((err) => { console.error(err); process.exit(1); });
