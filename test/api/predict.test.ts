import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let viewer: string;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather');
  viewer = await t.createKey('vera', 'viewer');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, training: { epochs: 15, hiddenUnits: [16] } }) });
  await t.waitFor(started.body.id, (p) => p.status === 'completed');
});
after(async () => { await t?.stop(); });

const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };

test('the production model answers a batch of instances with a label and class probabilities, naming its version', async () => {
  const res = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [day, { ...day, precipitation: 25.4, temp_max: 9, temp_min: 5 }] } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.modelVersion, 1);
  assert.equal(res.body.predictions.length, 2);
  for (const p of res.body.predictions) {
    assert.deepEqual(Object.keys(p.probabilities).sort(), ['drizzle', 'fog', 'rain', 'snow', 'sun']);
    const total = Object.values(p.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-4);
    assert.equal(p.probabilities[p.label], Math.max(...Object.values(p.probabilities as Record<string, number>)));
  }
  assert.equal(res.body.predictions[1].label, 'rain', 'an inch of rain is rain');
});

test('a missing feature is imputed as in training; an unknown feature or a wrong type is a 422 naming it', async () => {
  const { wind: _w, ...noWind } = day;
  assert.equal((await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [noWind] } })).status, 200);
  const unknown = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [{ ...day, humidity: 80 }] } });
  assert.equal(unknown.status, 422);
  assert.match(unknown.body.error.message, /unknown feature "humidity"/);
  const wrong = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [{ ...day, temp_max: 'hot' }] } });
  assert.equal(wrong.status, 422);
  assert.deepEqual(wrong.body.error.details.errors.map((e: any) => e.feature), ['temp_max']);
  const badDate = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [{ ...day, date: 'yesterday' }] } });
  assert.equal(badDate.status, 422);
});

test('predicting with an unknown model is 404, without instances 400, without a token 401', async () => {
  assert.equal((await t.api('POST', '/v1/models/nope:predict', { token: viewer, body: { instances: [day] } })).status, 404);
  const empty = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [] } });
  assert.equal(empty.status, 400);
  assert.equal(empty.body.error.details[0].field, 'instances');
  assert.equal((await t.api('POST', '/v1/models/weather:predict', { token: null, body: { instances: [day] } })).status, 401);
});

test('rollback switches production to the previous version at once, audited, and predictions follow', async () => {
  const approver = await t.createKey('alice', 'approver');
  const second = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, training: { epochs: 15, hiddenUnits: [16], seed: 7 } }) });
  await t.waitFor(second.body.id, (p) => p.status === 'completed');
  assert.equal((await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [day] } })).body.modelVersion, 2);

  assert.equal((await t.api('POST', '/v1/models/weather/rollback', { token: viewer })).status, 403);
  const rolled = await t.api('POST', '/v1/models/weather/rollback', { token: approver });
  assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
  assert.equal(rolled.body.productionVersion, 1);
  assert.deepEqual(rolled.body.versions.map((v: any) => [v.version, v.status]), [[2, 'archived'], [1, 'production']]);
  assert.equal((await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [day] } })).body.modelVersion, 1,
    'the next prediction already comes from version 1');

  const { auditEvents } = await import('../../db/schema');
  const { eq } = await import('drizzle-orm');
  const audit = await t.database.db.select().from(auditEvents).where(eq(auditEvents.action, 'rollback'));
  assert.deepEqual(audit.map((a) => [a.actorName.split(' ')[0], a.version, (a.details as any).fromVersion]), [['alice', 1, 2]]);

  assert.equal((await t.api('POST', '/v1/models/weather/rollback', { token: approver })).status, 409, 'nothing earlier than version 1');
  const forward = await t.api('POST', '/v1/models/weather/rollback', { token: approver, body: { toVersion: 2, comment: 'fixed upstream' } });
  assert.equal(forward.body.productionVersion, 2);
  assert.equal((await t.api('POST', '/v1/models/weather/rollback', { token: approver, body: { toVersion: 9 } })).status, 404);
});

test('a predict body that is not JSON is 400, and one over the size limit is 413', async () => {
  const bad = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: '{"instances": [' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /not valid JSON/);
  const huge = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: Array.from({ length: 9000 }, () => ({ ...day, note: 'x'.repeat(200) })) } });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.error.code, 'payload_too_large');
});
