/**
 * Chaos 3: the Temporal server (persisted to its SQLite file) is stopped mid-pipeline, while the
 * model trains, and started again on the same file and port: the pipeline completes, with one
 * version. Workers and the API ride out the outage by themselves.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { freePort, startTemporalDevServer, type DevServer } from '../../scripts/temporal-dev-server';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { report, waitAll } from './report';

const OUTAGE_MS = Number(process.env.CHAOS_TEMPORAL_OUTAGE_MS ?? 10_000);
let t: TestPlatform;
let server: DevServer;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-chaos-temporal-'));
const cli = resolveTemporalCli({ log: () => {} });
let port: number;

const startServer = () => startTemporalDevServer({ cli, headless: true, port, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') });

before(async () => {
  port = await freePort();
  server = await startServer();
  process.env.PERENNIAL_TEST_TEMPORAL_ADDRESS = server.address; // this file's platform uses its own server
  t = await startTestPlatform({ PERENNIAL_HEARTBEAT_TIMEOUT: '5s' });
  await t.allowUnapproved('outage');
});
after(async () => {
  await t?.stop();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the Temporal server stopped mid-training and started again on its file: the pipeline completes with one version', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'outage', training: { epochs: 300, hiddenUnits: [32], checkpointEvery: 10 }, approval: { required: false } }),
  });
  assert.equal(started.status, 202);
  await t.waitFor(started.body.id, (p) => p.stage === 'train' && p.training?.epoch >= 10);

  await server.stop();
  const down = Date.now();
  // the API answers while Temporal is away: a clear 503, not a hang or a stack trace
  const asked = Date.now();
  const during = await t.api('GET', `/v1/pipelines/${started.body.id}`);
  const answerMs = Date.now() - asked; // reported, not asserted: how long a caller waits for the 503
  assert.equal(during.status, 503, `status while Temporal is down: ${during.status} ${JSON.stringify(during.body)}`);
  assert.equal(during.body.error.code, 'temporal_unavailable');
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  server = await startServer();
  const recoveredAt = Date.now();

  const [done] = await waitAll(t, [started.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'completed', JSON.stringify(done.error ?? done.reason));
  assert.equal(done.training.epoch, 300);
  const model = await t.api('GET', '/v1/models/outage');
  assert.deepEqual(model.body.versions.map((v: any) => [v.version, v.status]), [[1, 'production']]);
  report('Temporal server stopped and restarted mid-pipeline', {
    runs: 1, completions: 1, versions: model.body.versions.length, outageMs: recoveredAt - down,
    recoveryMs: Date.now() - recoveredAt, resumedFromEpoch: done.training.resumedFromEpoch ?? 0, apiWhileDown: during.status, apiAnswerWhileDownMs: answerMs,
  });
});
