/**
 * What a caller cannot do to serving: poison the prediction log, blow up an error answer, fill the
 * caches with names, overload a request, keep a canary's refusals from counting, or label answers
 * that were not theirs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, eq, isNotNull } from 'drizzle-orm';
import { createDeploymentActivities } from '../../activities/deployment';
import { SystemActors } from '../../common/actors';
import { createPredictionLog } from '../../api/prediction-log';
import { createModelServer } from '../../api/serving';
import { LocalArtifactStore } from '../../db/artifacts';
import { feedback, predictions } from '../../db/schema';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let viewer: string;
let deployment: ReturnType<typeof createDeploymentActivities>;
const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
const predict = (instances: unknown, opts: { token?: string; model?: string } = {}) =>
  t.api('POST', `/v1/models/${opts.model ?? 'weather'}:predict`, { token: opts.token ?? viewer, body: { instances } });

before(async () => {
  // at most 1e6 multiply-adds a request: a few thousand instances of the small weather network
  t = await startTestPlatform({ PERENNIAL_PREDICT_MAX_COST: '1000000' });
  await t.allowUnapproved('weather');
  viewer = await t.createKey('vera', 'viewer');
  deployment = createDeploymentActivities({ db: t.database.db });
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false } }) });
  await t.waitFor(first.body.id, (p) => p.status === 'completed');
  // version 2 does not know "date": production-shaped requests carry a feature it refuses
  const second = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ features: ['precipitation', 'temp_max', 'temp_min', 'wind'] }) });
  await t.waitFor(second.body.id, (p) => p.status === 'awaiting_approval');
});
after(async () => { await t?.stop(); });

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  // a guard against a hung test, not a timing assertion
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}
const logged = (id: string) => until(`prediction ${id} is logged`, async () =>
  (await t.database.db.select().from(predictions).where(eq(predictions.id, id)))[0]);

test('a NUL in a date is a 422 and the log keeps writing', async () => {
  const refused = {
    'a NUL': '2015-06-01\u0000',
    'a lone surrogate': '2015-06-01\ud800',
    'trailing text': '2015-06-01 and then some',
    'a day that does not exist': '2015-02-30',
    'a string over the length limit': `2015-06-01${' '.repeat(1_000)}`,
  };
  for (const [what, date] of Object.entries(refused)) {
    const res = await predict([{ ...day, date }]);
    assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.details.errors[0].feature, 'date', what);
  }
  const nulInText = await predict([{ ...day, note: 'x\u0000' }]);
  assert.equal(nulInText.status, 422, 'an unknown feature whose name or value is odd is refused too');

  for (const date of ['2015-06-01', '2015-06-01T12:30:00Z', '2015-06-01T12:30:00.000+02:00']) {
    const ok = await predict([{ ...day, date }]);
    assert.equal(ok.status, 200, `${date}: ${JSON.stringify(ok.body)}`);
    await logged(ok.body.predictionIds[0]);
  }
  const metrics = await t.api('GET', '/metrics', { token: null });
  assert.match(metrics.body, /perennial_prediction_log_dead_letters_total 0/);
});

test('a deeply nested feature value is a 422 that describes its type, not a 500', async () => {
  const depth = 50_000;
  const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  for (const feature of ['date', 'humidity']) {
    const res = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: `{"instances":[{"${feature}":${nested}}]}` });
    assert.equal(res.status, 422, `${feature}: ${JSON.stringify(res.body).slice(0, 300)}`);
    assert.ok(JSON.stringify(res.body).length < 2_000, 'the answer does not repeat the value');
  }
  const wrong = await predict([{ ...day, temp_max: { deeply: { nested: 1 } } }]);
  assert.match(wrong.body.error.message, /"temp_max" must be a finite number, got an object/);
});

test('a 422 names the first 20 problems, counts the rest and names the known features once', async () => {
  const keys = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [String.fromCharCode(97 + i), 0]));
  const body = JSON.stringify({ instances: Array.from({ length: 1_000 }, () => keys) });
  const res = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body });
  assert.equal(res.status, 422);
  const { details } = res.body.error;
  assert.equal(details.errors.length, 20);
  assert.equal(details.total, 1_000 * 17);
  assert.deepEqual([...details.knownFeatures].sort(), ['date', 'precipitation', 'temp_max', 'temp_min', 'wind']);
  assert.ok(!/the model knows/.test(res.body.error.message));
  assert.ok(JSON.stringify(res.body).length < body.length / 20, 'the answer is far smaller than the request');

  const notObjects = await predict(Array.from({ length: 5_000 }, () => 1));
  assert.equal(notObjects.status, 400);
  assert.equal(notObjects.body.error.details.length, 20);
  assert.match(notObjects.body.error.message, /and 4980 more/);
});

test('a request costlier than the per-request limit is a 413 naming how many instances the model answers', async () => {
  const res = await predict(Array.from({ length: 5_000 }, () => day));
  assert.equal(res.status, 413, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.error.code, 'too_costly');
  assert.match(res.body.error.message, /at most \d+ instances a request .*1000000 multiply-adds/);
  assert.equal((await predict([day])).status, 200);
});

test('a model name that could not exist is a 400, and names that do not exist are remembered only briefly and boundedly', async () => {
  const long = await predict([day], { model: 'a'.repeat(12_000) });
  assert.equal(long.status, 400);
  assert.ok(JSON.stringify(long.body).length < 500, 'the name is not repeated');

  const log = createPredictionLog({ db: t.database.db });
  const server = createModelServer({
    database: t.database, artifacts: new LocalArtifactStore(t.config.artifactsDir), backend: 'wasm', predictionLog: log, missingCacheSize: 10,
  });
  await server.start();
  try {
    for (let i = 0; i < 50; i++) await assert.rejects(server.predict(`nope-${i}`, [day]), /was not found/);
    assert.deepEqual({ ...server.cacheSizes, bundles: undefined }, { deployments: 1, missing: 10, bundles: undefined },
      'only the model that exists is kept; at most 10 missing names are remembered');
  } finally {
    await server.close();
  }
});

test('when the canary refuses what production accepts, production answers and the refusal counts against the canary', async () => {
  await deployment.claimCanarySlot({ model: 'weather', version: 2 });
  await deployment.setCanaryWeight({ pipelineId: 'test-refusals', model: 'weather', version: 2, weight: 100, mode: 'split', step: 100 });
  // until this replica follows the change (NOTIFY): every request then meets the canary, which refuses "date"
  const refusal = await until('a canary refusal is logged', async () => {
    const res = await predict([day]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.modelVersion, 1, 'production answers');
    const [row] = await t.database.db.select().from(predictions)
      .where(and(eq(predictions.version, 2), eq(predictions.role, 'canary'), isNotNull(predictions.error)));
    return row;
  });
  assert.match(refusal.error!, /unknown feature "date"/);
  assert.equal(refusal.output, null);
  assert.equal(refusal.requestedBy, 'vera');

  await deployment.setCanaryWeight({ pipelineId: 'test-refusals', model: 'weather', version: 2, weight: 100, mode: 'shadow', step: 101 });
  const shadow = await until('a shadow refusal is logged', async () => {
    const res = await predict([day]);
    assert.equal(res.status, 200);
    const [row] = await t.database.db.select().from(predictions)
      .where(and(eq(predictions.version, 2), eq(predictions.role, 'shadow'), isNotNull(predictions.error)));
    return row && { row, answered: res.body.predictionIds[0] };
  });
  assert.match(shadow.row.error!, /unknown feature "date"/);
  assert.ok(shadow.row.shadowOf, 'the shadow refusal names the production prediction it mirrors');
});

test('bundles no deployment uses are disposed after the grace period', async () => {
  const log = createPredictionLog({ db: t.database.db });
  const server = createModelServer({
    database: t.database, artifacts: new LocalArtifactStore(t.config.artifactsDir), backend: 'wasm', predictionLog: log, bundleGraceMs: 0,
  });
  await server.start();
  try {
    assert.equal(server.cacheSizes.bundles, 2, 'production and the canary are warm');
    await deployment.rollBackCanary({
      pipelineId: 'test-refusals', model: 'weather', version: 2, reason: 'test', actor: SystemActors.canary, details: {},
    });
    await until('the canary bundle is disposed', async () => {
      server.disposeUnusedBundles();
      return server.cacheSizes.bundles === 1 ? true : undefined;
    });
    assert.equal((await server.predict('weather', [day])).modelVersion, 1);
  } finally {
    await server.close();
  }
});

test('feedback is taken only for logged predictions answered to the same owner (or an approver), and the first label counts', async () => {
  const victor = await t.createKey('victor', 'viewer');
  const approver = await t.createKey('alice', 'approver');
  const res = await predict([day, day]);
  const [mine, other] = res.body.predictionIds;
  // sent at once: this replica writes its buffered predictions before looking the ids up
  const first = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: mine, label: 'sun' }, { predictionId: 'never-predicted', label: 'sun' }] } });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.deepEqual(first.body, { accepted: 1, alreadyLabelled: 0, notFound: 1, notFoundIds: ['never-predicted'] });
  assert.equal((await logged(mine)).requestedBy, 'vera');

  const again = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: mine, label: 'drizzle' }] } });
  assert.deepEqual(again.body, { accepted: 0, alreadyLabelled: 1, notFound: 0, notFoundIds: [] });
  const stranger = await t.api('POST', '/v1/feedback', { token: victor, body: { items: [{ predictionId: other, label: 'snow' }] } });
  assert.deepEqual(stranger.body, { accepted: 0, alreadyLabelled: 0, notFound: 1, notFoundIds: [other] }, "another owner's prediction is not theirs to label");
  const approved = await t.api('POST', '/v1/feedback', { token: approver, body: { items: [{ predictionId: other, label: 'rain' }] } });
  assert.equal(approved.body.accepted, 1);

  const labels = await t.database.db.select().from(feedback);
  const byId = new Map(labels.map((l) => [l.predictionId, l]));
  assert.deepEqual([byId.get(mine)?.label, byId.get(mine)?.byOwner], ['sun', 'vera'], 'the first label counts');
  assert.deepEqual([byId.get(other)?.label, byId.get(other)?.byOwner], ['rain', 'alice']);
  assert.ok(!byId.has('never-predicted'));
});
