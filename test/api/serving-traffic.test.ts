import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { createDeploymentActivities } from '../../activities/deployment';
import { LocalArtifactStore } from '../../db/artifacts';
import { createApp } from '../../api/app';
import { createPredictionLog } from '../../api/prediction-log';
import { createModelServer } from '../../api/serving';
import { apiKeys, datasets, feedback, models, modelVersions, predictions } from '../../db/schema';
import { openTestDatabase } from '../helpers/database';
import { startApiReplica, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { weatherDays } from '../helpers/traffic';

let t: TestPlatform;
let viewer: string;
let deployment: ReturnType<typeof createDeploymentActivities>;
const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };

before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather');
  viewer = await t.createKey('vera', 'viewer');
  deployment = createDeploymentActivities({ db: t.database.db });
  // version 1 in production; version 2 trained and waiting for approval, to be given traffic by weight
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false } }) });
  await t.waitFor(first.body.id, (p) => p.status === 'completed');
  const second = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ training: { epochs: 5, hiddenUnits: [16], seed: 7 } }) });
  await t.waitFor(second.body.id, (p) => p.status === 'awaiting_approval');
});
after(async () => { await t?.stop(); });

/** v2 takes the canary slot (as its rollout would), then this share of traffic */
const setWeight = async (weight: number) => {
  await deployment.claimCanarySlot({ model: 'weather', version: 2 });
  await deployment.setCanaryWeight({ pipelineId: 'test-split', model: 'weather', version: 2, weight, mode: 'split', step: weight });
};

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  // a guard against a hung test, not a timing assertion
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

test('a 20 % canary answers between 15 % and 25 % of 2,000 requests, and one entity key always meets one version', async () => {
  await setWeight(20);
  const versions: number[] = [];
  for (let i = 0; i < 2000; i += 20) {
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [day] } })));
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      versions.push(a.body.modelVersion);
    }
  }
  const canaryShare = versions.filter((v) => v === 2).length / versions.length;
  assert.ok(canaryShare >= 0.15 && canaryShare <= 0.25, `canary share ${canaryShare}`);
  assert.ok(versions.every((v) => v === 1 || v === 2));

  const seen = new Set<number>();
  for (let k = 0; k < 40; k++) {
    const headers = { 'x-entity-key': `customer-${k}` };
    const answers = await Promise.all([0, 1, 2].map(() => t.api('POST', '/v1/models/weather:predict', { token: viewer, headers, body: { instances: [day] } })));
    const got = new Set(answers.map((a) => a.body.modelVersion));
    assert.equal(got.size, 1, `customer-${k} met versions ${[...got]}`);
    seen.add(answers[0].body.modelVersion);
  }
  assert.deepEqual([...seen].sort(), [1, 2], 'forty customers are split between both versions');
  const list = await t.api('GET', '/v1/models', { token: viewer });
  assert.deepEqual(list.body.items.map((m: any) => [m.productionVersion, m.canaryVersion, m.canaryTrafficPercent]), [[1, 2, 20]]);
});

test('a weight change reaches a second API replica without a restart', async () => {
  const replica = await startApiReplica(t);
  try {
    const versionAt = async () => (await replica.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [day] } })).body.modelVersion;
    await setWeight(100);
    await until('replica serves the canary', async () => ((await versionAt()) === 2 ? true : undefined));
    for (let i = 0; i < 20; i++) assert.equal(await versionAt(), 2);
    await setWeight(0);
    await until('replica is back on production', async () => ((await versionAt()) === 1 ? true : undefined));
    for (let i = 0; i < 20; i++) assert.equal(await versionAt(), 1);
  } finally {
    await replica.stop();
  }
});

test('every prediction is logged with its version, features, output, latency and receiver, and feedback joins labels to it by id, the first label counting', async () => {
  await setWeight(0);
  const [rainy] = weatherDays().filter((d) => d.label === 'rain');
  const res = await t.api('POST', '/v1/models/weather:predict', { token: viewer, headers: { 'x-entity-key': 'customer-7' }, body: { instances: [day, rainy.instance] } });
  assert.equal(res.status, 200);
  assert.equal(res.body.predictionIds.length, 2);
  const [id] = res.body.predictionIds;
  const row = await until('the prediction is logged', async () =>
    (await t.database.db.select().from(predictions).where(eq(predictions.id, id)))[0]);
  assert.equal(row.modelName, 'weather');
  assert.equal(row.version, 1);
  assert.equal(row.role, 'production');
  assert.equal(row.entityKey, 'customer-7');
  assert.equal(row.requestedBy, 'vera');
  assert.deepEqual(row.features, day);
  assert.deepEqual(row.output, res.body.predictions[0]);
  assert.equal(row.label, res.body.predictions[0].label);
  assert.ok(row.latencyMs >= 0);

  const fb = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: id, label: 'sun' }, { predictionId: res.body.predictionIds[1], label: 'rain' }] } });
  assert.equal(fb.status, 202);
  assert.equal(fb.body.accepted, 2);
  const corrected = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: id, label: 'drizzle' }] } });
  assert.equal(corrected.status, 202);
  assert.equal(corrected.body.alreadyLabelled, 1);
  const [label] = await t.database.db.select().from(feedback).where(eq(feedback.predictionId, id));
  assert.equal(label.label, 'sun', 'a later label for the same prediction is ignored: the first counts');
  assert.equal(label.byOwner, 'vera');
});

