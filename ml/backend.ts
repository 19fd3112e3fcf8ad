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
const chosen = new Map<BackendPreference, Promise<BackendInfo>>();

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

/** Selects the backend for a preference (once per process and preference) and makes it the active one. */
export async function loadBackend(pref: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (!chosen.has(pref)) chosen.set(pref, choose(pref));
  const info = await chosen.get(pref)!;
  const name = info.name === 'tensorflow-gpu' ? 'tensorflow' : info.name;
  if (tf.getBackend() !== name) await tf.setBackend(name);
  return info;
}

/** Why a backend cannot be used here, or null when it can. */
export async function backendUnavailable(pref: Exclude<BackendPreference, 'auto'>): Promise<string | null> {
  if (pref === 'tensorflow-gpu') {
    if (!cudaVisible()) return 'no CUDA device is visible (/dev/nvidia0)';
    if (!(await tryNative('@tensorflow/tfjs-node-gpu'))) return '@tensorflow/tfjs-node-gpu is not installed (its install downloads libtensorflow for CUDA)';
  }
  if (pref === 'tensorflow' && !(await tryNative('@tensorflow/tfjs-node'))) {
    return '@tensorflow/tfjs-node is not installed (its install downloads libtensorflow, which needs that host to be reachable)';
  }
  return null;
}
