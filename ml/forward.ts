/**
 * The serving forward pass of a trained MLP in plain JavaScript: the dense layers' weights copied out
 * of TF.js once, then matrix-vector products per request. For a network this small, TF.js's per-call
 * overhead (tensors, kernels, tidy) is most of the time; this runs in microseconds. The servability
 * check holds it to the evaluation outputs that TF.js produced.
 */
import type { LayersModel } from '@tensorflow/tfjs';

interface DenseLayer { inputs: number; units: number; kernel: Float32Array; bias: Float32Array | null; activation: 'relu' | 'softmax' | 'linear' }
export type Forward = (x: Float32Array, rows: number) => Float32Array;

/** A forward function for a Dense/Dropout stack with relu, softmax or linear activations; null for anything else. */
export function compileForward(model: LayersModel): Forward | null {
  const layers: DenseLayer[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Dropout') continue; // identity at inference
    if (kind !== 'Dense') return null;
    const config = layer.getConfig() as { units: number; activation: string; useBias?: boolean };
    if (!['relu', 'softmax', 'linear'].includes(config.activation)) return null;
    const [k, b] = layer.getWeights();
    const [inputs, units] = k.shape as [number, number];
    layers.push({
      inputs, units, kernel: k.dataSync() as Float32Array, bias: b ? (b.dataSync() as Float32Array) : null,
      activation: config.activation as DenseLayer['activation'],
    });
  }
  if (!layers.length) return null;
  const widest = Math.max(...layers.map((l) => Math.max(l.inputs, l.units)));

  // scratch space reused across calls: the forward pass is synchronous, so calls never overlap
  const scratch = [new Float64Array(widest), new Float64Array(widest)];
  const last = layers[layers.length - 1].units;
  const first = layers[0].inputs;
  return (x, rows) => {
    const out = new Float32Array(rows * last);
    let [a, z] = scratch;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < first; i++) a[i] = x[r * first + i];
      for (const l of layers) {
        const { units, inputs, kernel, bias } = l;
        if (bias) for (let j = 0; j < units; j++) z[j] = bias[j]; else z.fill(0, 0, units);
        for (let i = 0; i < inputs; i++) {
          const ai = a[i];
          if (ai === 0) continue;
          const row = i * units;
          for (let j = 0; j < units; j++) z[j] += ai * kernel[row + j];
        }
        if (l.activation === 'relu') for (let j = 0; j < units; j++) { if (z[j] < 0) z[j] = 0; } else if (l.activation === 'softmax') {
          let max = -Infinity;
          for (let j = 0; j < units; j++) if (z[j] > max) max = z[j];
          let sum = 0;
          for (let j = 0; j < units; j++) { z[j] = Math.exp(z[j] - max); sum += z[j]; }
          for (let j = 0; j < units; j++) z[j] /= sum;
        }
        const t = a; a = z; z = t;
      }
      for (let j = 0; j < last; j++) out[r * last + j] = a[j];
    }
    return out;
  };
}