test('feedback without items, with both a label and a value, or with unknown fields is a 400 naming the field', async () => {
  const empty = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [] } });
  assert.equal(empty.status, 400);
  assert.equal(empty.body.error.details[0].field, 'items');
  const both = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: 'x', label: 'sun', value: 1 }] } });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /label/);
  const extra = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: 'x', label: 'sun', score: 1 }] } });
  assert.equal(extra.status, 400);
  assert.equal((await t.api('POST', '/v1/feedback', { token: null, body: { items: [{ predictionId: 'x', label: 'sun' }] } })).status, 401);
});

test('/metrics counts predictions by model, version and role, and prediction-log rows dropped', async () => {
  const res = await t.api('GET', '/metrics', { token: null });
  assert.match(res.body, /perennial_predictions_total\{model="weather",version="1",role="production"\} \d+/);
  assert.match(res.body, /perennial_prediction_log_dropped_total 0/);
  assert.match(res.body, /perennial_prediction_log_pending \d+/);
});

test('while the database is unreachable the prediction log holds a bounded buffer, counts what it drops, and writes the rest once it is back', async () => {
  // a real database, closed: every insert fails as it would with the server down
  const down = await openTestDatabase();
  await down.close();
  let dropped = 0;
  const messages: string[] = [];
  const row = (i: number) => ({
    id: `offline-${i}`, modelName: 'weather', version: 1, role: 'production' as const, features: day, output: { value: 1 },
    latencyMs: 1, createdAt: new Date(),
  });
  const log = createPredictionLog({ db: down.db, capacity: 100, batchSize: 50, flushIntervalMs: 10, onDrop: (n) => { dropped += n; }, log: (m) => messages.push(m) });
  log.record(Array.from({ length: 60 }, (_, i) => row(i)));
  await log.flush();
  log.record(Array.from({ length: 90 }, (_, i) => row(60 + i)));
  assert.equal(log.pending, 100, 'the buffer keeps its capacity');
  assert.equal(dropped, 50, 'the oldest beyond it are dropped and counted');
  assert.equal(log.dropped, 50);
  assert.ok(messages.some((m) => /did not take a batch/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /dropped 50 rows/.test(m)), messages.join('\n'));
  await log.close();

  // and on a database that answers, a buffered log writes everything on close (shutdown)
  const up = createPredictionLog({ db: t.database.db, flushIntervalMs: 60_000 });
  up.record(Array.from({ length: 30 }, (_, i) => ({ ...row(i), id: `shutdown-${i}` })));
  await up.close();
  const written = await t.database.db.select().from(predictions).where(and(eq(predictions.modelName, 'weather'), eq(predictions.latencyMs, 1)));
  assert.equal(written.filter((r) => r.id.startsWith('shutdown-')).length, 30);
  const [m] = await t.database.db.select().from(models).where(eq(models.name, 'weather'));
  assert.equal(m.productionVersion, 1, 'serving state is untouched');
});

test('predictions go on while the database is unreachable: the last deployment and the keys already seen are trusted', async () => {
  // an API on a database of its own (a copy of the registry), which then goes away
  const own = await openTestDatabase();
  await own.db.insert(datasets).values(await t.database.db.select().from(datasets));
  await own.db.insert(models).values(await t.database.db.select().from(models));
  await own.db.insert(modelVersions).values(await t.database.db.select().from(modelVersions));
  await own.db.insert(apiKeys).values(await t.database.db.select().from(apiKeys));
  const messages: string[] = [];
  const predictionLog = createPredictionLog({ db: own.db, log: (m) => messages.push(m) });
  const server = createModelServer({
    database: own, artifacts: new LocalArtifactStore(t.config.artifactsDir), backend: 'wasm', predictionLog, log: (m) => messages.push(m),
    cacheTtlMs: 0, // re-read the deployment on every request, so this test sees what happens when the read fails
  });
  await server.start();
  const app = createApp({ config: t.config, database: own, client: t.platform.client, server, keyCacheMs: 0 });
  const predict = () => app.request('/v1/models/weather:predict', {
    method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body: JSON.stringify({ instances: [day] }),
  });
  try {
    const before = await predict();
    assert.equal(before.status, 200);
    const version = (await before.json() as any).modelVersion;
    await own.close();

    const during = await predict();
    assert.equal(during.status, 200, await during.clone().text());
    assert.equal((await during.json() as any).modelVersion, version);
    assert.ok(messages.some((m) => /serving the last one read/.test(m)), messages.join('\n'));
    const ready = await app.request('/readyz');
    assert.equal(ready.status, 503);
    assert.equal((await ready.json() as any).database, false);
    const unknown = await app.request('/v1/models/weather:predict', {
      method: 'POST', headers: { authorization: 'Bearer pk_never-seen', 'content-type': 'application/json' }, body: JSON.stringify({ instances: [day] }),
    });
    assert.equal(unknown.status, 503, 'a key never seen is not trusted blindly');
    assert.match((await unknown.json() as any).error.message, /API keys cannot be checked now/);
  } finally {
    await server.close();
  }
});
