import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { retentionScheduleId } from '../../workflows/retention';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

const UI_ORIGIN = 'http://temporal-ui.example:8233';
const KEY_ID = 'e2e-2026';
/** a model of this file's own: workflow ids such as monitor-<model> are shared by every test file on the one Temporal server */
const MODEL = 'sealed-weather';
const SECRETS = ['seattle-weather.csv', 'temp_max', 'precipitation'];
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

let t: TestPlatform;
let pipelineId: string;
before(async () => {
  t = await startTestPlatform({
    PERENNIAL_CODEC_KEY: crypto.randomBytes(32).toString('base64'), PERENNIAL_CODEC_KEY_ID: KEY_ID, PERENNIAL_TEMPORAL_UI_URL: UI_ORIGIN,
  });
  await t.allowUnapproved(MODEL);
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: MODEL, approval: { required: false } }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  pipelineId = started.body.id;
  await t.waitFor(pipelineId, (p) => p.status !== 'running');
});
after(async () => {
  // every test file shares one Temporal server: leave no encrypted schedule for a platform without the key to list
  await t?.platform.client.schedule.getHandle(retentionScheduleId(t.config.taskQueues.orchestration)).delete().catch(() => {});
  await t?.stop();
});

/** A workflow's history as Temporal stores it, read by the Temporal CLI, which has no codec. */
function rawHistory(address: string, workflowId: string): string {
  const r = spawnSync(resolveTemporalCli({ log: () => {} }), ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** every string in the JSON, and, for those that may be base64, what they decode to */
function readableText(json: string): string {
  const strings: string[] = [];
  JSON.parse(json, (_k, v) => { if (typeof v === 'string') strings.push(v, /^[A-Za-z0-9+/]{8,}={0,2}$/.test(v) ? unb64(v) : ''); return v; });
  return strings.join('\n');
}

/** The encrypted payloads in a raw history, each in the JSON shape the Temporal UI sends the codec. */
function encryptedPayloads(json: string): { metadata: Record<string, string>; data: string }[] {
  const found: { metadata: Record<string, string>; data: string }[] = [];
  JSON.parse(json, (_k, v) => { if (v?.metadata?.encoding === b64('binary/encrypted')) found.push(v); return v; });
  return found;
}

test('an error that names a file is encrypted in the history too; the API still shows it in full', async () => {
  const file = path.join(t.importDir, 'secret-sensor-readings.csv');
  fs.writeFileSync(file, '');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: MODEL, dataset: { uri: file }, approval: { required: false } }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const ended = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(ended.status, 'rejected');
  assert.match(ended.validation.anomalies[0].message, /secret-sensor-readings\.csv/, 'the API decodes the failure');
  const text = readableText(rawHistory(t.temporalAddress, started.body.id));
  assert.ok(text.includes('ingestDataset'), 'the CLI read the history');
  assert.ok(!text.includes('secret-sensor-readings'), 'the failure message is ciphertext in the history');
});

const decode = (body: unknown, token?: string | null, headers?: Record<string, string>) => t.api('POST', '/codec/decode', { body, token, headers });

test('with a key, the history Temporal stores has no dataset path or feature name; the API shows everything', async () => {
  const view = await t.api('GET', `/v1/pipelines/${pipelineId}`);
  assert.equal(view.status, 200);
  assert.equal(view.body.status, 'completed', JSON.stringify(view.body));
  assert.equal(view.body.dataset.rows, 1461);
  assert.ok(view.body.metrics.accuracy > 0.4);
  assert.deepEqual(view.body.stages.map((s: { name: string }) => s.name), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'promote']);
  const model = await t.api('GET', `/v1/models/${MODEL}`);
  assert.ok(model.body.versions[0].features.includes('temp_max'), JSON.stringify(model.body.versions[0].features));

  for (const workflowId of [pipelineId, `monitor-${MODEL}`]) {
    const raw = rawHistory(t.temporalAddress, workflowId);
    assert.ok(raw.includes(pipelineId.slice(0, 16)) || workflowId === `monitor-${MODEL}`, 'the CLI read the history');
    const text = readableText(raw);
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${workflowId}'s raw history shows ${secret}`);
    const payloads = encryptedPayloads(raw);
    assert.ok(payloads.length > 0, `${workflowId}: no encrypted payloads`);
    for (const p of payloads) assert.equal(unb64(p.metadata['encryption-key-id']), KEY_ID);
  }

  // search attributes are not payloads under a codec: the UI's workflow list still finds the pipeline by them
  const deadline = Date.now() + 15_000;
  let found: Awaited<ReturnType<typeof listByModel>> = [];
  while (!found.length && Date.now() < deadline) {
    found = await listByModel();
    if (!found.length) await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(found.length, 1);
  assert.deepEqual(found[0].searchAttributes.ModelName, [MODEL]);
  assert.deepEqual(found[0].searchAttributes.PipelineStage, ['done']);
});

async function listByModel() {
  const rows = [];
  for await (const wf of t.platform.client.workflow.list({ query: `WorkflowId = "${pipelineId}" AND ModelName = "${MODEL}" AND PipelineStage = "done"` })) rows.push(wf);
  return rows;
}

test("training progress (the train activity's heartbeat, encrypted too) still shows through the API", async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-progress', training: { epochs: 2000, hiddenUnits: [16] } }) });
  assert.equal(started.status, 202);
  const midway = await t.waitFor(started.body.id, (p) => p.stage === 'train' && p.training?.epoch >= 1);
  assert.equal(midway.training.epochs, 2000);
  assert.equal((await t.api('POST', `/v1/pipelines/${started.body.id}/cancel`)).status, 202);
  await t.waitFor(started.body.id, (p) => p.status === 'cancelled');
});

