/**
 * Every source kind, and every kind of bad input a person sends: each is a clear error, marked
 * non-retryable where retrying cannot help. Real files, a real HTTP server on this machine, a real
 * PostgreSQL query source (the test database).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import { dataContracts, datasets } from '../../db/schema';
import { removeUnusedDatasets } from '../../db/dataset-retention';
import { LocalArtifactStore } from '../../db/artifacts';
import { createDataActivities } from '../../activities/data';
import { testSourcePolicy } from '../helpers/sources';
import { withDuckDb } from '../../activities/duckdb';
import type { Database } from '../../db/client';
import { freePort } from '../../scripts/temporal-dev-server';
import { openTestDatabase } from '../helpers/database';
import { REPO_ROOT, SEATTLE_WEATHER } from '../helpers/platform';

let database: Database & { url?: string };
let dir: string;
let data: ReturnType<typeof createDataActivities>;
let artifacts: LocalArtifactStore;
let server: http.Server;
let base: string;
const sockets = new Set<net.Socket>();

before(async () => {
  database = await openTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-sources-'));
  const sources = testSourcePolicy({
    dataDir: path.join(dir, 'data'), roots: [dir],
    // this file's HTTP server is on 127.0.0.1: test/activities/source-policy.test.ts covers the address checks
    env: { PERENNIAL_SOURCE_TIMEOUT: '1s', PERENNIAL_ALLOW_PRIVATE_SOURCES: 'true', ...(database.url ? { PERENNIAL_SQL_SOURCES: `testdb=${database.url}` } : {}) },
  });
  artifacts = new LocalArtifactStore(path.join(dir, 'artifacts'));
  data = createDataActivities({ db: database.db, artifacts, sources });
  server = http.createServer((req, res) => {
    if (req.url === '/weather.csv') fs.createReadStream(SEATTLE_WEATHER).pipe(res);
    else if (req.url === '/data') { res.setHeader('content-type', 'text/csv'); fs.createReadStream(SEATTLE_WEATHER).pipe(res); }
    else if (req.url === '/broken') { res.writeHead(500); res.end('boom'); }
    else if (req.url === '/never') { /* answers nothing */ }
    else { res.writeHead(404); res.end('no'); }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

