/**
 * Each anomaly kind on a generated variant of seattle-weather, held by the real ingest and validate
 * activities (DuckDB, the artifact store, the test database) against the contract that the
 * unchanged file set for the model.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { LocalArtifactStore } from '../../db/artifacts';
import { createDataActivities } from '../../activities/data';
import { testSourcePolicy } from '../helpers/sources';
import type { Anomaly } from '../../common/pipeline-status';
import type { ValidationOptions } from '../../common/pipeline-request';
import type { Database } from '../../db/client';
import { dataContracts, datasets } from '../../db/schema';
import { openTestDatabase } from '../helpers/database';
import { SEATTLE_WEATHER } from '../helpers/platform';

let database: Database;
let dir: string;
let data: ReturnType<typeof createDataActivities>;
const [header, ...rows] = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n').map((l) => l.split(','));
const col = (name: string) => header.indexOf(name);

before(async () => {
  database = await openTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-validation-'));
  data = createDataActivities({
    db: database.db, artifacts: new LocalArtifactStore(path.join(dir, 'artifacts')), sources: testSourcePolicy({ dataDir: path.join(dir, 'data'), roots: [dir] }),
  });
});
after(async () => {
  await database?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** seattle-weather with the header and rows changed by `change` */
function variant(change: (h: string[], r: string[][]) => [string[], string[][]]): string {
  const [h, r] = change([...header], rows.map((x) => [...x]));
  const file = path.join(dir, `variant-${++n}.csv`);
  fs.writeFileSync(file, [h, ...r].map((x) => x.join(',')).join('\n') + '\n');
  return file;
}

async function validate(model: string, uri: string, options: Partial<ValidationOptions> = {}) {
  const dataset = await data.ingestDataset({ uri });
  return data.validateDataset({ model, dataset, target: 'weather', options });
}

/** a model whose contract the unchanged file has set, then the variant held against it */
async function againstContract(model: string, file: string, options: Partial<ValidationOptions> = {}) {
  const first = await validate(model, SEATTLE_WEATHER);
  assert.equal(first.passed, true, JSON.stringify(first.anomalies));
  return validate(model, file, options);
}

const kinds = (anomalies: Anomaly[]) => anomalies.map((a) => `${a.severity}:${a.kind}:${a.column ?? ''}`).sort();

test('the first accepted dataset sets the model contract; the same data again passes cleanly', async () => {
  const report = await againstContract('contract', SEATTLE_WEATHER);
  assert.equal(report.passed, true);
  assert.deepEqual(report.anomalies, []);
  const [contract] = await database.db.select().from(dataContracts).where(eq(dataContracts.modelName, 'contract'));
  const columns = contract.columns as any[];
  assert.deepEqual(columns.map((c) => [c.name, c.kind]), [['date', 'datetime'], ['precipitation', 'numeric'], ['temp_max', 'numeric'],
    ['temp_min', 'numeric'], ['wind', 'numeric'], ['weather', 'categorical']]);
  assert.deepEqual(columns.find((c) => c.name === 'weather').categories.sort(), ['drizzle', 'fog', 'rain', 'snow', 'sun']);
  assert.equal(columns.find((c) => c.name === 'temp_max').max, 35.6);
  assert.equal(report.reference.contract, contract.referenceHash);
});

test('the same bytes are stored once: ingesting a file twice gives one dataset version', async () => {
  const a = await data.ingestDataset({ uri: SEATTLE_WEATHER });
  const b = await data.ingestDataset({ uri: `file://${SEATTLE_WEATHER}` });
  assert.equal(a.hash, b.hash);
  assert.equal(b.deduplicated, true);
  const stored = await database.db.select().from(datasets).where(eq(datasets.hash, a.hash));
  assert.equal(stored.length, 1);
});

