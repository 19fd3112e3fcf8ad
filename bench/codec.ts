/**
 * `npm run bench:codec`: what payload encryption (PERENNIAL_CODEC_KEY) costs a pipeline. Two
 * platforms in this process, each on its own Temporal dev server and PGlite: one without a key, one
 * with. The weather pipeline (default training: 30 epochs, [64, 32]; approval not required, no
 * canary) runs BENCH_RUNS times on each (default 5), alternating, after one unmeasured run each;
 * wall clock from POST to `completed`, polled over HTTP. Also the codec alone on a typical payload.
 * Both sides are configured here alone (PGlite, WASM backend), not from the environment.
 * Never part of `npm test`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '../config';
import { payloadCodecOf } from '../platform/codec';
import { startPlatform, type Platform } from '../platform/platform';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { startTemporalDevServer, type DevServer } from '../scripts/temporal-dev-server';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { printTable, saveResults } from './report';

const root = path.resolve(import.meta.dirname, '..');
const WEATHER = path.join(root, 'node_modules/vega-datasets/data/seattle-weather.csv');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const sec = (ms: number) => (ms / 1000).toFixed(2);

interface Side { name: string; server: DevServer; platform: Platform; dataDir: string; token: string }

async function startSide(name: string, env: Record<string, string>, cli: string, bundle: string): Promise<Side> {
  const server = await startTemporalDevServer({ cli, headless: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `perennial-bench-codec-${name}-`));
  const token = `bench-${crypto.randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: token,
    PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'error', ...env,
  });
  const platform = await startPlatform(config, { temporalAddress: server.address, workflowBundlePath: bundle, log: () => {} });
  const side = { name, server, platform, dataDir, token };
  await api(side, 'PUT', '/v1/models/weather/policy', { approval: { required: false } });
  return side;
}

async function api(side: Side, method: string, route: string, body?: unknown) {
  const res = await fetch(side.platform.apiUrl + route, {
    method, headers: { authorization: `Bearer ${side.token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const answer = { status: res.status, body: await res.json() as any };
  if (res.status >= 400) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(answer.body)}`);
  return answer;
}

let lastPipelineId = '';

async function pipelineMs(side: Side): Promise<number> {
  const t0 = performance.now();
  const started = await api(side, 'POST', '/v1/pipelines', {
    model: 'weather', dataset: { uri: WEATHER }, target: 'weather', approval: { required: false }, canary: null,
  });
  lastPipelineId = started.body.id;
  for (;;) {
    const { body } = await api(side, 'GET', `/v1/pipelines/${started.body.id}`);
    if (body.status === 'completed') return performance.now() - t0;
    if (body.status !== 'running') throw new Error(`${side.name}: pipeline ended ${body.status}: ${JSON.stringify(body.error ?? body.reason)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** payloads in a pipeline's history as Temporal stores it, and how many of them are ciphertext */
async function historyPayloads(side: Side, workflowId: string) {
  const history = await side.platform.client.workflow.getHandle(workflowId).fetchHistory();
  const seen = { all: 0, encrypted: 0 };
  // in the proto JSON form: bytes as base64
  JSON.parse(JSON.stringify(history), (_k, v) => {
    if (typeof v?.metadata?.encoding === 'string') {
      seen.all++;
      if (Buffer.from(v.metadata.encoding, 'base64').toString() === 'binary/encrypted') seen.encrypted++;
    }
    return v;
  });
  return seen;
}

/** the codec alone: encode + decode of a pipeline's input-sized payload, in microseconds */
async function codecMicros(): Promise<{ bytes: number; us: number }> {
  const codec = payloadCodecOf(loadConfig({ PERENNIAL_CODEC_KEY: crypto.randomBytes(32).toString('base64') }))!;
  const payload = defaultPayloadConverter.toPayload({
    spec: { model: 'weather', dataset: { uri: WEATHER }, target: 'weather', features: ['date', 'precipitation', 'temp_max', 'temp_min', 'wind'] },
    metrics: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`metric_${i}`, Math.random()])),
  });
  const n = 20_000;
  for (let i = 0; i < 1000; i++) await codec.decode(await codec.encode([payload]));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await codec.decode(await codec.encode([payload]));
  return { bytes: payload.data!.length, us: ((performance.now() - t0) * 1000) / n };
}

async function main() {
  const cli = resolveTemporalCli();
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-codec-bundle-'));
  const bundle = await cachedWorkflowBundle(bundleDir);
  console.error(`codec bench: weather pipeline, ${RUNS} runs per side, alternating`);
  const off = await startSide('off', {}, cli, bundle);
  const on = await startSide('on', { PERENNIAL_CODEC_KEY: crypto.randomBytes(32).toString('base64'), PERENNIAL_CODEC_KEY_ID: 'bench' }, cli, bundle);
  const times: Record<'off' | 'on', number[]> = { off: [], on: [] };
  let payloads = { all: 0, encrypted: 0 };
  try {
    await pipelineMs(off);
    await pipelineMs(on);
    for (let i = 0; i < RUNS; i++) {
      // alternating, with the first side swapped each round, so drift on a shared machine falls on both
      for (const side of i % 2 ? [on, off] : [off, on]) times[side.name as 'off' | 'on'].push(await pipelineMs(side));
    }
    await pipelineMs(on);
    payloads = await historyPayloads(on, lastPipelineId);
  } finally {
    for (const side of [off, on]) {
      await side.platform.stop();
      await side.server.stop();
      fs.rmSync(side.dataDir, { recursive: true, force: true });
    }
    fs.rmSync(bundleDir, { recursive: true, force: true });
  }
  const [mOff, mOn] = [median(times.off), median(times.on)];
  const micro = await codecMicros();
  const table = printTable(`Encrypted workflow history: weather pipeline POST -> completed, ${RUNS} run${RUNS === 1 ? '' : 's'} per side, alternating`,
    ['codec', 'median s', { name: 'runs s', align: 'left' }],
    [['off', sec(mOff), times.off.map(sec).join(' ')], ['on', sec(mOn), times.on.map(sec).join(' ')]],
    [
      `overhead ${(((mOn - mOff) / mOff) * 100).toFixed(1)} % (${sec(mOn - mOff)} s per pipeline)`,
      `codec alone: encode + decode of a ${micro.bytes}-byte payload ${micro.us.toFixed(1)} µs; a pipeline's history holds ${payloads.all} payloads `
        + `(${payloads.encrypted} encrypted): about ${((payloads.all * micro.us) / 1000).toFixed(1)} ms of codec work each way`,
    ]);
  saveResults('codec', {
    runs: RUNS,
    results: { offMs: times.off, onMs: times.on, medianOffMs: mOff, medianOnMs: mOn, overhead: (mOn - mOff) / mOff, codecAlone: micro, historyPayloads: payloads },
    tables: [table],
  });
  process.exit(0);
}

main().catch((err) => { console.error(err); process.exit(1); });