async function refused(uri: string, message: RegExp, opts: { retryable?: boolean } = {}) {
  await assert.rejects(data.ingestDataset({ uri }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${err}`);
    assert.match(err.message, message);
    assert.equal(err.nonRetryable, !opts.retryable, opts.retryable ? 'worth retrying' : 'retrying cannot help');
    return true;
  });
}

test('an http(s) source is streamed to the artifact store and versioned by its bytes, like the same file on disk', async () => {
  const fromHttp = await data.ingestDataset({ uri: `${base}/weather.csv` });
  const fromDisk = await data.ingestDataset({ uri: SEATTLE_WEATHER });
  assert.equal(fromHttp.hash, fromDisk.hash);
  assert.equal(fromHttp.rows, 1461);
  const noExtension = await data.ingestDataset({ uri: `${base}/data` });
  assert.equal(noExtension.format, 'csv', 'format sniffed from the content');
});

test('an sql://<name> source with a query is read through postgres.js, and the result is what gets hashed and stored', async (t) => {
  if (!database.url) return t.skip('needs TEST_DATABASE_URL (a PostgreSQL server): PGlite has no network listener');
  await database.db.execute(sql`CREATE TABLE weather_obs AS SELECT * FROM (VALUES
    ('2012-01-01'::date, 0.0::numeric, 12.8::float8, 5.0::float8, 4.7::float8, 'drizzle'),
    ('2012-01-02'::date, 10.9::numeric, 10.6::float8, 2.8::float8, 4.5::float8, 'rain'),
    ('2012-01-03'::date, 0.8::numeric, 11.7::float8, 7.2::float8, 2.3::float8, 'rain')) AS t(date, precipitation, temp_max, temp_min, wind, weather)`);
  const query = 'SELECT * FROM weather_obs ORDER BY date';
  const a = await data.ingestDataset({ uri: 'sql://testdb', query });
  assert.equal(a.rows, 3);
  assert.equal(a.format, 'ndjson');
  assert.deepEqual(a.columns.map((c) => [c.name, c.kind]), [['date', 'datetime'], ['precipitation', 'numeric'], ['temp_max', 'numeric'],
    ['temp_min', 'numeric'], ['wind', 'numeric'], ['weather', 'categorical']]);
  const b = await data.ingestDataset({ uri: 'sql://testdb', query });
  assert.equal(b.hash, a.hash, 'the same result is the same dataset version');
  await assert.rejects(data.ingestDataset({ uri: 'sql://testdb', query: 'SELECT * FROM no_such_table' }),
    (err: ApplicationFailure) => err.nonRetryable && /The dataset query failed: relation "no_such_table" does not exist/.test(err.message));
});

test('CSV delimiter and header are sniffed, and the csv options override them', async () => {
  const semicolons = file('semicolon.csv', fs.readFileSync(SEATTLE_WEATHER, 'utf8').replaceAll(',', ';'));
  const sniffed = await data.ingestDataset({ uri: semicolons });
  assert.equal(sniffed.columns.length, 6);
  const noHeader = file('no-header.csv', fs.readFileSync(SEATTLE_WEATHER, 'utf8').split('\n').slice(1).join('\n'));
  const forced = await data.ingestDataset({ uri: noHeader, csv: { header: false, delimiter: ',' } });
  assert.equal(forced.rows, 1461);
  assert.equal(forced.columns[0].name, 'column0');
});

test('bad input: inf, -inf, NaN and sentinel magnitudes in a numeric column are counted as missing; the rest is profiled', async () => {
  const huge = file('huge.csv', 'a,b\n1,1e308\n2,1.7e308\n3,-1e308\n4,2.5\n5,3.5\n');
  const nonFinite = path.join(dir, 'non-finite.parquet');
  await withDuckDb((conn) => conn.run(`COPY (SELECT * FROM (VALUES (1, 'inf'::DOUBLE), (2, '-inf'::DOUBLE), (3, 'nan'::DOUBLE), (4, 2.5), (5, 3.5)) t(a, b))
    TO '${nonFinite}' (FORMAT parquet)`));
  for (const uri of [huge, nonFinite]) {
    const version = await data.ingestDataset({ uri });
    const [row] = await database.db.select().from(datasets).where(eq(datasets.hash, version.hash));
    const b = row.statistics.columns.find((c) => c.name === 'b')!;
    assert.equal(b.kind, 'numeric', uri);
    assert.equal(b.count, 2);
    assert.equal(b.missing, 3);
    assert.equal(b.min, 2.5);
    assert.equal(b.max, 3.5);
    assert.equal(b.mean, 3);
  }
});

test('bad input: an empty file', () => refused(file('empty.csv', ''), /Dataset is empty \(0 bytes\)/));
test('bad input: a file that does not exist', () => refused(path.join(dir, 'no-such-file.csv'), /Dataset not found: .*no-such-file\.csv/));
test('bad input: ragged rows name the line', () =>
  refused(file('ragged.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8,9\n'), /ragged\.csv has ragged rows: line 3 has 2 fields, line 1 has 3/));
test('bad input: bytes that are not UTF-8', () =>
  refused(file('latin1.csv', Buffer.concat([Buffer.from('city,temp\n'), Buffer.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e]), Buffer.from(',12\n')])),
    /latin1\.csv is not UTF-8 text: re-save it as UTF-8/));
test('bad input: binary garbage named .csv', () =>
  refused(file('garbage.csv', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))), /is binary, not CSV text/));
test('bad input: a truncated Parquet file', async () => {
  const full = path.join(dir, 'full.parquet');
  await withDuckDb((conn) => conn.run(`COPY (SELECT * FROM read_csv('${SEATTLE_WEATHER}')) TO '${full}' (FORMAT parquet)`));
  const bytes = fs.readFileSync(full);
  await refused(file('truncated.parquet', bytes.subarray(0, Math.floor(bytes.length / 2))), /Could not read .*truncated\.parquet as parquet/);
});
test('bad input: an HTML page named .csv (an error or sign-in page in its place)', () =>
  refused(file('page.csv', '<!DOCTYPE html>\n<html><body><p>Please sign in</p></body></html>\n'), /page\.csv is an HTML page, not CSV text/));
test('bad input: a reader error names the file as given, never where the artifact store keeps it', async () => {
  await assert.rejects(data.ingestDataset({ uri: file('broken.jsonl', '{"a":1}\n{"a":\n{"a":3}\n') }), (err: unknown) => {
    assert.match((err as Error).message, /Could not read .*broken\.jsonl as ndjson: Malformed JSON in file ".*broken\.jsonl"/);
    assert.doesNotMatch((err as Error).message, /artifacts\/datasets/);
    return true;
  });
});
test('bad input: a JSON file that is one object, not records', () =>
  refused(file('object.json', JSON.stringify({ data: [{ a: 1 }, { a: 2 }], meta: { source: 'x' } }, null, 2)), /is one JSON object, not records/));
test('bad input: a header with an empty column name', () =>
  refused(file('empty-name.csv', 'date,,temp\n2012-01-01,1,2\n'), /the header has an empty column name \(column 2\)/));
test('bad input: a header that names a column twice', () =>
  refused(file('dupe-name.csv', 'date,temp,temp\n2012-01-01,1,2\n'), /the header names a column twice: temp/));
test('bad input: a URL that answers 404 is not retried', () => refused(`${base}/missing.csv`, /answered 404/));
test('bad input: a URL that answers 500 is retried', () => refused(`${base}/broken`, /answered 500/, { retryable: true }));
test('bad input: a URL that never answers times out and is retried', () => refused(`${base}/never`, /no answer within 1 s/, { retryable: true }));
test('bad input: a refused connection is not retried', async () => refused(`http://127.0.0.1:${await freePort()}/x.csv`, /connection refused/));
test('bad input: an unsupported URI scheme', () => refused('s3://bucket/key.csv', /dataset\.uri: use dataset:\/\/<hash>, a path or file:\/\/ inside PERENNIAL_IMPORT_ROOTS/));

test('a file that cannot be read as its format leaves nothing in the artifact store', async () => {
  const storedFiles = () => (fs.existsSync(path.join(dir, 'artifacts/datasets')) ? fs.readdirSync(path.join(dir, 'artifacts/datasets')) : []);
  const before = storedFiles();
  await refused(file('not-records.json', JSON.stringify({ data: [{ a: 3 }, { a: 4 }], meta: { source: 'y' } }, null, 2)), /is one JSON object, not records/);
  await refused(file('garbage-again.csv', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7907) % 256))), /is binary, not CSV text/);
  assert.deepEqual(storedFiles(), before);
});