test('a dataset whose stored file was lost is stored again from the same bytes, and validates', async () => {
  const file = variant((h, r) => [h, r.slice(0, 400)]);
  const first = await data.ingestDataset({ uri: file });
  fs.rmSync(await new LocalArtifactStore(path.join(dir, 'artifacts')).localPath(first.artifactKey));
  const again = await data.ingestDataset({ uri: file });
  assert.equal(again.hash, first.hash);
  assert.equal(again.deduplicated, true);
  assert.ok(fs.existsSync(await new LocalArtifactStore(path.join(dir, 'artifacts')).localPath(again.artifactKey)));
  const report = await data.validateDataset({ model: 'lost-file', dataset: again, target: 'weather', options: {} });
  assert.equal(report.passed, true, JSON.stringify(report.anomalies));
});

test('missing_column: a contract column that is gone is an error', async () => {
  const r = await againstContract('m-missing', variant((h, rs) => [h.filter((_, i) => i !== col('wind')), rs.map((x) => x.filter((_, i) => i !== col('wind')))]));
  assert.equal(r.passed, false);
  assert.deepEqual(kinds(r.anomalies), ['error:missing_column:wind']);
});

test('new_column: a column the contract does not have is a warning', async () => {
  const r = await againstContract('m-new', variant((h, rs) => [[...h, 'humidity'], rs.map((x, i) => [...x, String(50 + (i % 40))])]));
  assert.equal(r.passed, true);
  assert.deepEqual(kinds(r.anomalies), ['warning:new_column:humidity']);
});

test('kind_change: a numeric column that turns into categories is an error naming both kinds', async () => {
  const r = await againstContract('m-kind', variant((h, rs) => [h, rs.map((x) => { x[col('wind')] = Number(x[col('wind')]) > 3 ? 'windy' : 'calm'; return x; })]));
  assert.equal(r.passed, false);
  const a = r.anomalies.find((x) => x.kind === 'kind_change')!;
  assert.equal(a.column, 'wind');
  assert.equal(a.expected, 'numeric');
  assert.equal(a.observed, 'categorical');
});

test('unseen_categories: more than 5 % of rows in categories the contract never saw is an error', async () => {
  const r = await againstContract('m-unseen', variant((h, rs) => [h, rs.map((x, i) => { if (i % 10 === 0) x[col('weather')] = 'hail'; return x; })]));
  assert.equal(r.passed, false);
  const a = r.anomalies.find((x) => x.kind === 'unseen_categories')!;
  assert.equal(a.column, 'weather');
  assert.deepEqual(a.observed, ['hail']);
});

test('missing_rate: a column far more often missing than in the contract is an error', async () => {
  const r = await againstContract('m-missing-rate', variant((h, rs) => [h, rs.map((x, i) => { if (i % 3 === 0) x[col('temp_min')] = ''; return x; })]));
  assert.equal(r.passed, false);
  const a = r.anomalies.find((x) => x.kind === 'missing_rate')!;
  assert.equal(a.column, 'temp_min');
  assert.ok((a.observed as number) > 0.3);
  assert.equal(a.expected, 0);
});

test('out_of_range: many values beyond the contract range are a warning with observed and expected ranges', async () => {
  const r = await againstContract('m-range', variant((h, rs) => [h, rs.map((x, i) => { if (i % 10 === 0) x[col('temp_max')] = String(Number(x[col('temp_max')]) + 40); return x; })]));
  assert.equal(r.passed, true);
  const a = r.anomalies.find((x) => x.kind === 'out_of_range')!;
  assert.equal(a.column, 'temp_max');
  assert.deepEqual(a.expected, { min: -1.6, max: 35.6 });
});

test('row_count: a version ten times smaller than the previous one is a warning', async () => {
  const r = await againstContract('m-rows', variant((h, rs) => [h, rs.slice(0, 100)]));
  assert.ok(r.anomalies.some((x) => x.kind === 'row_count' && x.observed === 100 && x.expected === 1461), JSON.stringify(r.anomalies));
});

