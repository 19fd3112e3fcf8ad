/**
 * The source policy through the API: what a request names is refused with a 400 that names the
 * rule (and never shows what it refused); what only the worker can know (DNS, a database's
 * answer) ends the pipeline rejected for `validation`. SQL sources run READ ONLY on a database of
 * this test's own, on the PostgreSQL server of TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { SEATTLE_WEATHER, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let server: http.Server;
let port: number;
/** the database behind sql://warehouse, when TEST_DATABASE_URL names a server */
let warehouse: { url: string; sql: postgres.Sql; drop(): Promise<void> } | undefined;

async function createWarehouse(serverUrl: string) {
  const name = `perennial_warehouse_${crypto.randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await sql`CREATE TABLE obs (precipitation float8, temp_max float8, temp_min float8, wind float8, weather text)`;
  await sql`INSERT INTO obs SELECT (i % 7)::float8, 10 + (i % 13), (i % 5)::float8, (i % 3)::float8, CASE WHEN i % 2 = 0 THEN 'rain' ELSE 'sun' END
    FROM generate_series(1, 300) AS i`;
  return {
    url: url.toString(), sql,
    async drop() {
      await sql.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

before(async () => {
  if (process.env.TEST_DATABASE_URL) warehouse = await createWarehouse(process.env.TEST_DATABASE_URL);
  t = await startTestPlatform(warehouse ? { PERENNIAL_SQL_SOURCES: `warehouse=${warehouse.url}` } : {});
  server = http.createServer((_req, res) => { res.setHeader('content-type', 'text/csv'); fs.createReadStream(SEATTLE_WEATHER).pipe(res); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.stop();
  await warehouse?.drop();
});

async function refused(dataset: Record<string, unknown>, rule: RegExp, secret?: string) {
  const res = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'probe', dataset }) });
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'source_refused');
  assert.match(res.body.error.message, rule);
  if (secret) assert.ok(!JSON.stringify(res.body).includes(secret), 'the refusal shows nothing of what it refused');
  return res.body;
}

test('the admin token file in the data directory is refused with a 400 that does not contain the token', async () => {
  const tokenFile = path.join(t.dataDir, 'admin-token');
  fs.writeFileSync(tokenFile, `${t.adminToken}\n`, { mode: 0o600 });
  await refused({ uri: tokenFile }, /dataset\.uri: the data directory \(PERENNIAL_DATA_DIR\) is never a dataset source/, t.adminToken);
  await refused({ uri: `file://${tokenFile}` }, /data directory/, t.adminToken);
  // a symlink inside an import root that leads into the data directory
  fs.symlinkSync(tokenFile, path.join(t.importDir, 'token.csv'));
  await refused({ uri: path.join(t.importDir, 'token.csv') }, /data directory/, t.adminToken);
});

test('a symlink inside an import root that points to /etc/passwd is refused', async () => {
  fs.symlinkSync('/etc/passwd', path.join(t.importDir, 'passwd.csv'));
  const body = await refused({ uri: path.join(t.importDir, 'passwd.csv') }, /local files are read only inside PERENNIAL_IMPORT_ROOTS/, 'root:');
  assert.deepEqual(body.error.details, [{ field: 'dataset.uri', message: body.error.message }]);
  await refused({ uri: 'file:///etc/passwd' }, /inside PERENNIAL_IMPORT_ROOTS/, 'root:');
  await refused({ uri: 'file://evil/etc/passwd' }, /file:\/\/ URIs name no host/);
});

test('http://127.0.0.1 is refused by default, in odd spellings too; a URL with user:password@ is refused without showing it', async () => {
  for (const uri of [`http://127.0.0.1:${port}/x.csv`, `http://2130706433:${port}/x.csv`, `http://0x7f.1:${port}/x.csv`, 'http://169.254.169.254/latest/meta-data/']) {
    await refused({ uri }, /http\(s\) sources must be public addresses/);
  }
  await refused({ uri: 'https://svc:Sup3rSecret@data.example.com/x.csv' }, /credentials in a URL/, 'Sup3rSecret');
});

