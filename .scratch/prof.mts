import { loadBackend } from '../ml/backend';
import { buildMlp } from '../ml/mlp';
import { predictInstances } from '../ml/serving';
await loadBackend('wasm');
const model = buildMlp({ inputSize: 4, hiddenUnits: [64, 32], outputSize: 5, task: 'classification', learningRate: 0.01, seed: 1 });
const features = ['precipitation','temp_max','temp_min','wind'].map((name) => ({ name, kind: 'numeric' as const }));
const preprocessor: any = { inputSize: 4, steps: features.map((f) => ({ name: f.name, kind: 'numeric', median: 0, mean: 0, std: 1 })), target: { labels: ['a','b','c','d','e'] } };
const b = { meta: { task: 'classification' as const, features, preprocessor }, model };
const day = { precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
for (const n of [1, 100]) {
  const inst = Array.from({ length: n }, () => day);
  for (let i = 0; i < 200; i++) predictInstances(b, inst);
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) predictInstances(b, inst);
  console.log(n, ((performance.now() - t0) / 2000).toFixed(3), 'ms per call');
}
import { servable } from '../ml/serving';
const fast = servable(b);
for (const n of [1, 100]) {
  const inst = Array.from({ length: n }, (_, i) => ({ ...day, temp_max: i }));
  const a = predictInstances(b, inst) as any, c = predictInstances(fast, inst) as any;
  let worst = 0; for (let i = 0; i < a.outputs.length; i++) worst = Math.max(worst, Math.abs(a.outputs[i] - c.outputs[i]));
  for (let i = 0; i < 2000; i++) predictInstances(fast, inst);
  const t0 = performance.now();
  for (let i = 0; i < 20000; i++) predictInstances(fast, inst);
  console.log('forward', n, ((performance.now() - t0) / 20000).toFixed(4), 'ms per call; max diff vs tfjs', worst);
}
