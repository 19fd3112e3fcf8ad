import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let viewer: string, operator: string, approver: string, approver2: string;
before(async () => {
  t = await startTestPlatform({ PERENNIAL_MAX_BODY_BYTES: '4096' });
  await t.allowUnapproved('no-wait');
  [viewer, operator, approver, approver2] = await Promise.all([
    t.createKey('vera', 'viewer'), t.createKey('olivia', 'operator'), t.createKey('alice', 'approver'), t.createKey('ann', 'approver'),
  ]);
});
after(async () => { await t?.stop(); });

test('a request without a token is 401 with a JSON error', async () => {
  const res = await t.api('GET', '/v1/models', { token: null });
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'unauthorized');
});

test('an unknown token is 401', async () => {
  const res = await t.api('GET', '/v1/models', { token: 'pk_not-a-real-token' });
  assert.equal(res.status, 401);
});

test('a viewer can read but cannot start a pipeline (403)', async () => {
  assert.equal((await t.api('GET', '/v1/models', { token: viewer })).status, 200);
  const res = await t.api('POST', '/v1/pipelines', { token: viewer, body: weatherRequest() });
  assert.equal(res.status, 403);
  assert.equal(res.body.error.code, 'forbidden');
  assert.match(res.body.error.message, /operator/);
});

test('an operator cannot approve (403) and only an admin manages keys (403)', async () => {
  const keys = await t.api('GET', '/v1/api-keys', { token: approver });
  assert.equal(keys.status, 403);
  const approve = await t.api('POST', '/v1/pipelines/whatever/approve', { token: operator });
  assert.equal(approve.status, 403);
});

test('four-eyes: the key that started a pipeline may not approve it (403), another approver may', async () => {
  const started = await t.api('POST', '/v1/pipelines', { token: approver, body: weatherRequest({ model: 'four-eyes' }) });
  assert.equal(started.status, 202);
  await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  const own = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver });
  assert.equal(own.status, 403);
  assert.equal(own.body.error.code, 'four_eyes');
  const status = await t.api('GET', `/v1/pipelines/${started.body.id}`);
  assert.equal(status.body.status, 'awaiting_approval', 'a refused decision leaves the pipeline waiting');
  const other = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver2 });
  assert.equal(other.status, 200);
  assert.equal(other.body.approval.by, 'ann');
});

test('approving when nothing awaits approval is 409', async () => {
  const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'no-wait', approval: { required: false } }) });
  await t.waitFor(started.body.id, (p) => p.status === 'completed');
  const res = await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver });
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, 'conflict');
});

test('an unknown pipeline is 404', async () => {
  const res = await t.api('GET', '/v1/pipelines/pipeline-nope-123', { token: viewer });
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'not_found');
  assert.equal((await t.api('POST', '/v1/pipelines/pipeline-nope-123/approve', { token: approver })).status, 404);
  assert.equal((await t.api('GET', '/v1/models/nope', { token: viewer })).status, 404);
});

test('a malformed body is 400 naming each offending field', async () => {
  const res = await t.api('POST', '/v1/pipelines', {
    token: operator, body: { model: 'weather', dataset: {}, target: 'weather', training: { epochs: 'ten' }, colour: 'blue' },
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'invalid_request');
  const fields = res.body.error.details.map((d: any) => d.field).sort();
  assert.deepEqual(fields, ['colour', 'dataset.uri', 'training.epochs']);
  assert.match(res.body.error.message, /dataset\.uri/);
});

test('a body that is not JSON is 400, and one over the size limit is 413', async () => {
  const bad = await t.api('POST', '/v1/pipelines', { token: operator, body: '{"model": ', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.error.message);
  const big = await t.api('POST', '/v1/pipelines', { token: operator, body: { model: 'x'.repeat(10_000) } });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'payload_too_large');
});

test('API keys: created with the token shown once, listed without it, and a revoked key is refused', async () => {
  const created = await t.api('POST', '/v1/api-keys', { body: { name: 'temp', role: 'viewer' } });
  assert.equal(created.status, 201);
  assert.match(created.body.token, /^pk_/);
  const list = await t.api('GET', '/v1/api-keys');
  const listed = list.body.items.find((k: any) => k.id === created.body.id);
  assert.equal(listed.name, 'temp');
  assert.equal(listed.token, undefined);
  assert.equal((await t.api('GET', '/v1/models', { token: created.body.token })).status, 200);
  assert.equal((await t.api('DELETE', `/v1/api-keys/${created.body.id}`)).status, 200);
  assert.equal((await t.api('GET', '/v1/models', { token: created.body.token })).status, 401);
});

test('an invalid role when creating a key is 400', async () => {
  const res = await t.api('POST', '/v1/api-keys', { body: { name: 'x', role: 'superuser' } });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.details[0].field, 'role');
});

test('a tuning grid of more than 10,000 combinations, or of more than 100 values of one parameter, is 400 naming the limit, and nothing starts', async () => {
  const ten = (f: (i: number) => unknown) => Array.from({ length: 10 }, (_, i) => f(i));
  const huge = await t.api('POST', '/v1/pipelines', {
    token: operator,
    body: weatherRequest({
      model: 'grid-too-large',
      tuning: { space: { learningRate: ten((i) => 0.001 * (i + 1)), dropout: ten((i) => i / 20), l2: ten((i) => i), batchSize: ten((i) => i + 1), hiddenUnits: ten((i) => [i + 1]) } },
    }),
  });
  assert.equal(huge.status, 400);
  assert.deepEqual(huge.body.error.details.map((d: any) => d.field), ['tuning.space']);
  assert.match(huge.body.error.message, /more than 10,000 combinations/);

  const long = await t.api('POST', '/v1/pipelines', {
    token: operator, body: weatherRequest({ model: 'grid-too-long', tuning: { space: { l2: Array.from({ length: 101 }, (_, i) => i) } } }),
  });
  assert.equal(long.status, 400);
  assert.deepEqual(long.body.error.details.map((d: any) => d.field), ['tuning.space.l2']);

  const listed = await t.api('GET', '/v1/pipelines?model=grid-too-large', { token: viewer });
  assert.deepEqual(listed.body.items, []);
});
