/**
 * `npm run bench:training`: training throughput (samples/s) of each TensorFlow.js backend, and of
 * `auto` (the figure of the backend ml/backend-choice.ts picks for the model), beside scikit-learn's
 * MLPClassifier with the same layers and batch on the same rows.
 *
 * Data: a 200,000-row seeded sample of flights-3m, classifying whether a flight is late (> 15 min),
 * preprocessed as the train activity does (one-hot origin and destination, date parts, scaled
 * distance). scikit-learn gets exactly the matrix the backends train on. Two models: the default
 * width (64-32, batch 64) and a wide one (1024-512, batch 512). Each figure is one epoch over as
 * many rows as take about BENCH_SECONDS (default 3) after a warm-up, so slow backends are measured
 * on fewer rows rather than waited for. A GPU is measured where one is visible and set up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableBackends, backendUnavailable, useBackend, type TrainingBackend } from '../ml/backend';
import { chooseTrainingBackend } from '../ml/backend-choice';
import { flightsSample, samplesPerSecond, type Sample } from './backend-crossover';
import { ensureVenv } from './python-venv';

const root = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROWS = 200_000;
const MODELS = [
  { name: 'small', hidden: [64, 32], batch: 64 },
  { name: 'wide', hidden: [1024, 512], batch: 512 },
];
const BACKENDS: TrainingBackend[] = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu'];

function sklearn(data: Sample, hidden: number[], batch: number): number | string {
  let python: string;
  try {
    python = ensureVenv(path.join(root, '.tools/training-bench-venv'), path.join(import.meta.dirname, 'training-requirements.txt'));
  } catch (err) {
    return `not measured: ${(err as Error).message}`;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-train-bench-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.f32'), data.x);
    fs.writeFileSync(path.join(dir, 'y.f32'), data.y);
    const r = spawnSync(python, [path.join(import.meta.dirname, 'sklearn_mlp.py'), path.join(dir, 'x.f32'), path.join(dir, 'y.f32'),
      String(data.rows), String(data.inputSize), hidden.join(','), String(batch), String(SECONDS)], { encoding: 'utf8' });
    if (r.status !== 0) return `failed: ${r.stderr.slice(-500)}`;
    return JSON.parse(r.stdout.trim().split('\n').pop()!).samples_per_s;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (v: number | string | undefined) => (typeof v === 'number' ? Math.round(v).toLocaleString('en') : '-');

async function main() {
  console.log(`\nTraining throughput, samples/s: flights-3m, ${ROWS.toLocaleString('en')}-row sample, late or on time; `
    + `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}\n`);
  const data = await flightsSample(ROWS, 'classification');
  const available = await availableBackends();
  const notes: string[] = [];
  for (const b of BACKENDS) {
    const why = await backendUnavailable(b);
    if (why) notes.push(`${b}: not measured, ${why}`);
  }

  const results: Record<string, Record<string, number | string>> = {};
  for (const m of MODELS) {
    const row: Record<string, number | string> = {};
    for (const b of BACKENDS) {
      if (!available.has(b)) continue;
      await useBackend(b);
      row[b] = await samplesPerSecond(data, m.hidden, m.batch, SECONDS);
    }
    // auto costs nothing at training time: it is the backend it picks, so its figure is that backend's
    const choice = chooseTrainingBackend({ inputSize: data.inputSize, hiddenUnits: m.hidden, outputSize: data.outputSize, batchSize: m.batch, available });
    row.auto = row[choice.backend];
    row.autoPicked = choice.backend;
    row.sklearn = sklearn(data, m.hidden, m.batch);
    results[m.name] = row;
  }

  const cols = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu', 'auto', 'sklearn'];
  console.log(`${'model'.padEnd(22)}${cols.map((c) => c.padStart(15)).join('')}   auto picked`);
  for (const m of MODELS) {
    const r = results[m.name];
    console.log(`${`${m.name} ${m.hidden.join('-')}, batch ${m.batch}`.padEnd(22)}${cols.map((c) => fmt(r[c]).padStart(15)).join('')}   ${r.autoPicked}`);
  }
  console.log(`\n(${data.inputSize} inputs; one epoch over as many rows as take about ${SECONDS} s; scikit-learn ${typeof results.small.sklearn === 'string' ? results.small.sklearn : 'MLPClassifier, adam, float64'})`);

  // the issue's goals, checked on the figures above
  const wide = results.wide;
  const small = results.small;
  const native = (r: Record<string, number | string>) => (typeof r['tensorflow-gpu'] === 'number' ? r['tensorflow-gpu'] : r.tensorflow) as number | undefined;
  const best = (r: Record<string, number | string>) => Math.max(...BACKENDS.map((b) => (typeof r[b] === 'number' ? r[b] as number : 0)));
  const check = (ok: boolean, text: string) => console.log(`${ok ? 'met    ' : 'NOT MET'}  ${text}`);
  console.log('');
  if (native(wide)) check(native(wide)! >= 10 * (wide.wasm as number), `native at least 10x WASM on the wide model: x${(native(wide)! / (wide.wasm as number)).toFixed(1)}`);
  for (const [name, r] of [['small', small], ['wide', wide]] as const) {
    check((r.auto as number) >= 0.9 * best(r), `auto within 10 % of the fastest backend on the ${name} model: ${((r.auto as number) / best(r) * 100).toFixed(0)} % (picked ${r.autoPicked})`);
    if (typeof r.sklearn === 'number') check(best(r) >= r.sklearn, `the best backend at least as fast as scikit-learn on the ${name} model: x${(best(r) / r.sklearn).toFixed(2)}`);
  }
  for (const n of notes) console.log(n);
}

main().catch((err) => { console.error(err); process.exit(1); });
