/** Ingest reads CSV, JSON, NDJSON and Parquet with DuckDB; validation names what a model cannot use. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { withDuckDb } from '../../activities/duckdb';
import { SEATTLE_WEATHER, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
// a test below serves a failing source from this machine, which the default source policy refuses
before(async () => {
  t = await startTestPlatform({ PERENNIAL_ALLOW_PRIVATE_SOURCES: 'true' });
  await t.allowUnapproved('weather-csv', 'weather-json', 'weather-ndjson', 'weather-parquet', 'temp-max', 'contracted', 'weather-after');
});
after(async () => { await t?.stop(); });

/** seattle-weather converted by DuckDB into another format: the same rows, other bytes */
async function convert(format: 'parquet' | 'json' | 'ndjson'): Promise<string> {
  const file = path.join(t.importDir, `seattle-weather.${format === 'ndjson' ? 'jsonl' : format}`);
  const options = { parquet: "FORMAT parquet, COMPRESSION zstd", json: 'FORMAT json, ARRAY true', ndjson: 'FORMAT json' }[format];
  await withDuckDb((conn) => conn.run(`COPY (SELECT * FROM read_csv('${SEATTLE_WEATHER}')) TO '${file}' (${options})`));
  return file;
}

for (const format of ['parquet', 'json', 'ndjson'] as const) {
  test(`a ${format} dataset is ingested with its format inferred and trains a model like the CSV`, async () => {
    const started = await t.api('POST', '/v1/pipelines', {
      body: weatherRequest({ model: `weather-${format}`, dataset: { uri: `file://${await convert(format)}` }, approval: { required: false } }),
    });
    const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.validation ?? done.error));
    assert.equal(done.dataset.rows, 1461);
    const ds = await t.api('GET', `/v1/datasets/${done.dataset.hash}`);
    assert.equal(ds.body.format, format);
  });
}

test('a file with a header and no rows is rejected at validation as no_rows', async () => {
  const file = path.join(t.importDir, 'header-only.csv');
  fs.writeFileSync(file, 'date,precipitation,temp_max,temp_min,wind,weather\n');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-empty', dataset: { uri: file } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'validation');
  assert.ok(done.validation.anomalies.some((a: any) => a.kind === 'no_rows'), JSON.stringify(done.validation.anomalies));
});

test('a feature of a type models cannot use (a nested list) is rejected as unsupported_type, naming it', async () => {
  const file = path.join(t.importDir, 'nested.jsonl');
  const rows = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n').slice(1, 200).map((l) => {
    const [date, precipitation, temp_max, temp_min, wind, weather] = l.split(',');
    return JSON.stringify({ date, precipitation: +precipitation, temp_max: +temp_max, temp_min: +temp_min, wind: +wind, readings: [+temp_min, +temp_max], weather });
  });
  fs.writeFileSync(file, rows.join('\n'));
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-nested', dataset: { uri: file } }) });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  const errors = done.validation.anomalies.filter((a: any) => a.severity === 'error');
  assert.deepEqual(errors.map((a: any) => [a.kind, a.column]), [['unsupported_type', 'readings']]);
  assert.match(errors[0].message, /DOUBLE\[\]/);
});

test('a regression target is inferred from a numeric column and judged by RMSE, MAE and R2', async () => {
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'temp-max', target: 'temp_max', approval: { required: false } }),
  });
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed');
  assert.equal(done.task, 'regression');
  assert.deepEqual(Object.keys(done.metrics).sort(), ['mae', 'mape', 'r2', 'rmse']);
  assert.ok(done.metrics.r2 > 0.5, `r2 ${done.metrics.r2}: temp_min and the date explain most of temp_max`);
});

test('a later dataset that breaks the model contract is rejected with every anomaly and the versions it was held against', async () => {
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'contracted', approval: { required: false } }) });
  const accepted = await t.waitFor(first.body.id, (p) => p.status !== 'running');
  assert.equal(accepted.status, 'completed');

  const lines = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const file = path.join(t.importDir, 'contract-broken.csv');
  fs.writeFileSync(file, lines.map((l, i) => {
    const c = l.split(',');
    if (i > 0) c[4] = Number(c[4]) > 3 ? 'windy' : 'calm'; // wind: numeric -> categories
    return [...c.slice(0, 1), ...c.slice(2)].join(','); // precipitation dropped
  }).join('\n'));
  const second = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'contracted', dataset: { uri: file } }) });
  const rejected = await t.waitFor(second.body.id, (p) => p.status !== 'running');
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.reason, 'validation');
  const errors = rejected.validation.anomalies.filter((a: any) => a.severity === 'error').map((a: any) => `${a.kind}:${a.column}`).sort();
  assert.deepEqual(errors, ['kind_change:wind', 'missing_column:precipitation']);
  assert.equal(rejected.validation.reference.contract, accepted.dataset.hash);
  assert.equal(rejected.validation.reference.previous, accepted.dataset.hash);
});

test('a source that keeps answering 500 ends the pipeline failed with the reason, after retries, and the platform keeps serving', async () => {
  const http = await import('node:http');
  const server = http.createServer((_req, res) => { res.writeHead(503); res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const uri = `http://127.0.0.1:${(server.address() as any).port}/weather.csv`;
    const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-down', dataset: { uri } }) });
    const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /answered 503 Service Unavailable/);
  } finally {
    server.close();
  }
  assert.equal((await t.api('GET', '/healthz', { token: null })).status, 200);
  const next = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'weather-after', approval: { required: false } }) });
  assert.equal((await t.waitFor(next.body.id, (p) => p.status !== 'running')).status, 'completed');
});
