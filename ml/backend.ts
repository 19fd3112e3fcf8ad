/**
 * The TensorFlow.js backends of this process: which can load, switching between them, and the
 * device each runs on.
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu, native TensorFlow on a CUDA GPU   (npm run setup:native -- --gpu)
 *   tensorflow      @tensorflow/tfjs-node, native TensorFlow on the CPU          (npm run setup:native)
 *   wasm            @tensorflow/tfjs-backend-wasm, always installed
 *   cpu             plain JavaScript, always there, slowest
 * The native packages are optional dependencies whose own install downloads libtensorflow and
 * fails here; `npm run setup:native` builds them from PyPI's TensorFlow instead.
 *
 * A training job picks its backend from the model's size (ml/backend-choice.ts); inference
 * (evaluation, the servability check, serving) runs on whichever backend is already active, since a
 * model answers the same on any of them, and on WASM when none is yet.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import type { TrainingBackend } from './backend-choice';

export type { TrainingBackend } from './backend-choice';
export type BackendPreference = 'auto' | TrainingBackend;
export interface BackendInfo {
  name: TrainingBackend;
  /** what it computes on, for people: "cuda: NVIDIA H100 80GB HBM3", "cpu: AMD EPYC 9B14 (2 cores)" */
  device: string;
}

export const ALL_BACKENDS: readonly TrainingBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const require = createRequire(import.meta.url);
const SETUP_HINT = { tensorflow: 'npm run setup:native', 'tensorflow-gpu': 'npm run setup:native -- --gpu' };

/** an NVIDIA device node, not hidden by CUDA_VISIBLE_DEVICES */
export function cudaVisible(): boolean {
  const hidden = process.env.CUDA_VISIBLE_DEVICES;
  if (hidden !== undefined && (hidden.trim() === '' || hidden.trim() === '-1')) return false;
  try {
    return fs.readdirSync('/dev').some((d) => /^nvidia\d+$/.test(d));
  } catch {
    return false;
  }
}

let gpuName: string | undefined;
function describeGpu(): string {
  if (gpuName === undefined) {
    try {
      gpuName = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] })
        .trim().split('\n').join(', ');
    } catch {
      gpuName = '';
    }
  }
  return gpuName ? `cuda: ${gpuName}` : 'cuda';
}

function describeCpu(): string {
  const cpus = os.cpus();
  return `cpu: ${cpus[0]?.model.trim() ?? 'unknown'} (${cpus.length} cores)`;
}

function deviceOf(name: TrainingBackend): string {
  return name === 'tensorflow-gpu' ? describeGpu() : describeCpu();
}

/** the tfjs name each of ours registers under: both native packages are `tensorflow` */
const tfName = (name: TrainingBackend) => (name === 'tensorflow-gpu' ? 'tensorflow' : name);

const registered = new Map<TrainingBackend, Promise<string | null>>();

/** Loads a backend's package (once) without leaving it active: null when it can be used, else why not. */
export function backendUnavailable(name: TrainingBackend): Promise<string | null> {
  if (!registered.has(name)) registered.set(name, register(name));
  return registered.get(name)!;
}

async function register(name: TrainingBackend): Promise<string | null> {
  if (name === 'cpu') return null;
  if (name === 'wasm') {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
      return null;
    } catch (err) {
      return `@tensorflow/tfjs-backend-wasm does not load: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  if (name === 'tensorflow-gpu' && !cudaVisible()) return 'no CUDA device is visible (/dev/nvidia0)';
  // The two native packages register the same tfjs backend name: a process can hold one of them.
  const other = name === 'tensorflow' ? 'tensorflow-gpu' : 'tensorflow';
  if (registered.has(other) && (await registered.get(other)) === null) return `this process already loaded native TensorFlow as ${other}`;
  const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  // TensorFlow's INFO lines (oneDNN, CPU features) on stderr at load: warnings and errors still show
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  const before = tf.getBackend(); // the package makes itself the active backend on import: put back what was
  try {
    await import(pkg);
  } catch (err) {
    const message = (err as Error).message;
    return /Cannot find (module|package)/.test(message)
      ? `${pkg} is not installed (run ${SETUP_HINT[name]})`
      : `${pkg} does not load (run ${SETUP_HINT[name]}): ${message.split('\n')[0]}`;
  }
  if (before && before !== tf.getBackend()) await tf.setBackend(before);
  return null;
}

/** every backend this process can use, fastest kind first */
export async function availableBackends(): Promise<Set<TrainingBackend>> {
  const out = new Set<TrainingBackend>();
  for (const name of ALL_BACKENDS) if ((await backendUnavailable(name)) === null) out.add(name);
  return out;
}

let active: BackendInfo | null = null;

/** Makes `name` the active backend; throws, saying why, when it cannot load here. */
export async function useBackend(name: TrainingBackend): Promise<BackendInfo> {
  const why = await backendUnavailable(name);
  if (why) throw new Error(`TensorFlow.js backend "${name}" is not available in this process: ${why}`);
  if (active?.name !== name || tf.getBackend() !== tfName(name)) {
    if (!(await tf.setBackend(tfName(name)))) throw new Error(`TensorFlow.js backend "${name}" failed to initialise`);
    await tf.ready();
    active = { name, device: deviceOf(name) };
  }
  return active!;
}

/**
 * For inference and a process's start: a named backend is made active; `auto` keeps the one
 * already active (a model answers the same on any), else WASM, else plain JavaScript.
 */
export async function loadBackend(pref: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (pref !== 'auto') return useBackend(pref);
  if (active && tf.getBackend() === tfName(active.name)) return active;
  return useBackend((await backendUnavailable('wasm')) === null ? 'wasm' : 'cpu');
}

/**
 * Runs a training job on `name`. tfjs has one active backend per process, so jobs on the same
 * backend run side by side and a job on another waits until they are done; nothing switches the
 * backend under a job's feet.
 */
let lease: { name: TrainingBackend; holders: number } | null = null;
const waiting: (() => void)[] = [];
export async function withTrainingBackend<T>(name: TrainingBackend, job: (info: BackendInfo) => Promise<T>): Promise<T> {
  while (lease && lease.name !== name) await new Promise<void>((resolve) => waiting.push(resolve));
  lease ??= { name, holders: 0 };
  lease.holders++;
  try {
    return await job(await useBackend(name));
  } finally {
    if (--lease.holders === 0) {
      lease = null;
      waiting.splice(0).forEach((wake) => wake());
    }
  }
}

/**
 * What the training worker says at start: under `auto` every backend it could use, with the device of
 * each; a forced backend alone (the others are not even loaded: libtensorflow maps 800 MB).
 */
export async function describeBackends(pref: BackendPreference = 'auto'): Promise<string> {
  const parts: string[] = [];
  for (const name of pref === 'auto' ? ALL_BACKENDS : [pref]) {
    const why = await backendUnavailable(name);
    if (!why) parts.push(`${name} (${deviceOf(name)})`);
    else if (name !== 'tensorflow-gpu' || cudaVisible()) parts.push(`${name}: unavailable, ${why}`);
  }
  return parts.join('; ');
}
