/**
 * POST /v1/datasets: a file uploaded as the raw body is registered as ingest would (hashed, stored,
 * profiled), and a pipeline names it as dataset://<hash>. Uploads stream under their own limit.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SEATTLE_WEATHER, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

const MAX_UPLOAD = 100_000;
let t: TestPlatform;
// a global body limit far below the file's size: uploads are not held to it
before(async () => {
  t = await startTestPlatform({ PERENNIAL_MAX_UPLOAD_BYTES: String(MAX_UPLOAD), PERENNIAL_MAX_BODY_BYTES: '4096' });
  await t.allowUnapproved('weather-upload');
});
after(async () => { await t?.stop(); });

const seattle = fs.readFileSync(SEATTLE_WEATHER);

async function upload(body: NonNullable<RequestInit['body']>, query = 'name=seattle&format=csv', token = t.adminToken, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/v1/datasets?${query}`, {
    method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', ...headers }, duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const uploadsLeft = () => {
  const dir = path.join(t.dataDir, 'uploads');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

test('an uploaded CSV is registered and profiled (201, dataset://<hash>); the same bytes again are the same version (200)', async () => {
  const first = await upload(seattle);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const hash = crypto.createHash('sha256').update(seattle).digest('hex');
  assert.equal(first.body.hash, hash);
  assert.equal(first.body.uri, `dataset://${hash}`);
  assert.equal(first.body.rows, 1461);
  assert.equal(first.body.format, 'csv');
  assert.equal(first.body.sourceUri, 'upload:seattle');
  assert.equal(first.body.schema.length, 6);
  const again = await upload(seattle, 'name=seattle-again&format=csv');
  assert.equal(again.status, 200);
  assert.equal(again.body.hash, hash);
  assert.deepEqual(uploadsLeft(), [], 'the temporary file is removed');
});

test('a pipeline naming dataset://<hash> trains on the uploaded version', async () => {
  const { body } = await upload(seattle);
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'weather-upload', dataset: { uri: body.uri }, approval: { required: false } }),
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'completed', JSON.stringify(done.validation ?? done.error));
  assert.equal(done.dataset.hash, body.hash);
  assert.equal(done.dataset.deduplicated, true);
});

test('a dataset:// that is not in the registry is a 400 "unknown dataset"; a malformed hash is a 400 naming the format', async () => {
  const unknown = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ dataset: { uri: `dataset://${'0'.repeat(64)}` } }) });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.code, 'unknown_dataset');
  assert.match(unknown.body.error.message, /unknown dataset/);
  const malformed = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ dataset: { uri: 'dataset://1234' } }) });
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.error.message, /64 lowercase hex digits/);
});

test('an upload over PERENNIAL_MAX_UPLOAD_BYTES is a 413 and leaves no file, whether its length is declared or streamed', async () => {
  const big = Buffer.concat([seattle, seattle, seattle]);
  assert.ok(big.length > MAX_UPLOAD);
  const declared = await upload(big);
  assert.equal(declared.status, 413);
  assert.equal(declared.body.error.code, 'payload_too_large');
  assert.match(declared.body.error.message, /PERENNIAL_MAX_UPLOAD_BYTES/);
  const streamed = await upload(new ReadableStream({
    start(controller) {
      for (let i = 0; i < big.length; i += 16_384) controller.enqueue(big.subarray(i, i + 16_384));
      controller.close();
    },
  }));
  assert.equal(streamed.status, 413);
  assert.deepEqual(uploadsLeft(), []);
});

test('a JSON file sent as application/json is streamed as a file (not parsed as a request, nor held to the body limit)', async () => {
  const cars = JSON.stringify(JSON.parse(fs.readFileSync(path.join(path.dirname(SEATTLE_WEATHER), 'cars.json'), 'utf8')).slice(0, 100));
  assert.ok(cars.length > 4096, 'larger than this platform\'s PERENNIAL_MAX_BODY_BYTES');
  const res = await upload(cars, 'name=cars&format=json', t.adminToken, { 'content-type': 'application/json' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.rows, 100);
});

test('a file that is not the format it claims is a 422 that says why', async () => {
  const garbage = await upload(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), 'name=garbage&format=csv');
  assert.equal(garbage.status, 422);
  assert.equal(garbage.body.error.code, 'invalid_dataset');
  assert.match(garbage.body.error.message, /the upload is binary, not CSV text/);
  const notParquet = await upload(Buffer.concat([seattle, Buffer.from('2016-01-01,0,1,1,1,sun\n')]), 'name=not-parquet&format=parquet');
  assert.equal(notParquet.status, 422);
  assert.match(notParquet.body.error.message, /not a Parquet file/);
  assert.deepEqual(uploadsLeft(), []);
});

test('the label and format are checked: no control characters, at most 200 characters, a known format', async () => {
  for (const query of ['name=a%0Ab&format=csv', `name=${'x'.repeat(201)}&format=csv`, 'name=x&format=xlsx', 'format=csv']) {
    const res = await upload(seattle, query);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.error.code, 'invalid_request');
  }
});

test('a viewer may not upload (403), and nothing is written', async () => {
  const viewer = await t.createKey('upload-viewer', 'viewer');
  const res = await upload(seattle, 'name=x&format=csv', viewer);
  assert.equal(res.status, 403);
  assert.deepEqual(uploadsLeft(), []);
});
