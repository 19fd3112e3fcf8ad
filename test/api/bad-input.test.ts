/** Bad input is a 400 naming the field, never a 500 from the database or a stack overflow. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonValueProblem } from '../../api/json-body-check';
import { forLog } from '../../common/text';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let viewer: string;
before(async () => {
  t = await startTestPlatform();
  viewer = await t.createKey('vera', 'viewer');
});
after(async () => { await t?.stop().catch(() => {}); });

const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

function assertInvalid(res: { status: number; body: any }, what: string) {
  assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`);
  assert.equal(res.body.error.code, 'invalid_request', what);
  assert.equal(typeof res.body.error.message, 'string', what);
}

test('a NUL in a path parameter is a 400 on every route that reads one', async () => {
  for (const [method, route] of [
    ['GET', '/v1/datasets/%00'], ['GET', '/v1/pipelines/a%00b'], ['GET', '/v1/models/%00'], ['DELETE', '/v1/api-keys/key%00'],
    ['GET', '/v1/models/x%00/versions/1/card'], ['POST', '/v1/pipelines/%00/cancel'],
  ] as const) {
    assertInvalid(await t.api(method, route), `${method} ${route}`);
  }
});

test('a NUL or a line break in a query parameter is a 400', async () => {
  assertInvalid(await t.api('GET', '/v1/pipelines?model=%00', { token: viewer }), 'model=%00');
  assertInvalid(await t.api('GET', '/v1/pipelines?model=a%0Ab', { token: viewer }), 'model=a%0Ab');
});

test('a version number beyond a PostgreSQL integer is a 400, not a failed query', async () => {
  assertInvalid(await t.api('GET', '/v1/models/weather/versions/99999999999/card', { token: viewer }), 'path version');
  assertInvalid(await t.api('GET', '/v1/models/weather/versions/2147483648/card', { token: viewer }), 'path version 2^31');
  assert.equal((await t.api('GET', '/v1/models/weather/versions/2147483647/card', { token: viewer })).status, 404);
  assertInvalid(await t.api('POST', '/v1/models/weather/rollback', { body: { toVersion: 99999999999 } }), 'rollback toVersion');
});

test('a NUL or a lone surrogate anywhere in a JSON body is a 400 naming the field (predict instances: a 422, serving-abuse.test.ts)', async () => {
  const nul = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: 'x', label: 'a\u0000' }] } });
  assertInvalid(nul, 'feedback label');
  assert.match(nul.body.error.message, /items\.0\.label/);
  // JSON.stringify writes a lone surrogate as an escape, which JSON.parse turns back into one
  const surrogate = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ monitor: { note: 'x\ud800' } }) });
  assertInvalid(surrogate, 'monitor value');
  assert.match(surrogate.body.error.message, /monitor\.note/);
  assertInvalid(await t.api('POST', '/v1/pipelines', { body: weatherRequest({ monitor: { 'k\u0000': 1 } }) }), 'monitor key');
});

test('a deeply nested body is a 400 on every route (predict instances: a 422 describing the type, serving-abuse.test.ts)', async () => {
  const predict = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: `{"instances":[{"precipitation":${deep(100_000)}}]}` });
  assert.ok(predict.status >= 400 && predict.status < 500, `predict: ${predict.status}`);
  assert.equal(typeof predict.body.error.code, 'string');
  assertInvalid(await t.api('POST', '/v1/pipelines', { body: `{"model":"weather","monitor":{"x":${deep(100_000)}}}` }), 'pipeline monitor');
  assertInvalid(await t.api('POST', '/v1/feedback', { token: viewer, body: deep(100_000) }), 'feedback');
  assert.equal((await t.api('GET', '/healthz', { token: null })).status, 200);
});

test('a body that is not JSON is a 400 in the error shape', async () => {
  assertInvalid(await t.api('POST', '/v1/feedback', { token: viewer, body: '{"items": [' }), 'truncated JSON');
});

test('a 400 names at most 20 problems and never echoes a long key in full', async () => {
  const items = Array.from({ length: 100 }, () => ({ predictionId: '', label: 'a' }));
  const many = await t.api('POST', '/v1/feedback', { token: viewer, body: { items } });
  assertInvalid(many, 'many items');
  assert.equal(many.body.error.details.length, 20);
  assert.match(many.body.error.message, /and 80 more/);
  const longKey = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: [{ predictionId: 'x', label: 'a' }], ['k'.repeat(100_000)]: 1 } });
  assertInvalid(longKey, 'long key');
  assert.ok(JSON.stringify(longKey.body).length < 1000, 'the answer is short');
});

test('jsonValueProblem walks a million levels without recursion', () => {
  assert.deepEqual(jsonValueProblem(JSON.parse(deep(1_000_000)), 64)?.message, 'nested deeper than 64 levels');
  assert.equal(jsonValueProblem({ a: [1, 'b', { c: null }] }), null);
});

test('forLog shows line breaks and control characters as escapes and cuts long text', () => {
  assert.equal(forLog('/v1/x\nFAKE LOG LINE\r\u2028'), '/v1/x\\u000aFAKE LOG LINE\\u000d\\u2028');
  assert.equal(forLog('\u0000\u001b[31m'), '\\u0000\\u001b[31m');
  const cut = forLog('a'.repeat(1000), 10);
  assert.equal(cut, 'aaaaaaaaaa…(1000 chars)');
});

test('a duration that is not one is a 400 naming the field, not a 500 from a rule that read it anyway', async () => {
  for (const [body, field] of [
    [weatherRequest({ approval: { timeout: 'daily' } }), 'approval.timeout'],
    [weatherRequest({ canary: { stepDuration: 'soon', maxStepDuration: '1h' } }), 'canary.stepDuration'],
    [weatherRequest({ canary: { stepDuration: '10m', maxStepDuration: 'later' } }), 'canary.maxStepDuration'],
  ] as const) {
    const res = await t.api('POST', '/v1/pipelines', { body });
    assertInvalid(res, field);
    assert.match(res.body.error.message, new RegExp(field.replace('.', '\\.')));
  }
});