test('/codec/decode turns a payload from the raw history back into its JSON; /codec/encode seals one', async () => {
  const [input] = encryptedPayloads(rawHistory(t.temporalAddress, pipelineId)); // the workflow's input: the pipeline spec
  const approver = await t.createKey('ava (approver)', 'approver');
  const res = await decode({ payloads: [input] }, approver, { 'x-namespace': 'default' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.payloads.length, 1);
  const [plain] = res.body.payloads;
  assert.equal(unb64(plain.metadata.encoding), 'json/plain');
  assert.match(unb64(plain.data), /"uri":"[^"]*seattle-weather\.csv"/);

  const sealed = await t.api('POST', '/codec/encode', { token: approver, body: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('{"secret":1}') }] } });
  assert.equal(sealed.status, 200);
  assert.equal(unb64(sealed.body.payloads[0].metadata.encoding), 'binary/encrypted');
  assert.ok(!unb64(sealed.body.payloads[0].data).includes('secret'));
  const back = await decode({ payloads: sealed.body.payloads }, approver);
  assert.equal(unb64(back.body.payloads[0].data), '{"secret":1}');

  // a payload that was never encrypted comes back as it was
  const passthrough = { metadata: { encoding: b64('json/plain') }, data: b64('42') };
  assert.deepEqual((await decode({ payloads: [passthrough] }, approver)).body, { payloads: [passthrough] });
});

test('/codec needs an approver key: viewers and operators 403, no token 401', async () => {
  const body = { payloads: [] };
  assert.equal((await decode(body, await t.createKey('vic (viewer)', 'viewer'))).status, 403);
  const operator = await t.createKey('otto (operator)', 'operator');
  assert.equal((await decode(body, operator)).status, 403);
  assert.equal((await t.api('POST', '/codec/encode', { token: operator, body })).status, 403);
  const anonymous = await decode(body, null);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error.code, 'unauthorized');
  assert.deepEqual((await decode(body)).body, { payloads: [] }, 'admin');
});

test('bad bodies are a 400 in the error shape, never a stack trace', async () => {
  const [input] = encryptedPayloads(rawHistory(t.temporalAddress, pipelineId));
  const tampered = Buffer.from(input.data, 'base64');
  tampered[tampered.length - 20] ^= 1;
  const cases: [unknown, RegExp][] = [
    ['{"payloads": [', /not valid JSON/],
    [{ payload: [] }, /payloads/],
    [{ payloads: 'all of them' }, /payloads/],
    [{ payloads: [{ data: 'not base64!' }] }, /payloads\.0\.data: not base64/],
    [{ payloads: [{ metadata: { encoding: '%%%' } }] }, /not base64/],
    [{ payloads: Array.from({ length: 1001 }, () => ({ data: 'AA==' })) }, /payloads/],
    [{ payloads: [input, { ...input, data: tampered.toString('base64') }] }, /payloads\.1: Encrypted payload under key id "e2e-2026" does not decrypt/],
    [{ payloads: [{ ...input, metadata: { ...input.metadata, 'encryption-key-id': b64('retired') } }] }, /key id "retired", which is neither/],
  ];
  for (const [body, message] of cases) {
    const res = await decode(body);
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.match(res.body.error.message, message);
    assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace');
  }
});

test('CORS: the Temporal UI origin may call the codec with credentials; another origin may not', async () => {
  const preflight = (origin: string) => fetch(`${t.url}/codec/decode`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
  });
  const ui = await preflight(UI_ORIGIN);
  assert.equal(ui.status, 204, 'answered without a token');
  assert.equal(ui.headers.get('access-control-allow-origin'), UI_ORIGIN);
  assert.equal(ui.headers.get('access-control-allow-credentials'), 'true');
  assert.deepEqual(ui.headers.get('access-control-allow-headers')?.split(',').sort(), ['authorization', 'content-type', 'x-namespace']);
  assert.match(ui.headers.get('access-control-allow-methods') ?? '', /POST/);

  const other = await preflight('https://evil.example');
  assert.equal(other.headers.get('access-control-allow-origin'), null);

  const call = await fetch(`${t.url}/codec/decode`, {
    method: 'POST', body: '{"payloads":[]}',
    headers: { origin: UI_ORIGIN, authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', 'x-namespace': 'default' },
  });
  assert.equal(call.status, 200);
  assert.equal(call.headers.get('access-control-allow-origin'), UI_ORIGIN);
  const refused = await fetch(`${t.url}/codec/decode`, { method: 'POST', body: '{"payloads":[]}', headers: { origin: UI_ORIGIN, 'content-type': 'application/json' } });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('access-control-allow-origin'), UI_ORIGIN, 'the UI can read why');
});

test('without a key: /codec is a 404, and history is stored as it is (what the checks above would have seen)', async () => {
  const plain = await startTestPlatform();
  try {
    for (const route of ['/codec/decode', '/codec/encode']) {
      const res = await plain.api('POST', route, { body: { payloads: [] } });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
      assert.match(res.body.error.message, /PERENNIAL_CODEC_KEY/);
    }
    const started = await plain.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-plain', training: { epochs: 1, hiddenUnits: [4] } }) });
    assert.equal(started.status, 202);
    await plain.waitFor(started.body.id, (p) => p.stage !== 'ingest' && p.stage !== 'validate');
    const text = readableText(rawHistory(plain.temporalAddress, started.body.id));
    for (const secret of SECRETS) assert.ok(text.includes(secret), `the plain history shows ${secret}`);
    await plain.api('POST', `/v1/pipelines/${started.body.id}/cancel`);
  } finally {
    await plain.stop();
  }
});