test('duplicate_rows: repeated rows above the share are a warning, and the threshold can be overridden', async () => {
  const file = variant((h, rs) => [h, [...rs, ...rs.slice(0, 200)]]);
  const r = await validate('m-dupes', file);
  assert.deepEqual(kinds(r.anomalies), ['warning:duplicate_rows:']);
  assert.match(r.anomalies[0].message, /^200 rows \(12\.0 %\) repeat an earlier row exactly\.$/);
  const relaxed = await validate('m-dupes-relaxed', file, { duplicateRowShare: 0.5 });
  assert.deepEqual(relaxed.anomalies, []);
});

test('constant: a feature with a single value is a warning', async () => {
  const r = await validate('m-constant', variant((h, rs) => [h, rs.map((x) => { x[col('precipitation')] = '0'; return x; })]));
  assert.deepEqual(kinds(r.anomalies), ['warning:constant:precipitation']);
});

test('target_all_null: a target with no values is an error', async () => {
  const r = await validate('m-target-null', variant((h, rs) => [h, rs.map((x) => { x[col('weather')] = ''; return x; })]));
  assert.equal(r.passed, false);
  assert.ok(r.anomalies.some((x) => x.kind === 'target_all_null' && x.column === 'weather'), JSON.stringify(r.anomalies));
});

test('target_classes_disappeared: classes the previous version had that are gone are an error naming them', async () => {
  const r = await againstContract('m-classes', variant((h, rs) => [h, rs.filter((x) => !['snow', 'drizzle'].includes(x[col('weather')]))]));
  assert.equal(r.passed, false);
  const a = r.anomalies.find((x) => x.kind === 'target_classes_disappeared')!;
  assert.match(a.message, /drizzle, snow|snow, drizzle/);
});

test('drift: a shifted numeric column has a PSI above the threshold (warning, or error with failOnDrift)', async () => {
  const file = variant((h, rs) => [h, rs.map((x) => { x[col('temp_min')] = String(Number(x[col('temp_min')]) + 6); return x; })]);
  const r = await againstContract('m-drift', file);
  const a = r.anomalies.find((x) => x.kind === 'drift' && x.column === 'temp_min')!;
  assert.equal(a.severity, 'warning');
  assert.ok((a.observed as number) > 0.25);
  assert.equal(r.passed, true);
  const strict = await againstContract('m-drift-strict', file, { failOnDrift: true });
  assert.equal(strict.passed, false);
  assert.deepEqual((await validate('m-drift', file)).anomalies.filter((x) => x.kind === 'drift'), [],
    'an accepted version becomes the previous one: the same data again has not drifted');
  assert.equal(strict.anomalies.find((x) => x.kind === 'drift' && x.column === 'temp_min')!.severity, 'error');
});

test('drift: a shifted categorical column has a Jensen-Shannon distance above the threshold', async () => {
  const r = await againstContract('m-drift-cat', variant((h, rs) => [h, rs.map((x, i) => { if (x[col('weather')] === 'rain' && i % 5) x[col('weather')] = 'sun'; return x; })]));
  const a = r.anomalies.find((x) => x.kind === 'drift' && x.column === 'weather')!;
  assert.ok(a, JSON.stringify(r.anomalies));
  assert.ok((a.observed as number) > 0.2);
});

test('every anomaly is reported, not only the first', async () => {
  const r = await againstContract('m-many', variant((h, rs) => {
    const keep = h.map((_, i) => i).filter((i) => i !== col('precipitation'));
    return [[...keep.map((i) => h[i]), 'station'], rs.map((x) => { x[col('wind')] = 'gusty'; return [...keep.map((i) => x[i]), 'KSEA']; })];
  }));
  assert.equal(r.passed, false);
  assert.deepEqual(kinds(r.anomalies).filter((k) => !k.includes('constant')),
    ['error:kind_change:wind', 'error:missing_column:precipitation', 'warning:new_column:station']);
});