test('a host name that resolves to loopback passes the API but is refused by the worker: rejected for validation, naming the rule', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'probe-dns', dataset: { uri: `http://localhost:${port}/x.csv` } }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(done.status, 'rejected');
  assert.equal(done.reason, 'validation');
  assert.match(done.validation.anomalies[0].message, /localhost resolves to a non-public address; http\(s\) sources must be public addresses/);
});

test('PERENNIAL_ALLOW_PRIVATE_SOURCES=true lets a pipeline read from this machine', async () => {
  const open = await startTestPlatform({ PERENNIAL_ALLOW_PRIVATE_SOURCES: 'true' });
  try {
    await open.allowUnapproved('weather-local-http');
    const started = await open.api('POST', '/v1/pipelines', {
      body: weatherRequest({ model: 'weather-local-http', dataset: { uri: `http://127.0.0.1:${port}/weather.csv` }, approval: { required: false } }),
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await open.waitFor(started.body.id, (p) => p.status !== 'running');
    assert.equal(done.status, 'completed', JSON.stringify(done.validation ?? done.error));
    assert.equal(done.dataset.rows, 1461);
  } finally {
    await open.stop();
  }
});

test('postgres:// URIs are a 400 naming sql://<name>; an unknown SQL source name is a 400', async () => {
  await refused({ uri: 'postgres://perennial:perennial@postgres:5432/perennial', query: 'select 1' }, /postgres:\/\/ URIs are not accepted/, 'perennial:perennial');
  await refused({ uri: 'sql://no-such-source', query: 'select 1' }, /the name of a connection configured in PERENNIAL_SQL_SOURCES/);
  await refused({ uri: 's3://bucket/key.csv' }, /use dataset:\/\/<hash>/);
});

test('sql://<name> reads a configured database (PostgreSQL only: skipped without TEST_DATABASE_URL)', async (t2) => {
  if (!warehouse) return t2.skip('needs TEST_DATABASE_URL (a PostgreSQL server) for the SQL source');
  const started = await t.api('POST', '/v1/pipelines', {
    body: { model: 'weather-sql', target: 'weather', dataset: { uri: 'sql://warehouse', query: 'SELECT * FROM obs' }, training: { epochs: 2, hiddenUnits: [8] } },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const ingested = await t.waitFor(started.body.id, (p) => p.status !== 'running' || p.stage !== 'ingest');
  assert.equal(ingested.dataset?.rows, 300, JSON.stringify(ingested.validation ?? ingested.error));
});

test('sql://<name> runs READ ONLY: an insert, a create table and a CTE with an insert are rejected for validation and change nothing (PostgreSQL only: skipped without TEST_DATABASE_URL)', async (t2) => {
  if (!warehouse) return t2.skip('needs TEST_DATABASE_URL (a PostgreSQL server) for the SQL source');
  for (const [i, query] of [
    "INSERT INTO obs VALUES (1, 1, 1, 1, 'x') RETURNING *",
    'CREATE TABLE stolen AS SELECT * FROM obs',
    "WITH k AS (INSERT INTO obs VALUES (2, 2, 2, 2, 'y') RETURNING *) SELECT * FROM k",
  ].entries()) {
    const started = await t.api('POST', '/v1/pipelines', { body: { model: `weather-sql-write-${i}`, target: 'weather', dataset: { uri: 'sql://warehouse', query } } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await t.waitFor(started.body.id, (p) => p.status !== 'running');
    assert.equal(done.status, 'rejected', query);
    assert.equal(done.reason, 'validation');
    assert.match(done.validation.anomalies[0].message, /READ ONLY transaction/, query);
  }
  const [{ n }] = await warehouse.sql`SELECT count(*)::int AS n FROM obs`;
  assert.equal(n, 300);
  const [{ exists }] = await warehouse.sql`SELECT to_regclass('stolen') IS NOT NULL AS exists`;
  assert.equal(exists, false);
});
