/**
 * Picks the fastest TensorFlow.js backend present: tfjs-node-gpu (CUDA) -> tfjs-node -> WASM -> plain JS.
 * The two native packages are optional dependencies: their install downloads libtensorflow and may fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export interface BackendInfo { name: string; device: string }

const require = createRequire(import.meta.url);
let chosen: Promise<BackendInfo> | undefined;

const cudaVisible = () => fs.existsSync('/dev/nvidia0') || !!process.env.CUDA_VISIBLE_DEVICES;

async function tryNative(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

async function choose(pref: BackendPreference): Promise<BackendInfo> {
  const attempts: Record<Exclude<BackendPreference, 'auto'>, () => Promise<BackendInfo | null>> = {
    'tensorflow-gpu': async () => (cudaVisible() && (await tryNative('@tensorflow/tfjs-node-gpu')) && (await tf.setBackend('tensorflow'))
      ? { name: 'tensorflow-gpu', device: 'cuda' } : null),
    tensorflow: async () => ((await tryNative('@tensorflow/tfjs-node')) && (await tf.setBackend('tensorflow'))
      ? { name: 'tensorflow', device: 'cpu' } : null),
    wasm: async () => ((await tryWasm()) ? { name: 'wasm', device: 'cpu' } : null),
    cpu: async () => ((await tf.setBackend('cpu')) ? { name: 'cpu', device: 'cpu' } : null),
  };
  const order: Exclude<BackendPreference, 'auto'>[] = pref === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [pref];
  for (const name of order) {
    const info = await attempts[name]();
    if (info) {
      await tf.ready();
      return info;
    }
  }
  throw new Error(`TensorFlow.js backend "${pref}" is not available in this process`);
}

/** Selects the backend once per process; later calls get the same answer. */
export function loadBackend(pref: BackendPreference = 'auto'): Promise<BackendInfo> {
  chosen ??= choose(pref);
  return chosen;
}
