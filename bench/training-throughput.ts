/**
 * Training throughput (samples/s) of the MLP on each TF.js backend installable here, on
 * seattle-weather (classification) and a 200,000-row sample of flights-3m (regression of delay).
 * The same code path as the train activity: DuckDB read, preprocessing fitted on the split, fit.
 */
import path from 'node:path';
import { describeColumns, readModelColumns, withDuckDb } from '../activities/duckdb';
import { derivedInputs } from '../ml/bundle';
import { backendUnavailable, loadBackend, type BackendPreference } from '../ml/backend';
import { buildMlp, fitMlp } from '../ml/mlp';
import { encodeTarget, fitPreprocessor, transformFeatures, type Columns } from '../ml/preprocess';

const root = path.resolve(import.meta.dirname, '..');
const datasets = [
  { name: 'seattle-weather (1,168 training rows)', target: 'weather', task: 'classification' as const, epochs: 30,
    source: `read_csv('${path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv')}')` },
  { name: 'flights-3m, 200k-row sample (160,000 training rows)', target: 'delay', task: 'regression' as const, epochs: 2,
    source: `(SELECT * FROM read_parquet('${path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet')}') USING SAMPLE reservoir(200000 ROWS) REPEATABLE (42))` },
];

async function main() {
  const backends: BackendPreference[] = ['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'];
  console.log('\nTraining throughput, MLP [64, 32], batch 64\n');
  for (const d of datasets) {
    const { columns, rows, features } = await withDuckDb(async (conn) => {
      await conn.run(`CREATE TEMP TABLE t AS SELECT * FROM ${d.source}`);
      const cols = (await describeColumns(conn, 't')).filter((c) => c.name !== d.target);
      return { ...(await readModelColumns(conn, 't', cols, { name: d.target, numeric: d.task === 'regression' })), features: cols };
    });
    const cols = columns as Columns;
    const train = Array.from({ length: Math.round(rows * 0.8) }, (_, i) => i);
    const pre = fitPreprocessor(cols, derivedInputs(features), cols.__target, d.task, train);
    const x = transformFeatures(pre, cols, train);
    const y = encodeTarget(pre.target, cols.__target, train);
    for (const b of backends) {
      if (b !== 'wasm' && b !== 'cpu') {
        const why = await backendUnavailable(b as 'tensorflow' | 'tensorflow-gpu');
        if (why) { console.log(`${d.name.padEnd(52)} ${b.padEnd(15)} not measured: ${why}`); continue; }
      }
      await loadBackend(b);
      const model = buildMlp({ inputSize: pre.inputSize, hiddenUnits: [64, 32], outputSize: d.task === 'classification' ? pre.target.labels!.length : 1, task: d.task, learningRate: 0.01, seed: 42 });
      const t0 = performance.now();
      await fitMlp(model, x, y, train.length, pre.inputSize, d.task, { epochs: d.epochs, batchSize: 64, validationSplit: 0 });
      const seconds = (performance.now() - t0) / 1000;
      model.dispose();
      console.log(`${d.name.padEnd(52)} ${b.padEnd(15)} ${Math.round((train.length * d.epochs) / seconds).toLocaleString('en').padStart(9)} samples/s  (${d.epochs} epochs in ${seconds.toFixed(1)} s, ${pre.inputSize} inputs)`);
    }
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
