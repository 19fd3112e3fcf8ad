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
import { isSkipped, peer, printTable, reasonOf, saveResults, skipped, type Skipped } from './report';

const root = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROWS = 200_000;
const MODELS = [
  { name: 'small', hidden: [64, 32], batch: 64 },
  { name: 'wide', hidden: [1024, 512], batch: 512 },
];
const BACKENDS: TrainingBackend[] = ['cpu', 'wasm', 'tensorflow', 'tensorflow-gpu'];

/** the scikit-learn venv's python, made once per run; if it cannot be made, the reason (every sklearn figure is then skipped) */
let venv: string | Skipped | undefined;
function sklearnPython(): string {
  venv ??= (() => {
    try {
      return ensureVenv(path.join(root, '.tools/training-bench-venv'), path.join(import.meta.dirname, 'training-requirements.txt'));
    } catch (err) {
      return skipped(reasonOf(err));
    }
  })();
  if (isSkipped(venv)) throw new Error(venv.skipped);
  return venv;
}

/** scikit-learn's samples/s; throws when it cannot be installed or run (peer() makes that a skip) */
function sklearn(data: Sample, hidden: number[], batch: number): number {
  const python = sklearnPython();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-train-bench-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.f32'), data.x);
    fs.writeFileSync(path.join(dir, 'y.f32'), data.y);
    const r = spawnSync(python, [path.join(import.meta.dirname, 'sklearn_mlp.py'), path.join(dir, 'x.f32'), path.join(dir, 'y.f32'),
      String(data.rows), String(data.inputSize), hidden.join(','), String(batch), String(SECONDS)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sklearn_mlp.py failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!).samples_per_s;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type Figure = number | Skipped;
const fmt = (v: Figure | undefined) => (typeof v === 'number' ? Math.round(v).toLocaleString('en') : '-');

async function main() {
  console.error(`training throughput: ${ROWS.toLocaleString('en')}-row flights sample, about ${SECONDS} s a figure`);
  const data = await flightsSample(ROWS, 'classification');
  const available = await availableBackends();
  const unavailable: Partial<Record<TrainingBackend, string>> = {};
  for (const b of BACKENDS) {
    const why = await backendUnavailable(b);
    if (why) unavailable[b] = why;
  }

  const results: Record<string, { cpu?: Figure; wasm?: Figure; tensorflow?: Figure; 'tensorflow-gpu'?: Figure; auto: Figure; autoPicked: string; sklearn: Figure }> = {};
  for (const m of MODELS) {
    const row: Partial<Record<TrainingBackend, Figure>> = {};
    for (const b of BACKENDS) {
      if (!available.has(b)) { row[b] = skipped(unavailable[b] ?? 'not available'); continue; }
      await useBackend(b);
      row[b] = await samplesPerSecond(data, m.hidden, m.batch, SECONDS);
    }
    // auto costs nothing at training time: it is the backend it picks, so its figure is that backend's
    const choice = chooseTrainingBackend({ inputSize: data.inputSize, hiddenUnits: m.hidden, outputSize: data.outputSize, batchSize: m.batch, available });
    results[m.name] = { ...row, auto: row[choice.backend]!, autoPicked: choice.backend, sklearn: await peer('scikit-learn', () => sklearn(data, m.hidden, m.batch)) };
  }

  // the goals, checked on the figures above
  const num = (v: Figure | undefined) => (typeof v === 'number' ? v : undefined);
  const wide = results.wide;
  const small = results.small;
  const native = (r: typeof wide) => num(r['tensorflow-gpu']) ?? num(r.tensorflow);
  const best = (r: typeof wide) => Math.max(...BACKENDS.map((b) => num(r[b]) ?? 0));
  const goals: { met: boolean; text: string }[] = [];
  const check = (met: boolean, text: string) => goals.push({ met, text });
  if (native(wide) && num(wide.wasm)) check(native(wide)! >= 10 * num(wide.wasm)!, `native at least 10x WASM on the wide model: x${(native(wide)! / num(wide.wasm)!).toFixed(1)}`);
  for (const [name, r] of [['small', small], ['wide', wide]] as const) {
    const auto = num(r.auto) ?? 0;
    check(auto >= 0.9 * best(r), `auto within 10 % of the fastest backend on the ${name} model: ${(auto / best(r) * 100).toFixed(0)} % (picked ${r.autoPicked})`);
    const sk = num(r.sklearn);
    if (sk !== undefined) check(best(r) >= sk, `the best backend at least as fast as scikit-learn on the ${name} model: x${(best(r) / sk).toFixed(2)}`);
  }

  const sklearnNote = isSkipped(small.sklearn) ? `scikit-learn skipped: ${small.sklearn.skipped}` : 'scikit-learn: MLPClassifier, adam, float64, on the same matrix';
  const table = printTable(
    `Training throughput, samples/s: flights-3m, ${ROWS.toLocaleString('en')}-row sample, late or on time (${data.inputSize} inputs)`,
    ['model', 'cpu (plain JS)', 'wasm', 'tensorflow (native)', 'tensorflow-gpu', 'auto (picks)', 'scikit-learn'],
    MODELS.map((m) => {
      const r = results[m.name];
      return [`${m.hidden.join('-')}, batch ${m.batch}`, fmt(r.cpu), fmt(r.wasm), fmt(r.tensorflow), fmt(r['tensorflow-gpu']), `${fmt(r.auto)} (${r.autoPicked})`,
        isSkipped(r.sklearn) ? r.sklearn : fmt(r.sklearn)];
    }),
    [
      `One epoch over as many rows as take about ${SECONDS} s; ${sklearnNote}.`,
      ...Object.entries(unavailable).map(([b, why]) => `- ${b}: not measured, ${why}`),
      ...goals.map((g) => `${g.met ? 'met    ' : 'NOT MET'}  ${g.text}`),
    ],
  );
  saveResults('training-throughput', {
    rows: ROWS, inputs: data.inputSize, secondsPerFigure: SECONDS, models: MODELS,
    results, goals, tables: [table],
  });
}

main().catch((err) => { console.error(err); process.exit(1); });