test('dataset versions nothing uses are removed after the retention period, row and bytes; a version a contract holds stays', async () => {
  const unused = await data.ingestDataset({ uri: file('unused.csv', 'a,b\n1,2\n3,4\n') });
  const held = await data.ingestDataset({ uri: file('held.csv', 'a,b\n5,6\n7,8\n') });
  await database.db.insert(dataContracts).values({ modelName: 'retention-test', referenceHash: held.hash, previousHash: held.hash, columns: [] });
  assert.deepEqual(await removeUnusedDatasets(database.db, artifacts, 24 * 3600 * 1000), [], 'nothing is older than a day');

  const removed = await removeUnusedDatasets(database.db, artifacts, 0);
  assert.ok(removed.includes(unused.hash));
  assert.ok(!removed.includes(held.hash));
  assert.equal((await database.db.select().from(datasets).where(eq(datasets.hash, unused.hash))).length, 0);
  assert.equal(await artifacts.exists(unused.artifactKey), false);
  assert.equal(await artifacts.exists(held.artifactKey), true);
  // the same bytes again are registered anew
  const again = await data.ingestDataset({ uri: file('unused.csv', 'a,b\n1,2\n3,4\n') });
  assert.equal(again.hash, unused.hash);
  assert.equal(again.deduplicated, false);
});

test('the 3-million-row flights file is ingested and profiled in one stage, with the right row count and mean delay', async () => {
  const flights = path.join(REPO_ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
  const version = await data.ingestDataset({ uri: flights });
  assert.equal(version.rows, 3_000_000);
  assert.equal(version.format, 'parquet');
  const [truth] = await withDuckDb(async (conn) => (await conn.runAndReadAll(`SELECT avg(delay)::DOUBLE AS mean FROM read_parquet('${flights}')`)).getRowObjectsJS());
  const [row] = (await database.db.execute(sql`SELECT statistics FROM datasets WHERE hash = ${version.hash}`) as any).rows ?? await database.db.execute(sql`SELECT statistics FROM datasets WHERE hash = ${version.hash}`);
  const stats = (row.statistics ?? row[0]?.statistics);
  const delay = stats.columns.find((c: any) => c.name === 'delay');
  assert.ok(Math.abs(delay.mean - Number(truth.mean)) < 1e-9, `${delay.mean} vs ${truth.mean}`);
  assert.equal(delay.count, 3_000_000);
  assert.equal(delay.histogram.counts.reduce((a: number, b: number) => a + b, 0), 3_000_000);
  const origin = stats.columns.find((c: any) => c.name === 'origin');
  assert.equal(origin.top.length, 20);
});
