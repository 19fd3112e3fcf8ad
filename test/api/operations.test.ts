import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather');
});
after(async () => { await t?.stop().catch(() => {}); });

test('/healthz answers 200 without a token', async () => {
  const res = await t.api('GET', '/healthz', { token: null });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ok' });
});

test('/readyz answers 200 when Temporal and the database answer', async () => {
  const res = await t.api('GET', '/readyz', { token: null });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { temporal: true, database: true, workers: true });
});

test('/openapi.json documents every pipeline route from the same zod schemas', async () => {
  const res = await t.api('GET', '/openapi.json', { token: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
  for (const p of ['/v1/pipelines', '/v1/pipelines/{id}', '/v1/pipelines/{id}/approve', '/v1/pipelines/{id}/reject',
    '/v1/pipelines/{id}/cancel', '/v1/models', '/v1/models/{name}', '/v1/models/{name}:predict', '/v1/models/{name}/versions/{version}/card',
    '/v1/api-keys', '/v1/datasets/{hash}']) {
    assert.ok(res.body.paths[p], `${p} is documented`);
  }
  const request = res.body.components.schemas.PipelineRequest;
  assert.deepEqual(request.required.sort(), ['dataset', 'model', 'target']);
});

test('/metrics exposes request counts by route and status in Prometheus text', async () => {
  await t.api('GET', '/v1/models');
  await t.api('GET', '/v1/models', { token: null });
  const res = await fetch(`${t.url}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /perennial_http_requests_total\{method="GET",route="\/v1\/models",status="200"\} 1/);
  assert.match(text, /perennial_http_requests_total\{method="GET",route="\/v1\/models",status="401"\} 1/);
  assert.match(text, /# TYPE perennial_http_requests_total counter/);
  assert.match(text, /# TYPE perennial_http_request_duration_seconds histogram/);
  // the latency histogram: cumulative buckets ending in +Inf, which equals the count of requests
  const line = (suffix: string) => Number(new RegExp(`^perennial_http_request_duration_seconds${suffix} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(line('_count\\{method="GET",route="/v1/models"\\}'), 2);
  assert.equal(line('_bucket\\{method="GET",route="/v1/models",le="\\+Inf"\\}'), 2);
  assert.ok(line('_bucket\\{method="GET",route="/v1/models",le="0.001"\\}') <= line('_bucket\\{method="GET",route="/v1/models",le="5"\\}'));
  assert.ok(line('_sum\\{method="GET",route="/v1/models"\\}') > 0);
});

test('an unknown route is a JSON 404', async () => {
  const res = await t.api('GET', '/v2/nothing', { token: null });
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'not_found');
});

test('GET /v1/datasets shows a dataset version with its schema and statistics once a pipeline ingested it', async () => {
  const { weatherRequest } = await import('../helpers/platform');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status === 'completed');
  const list = await t.api('GET', '/v1/datasets');
  assert.equal(list.body.items.length, 1);
  const ds = await t.api('GET', `/v1/datasets/${done.dataset.hash}`);
  assert.equal(ds.status, 200);
  assert.equal(ds.body.rows, 1461);
  assert.deepEqual(ds.body.schema.map((c: any) => [c.name, c.kind]),
    [['date', 'datetime'], ['precipitation', 'numeric'], ['temp_max', 'numeric'], ['temp_min', 'numeric'], ['wind', 'numeric'], ['weather', 'categorical']]);
  assert.equal(ds.body.statistics.rows, 1461);
  assert.equal(ds.body.statistics.duplicateRows, 0);
  const weather = ds.body.statistics.columns.find((s: any) => s.name === 'weather');
  assert.deepEqual(weather.top.map((t: any) => [t.value, t.count]), [['rain', 641], ['sun', 640], ['fog', 101], ['drizzle', 53], ['snow', 26]]);
  assert.equal(weather.missing, 0);
  const temp = ds.body.statistics.columns.find((s: any) => s.name === 'temp_max');
  assert.ok(Math.abs(temp.mean - 16.44) < 0.01, `temp_max mean ${temp.mean}`);
  assert.deepEqual(Object.keys(temp.quantiles), ['p1', 'p5', 'p25', 'p50', 'p75', 'p95', 'p99']);
  assert.equal(temp.histogram.counts.length, 20);
  assert.equal(temp.histogram.edges.length, 21);
  assert.equal(temp.histogram.counts.reduce((a: number, b: number) => a + b, 0), 1461);
  assert.equal(temp.histogram.edges[0], temp.min);
});

test('/readyz answers 503 with database: false, and no error text, when the database does not answer', async () => {
  await t.database.close();
  const res = await t.api('GET', '/readyz', { token: null });
  assert.equal(res.status, 503);
  assert.deepEqual(res.body, { temporal: true, database: false, workers: true });
});
