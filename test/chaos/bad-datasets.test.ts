/**
 * Chaos 8: a corpus of bad datasets, all sent as pipelines over HTTP at once. Each ends with its own
 * named error (refused at the door, or rejected at ingest or validation), nothing crashes or retries
 * forever, and a good pipeline afterwards trains, as if nothing had happened.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { withDuckDb } from '../../activities/duckdb';
import { SEATTLE_WEATHER, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { report, waitAll } from './report';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ PERENNIAL_RATE_LIMIT: '0' });
  await t.allowUnapproved('corpus-good');
});
after(async () => { await t?.stop(); });

const weatherLines = () => fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');

/** name -> [file contents (or a URI as is), what the user must be told] */
async function corpus(dir: string): Promise<{ kind: string; uri: string; expect: RegExp }[]> {
  const file = (name: string, bytes: string | Buffer) => { const p = path.join(dir, name); fs.writeFileSync(p, bytes); return p; };
  const full = path.join(dir, 'full.parquet');
  await withDuckDb((conn) => conn.run(`COPY (SELECT * FROM read_csv('${SEATTLE_WEATHER}')) TO '${full}' (FORMAT parquet)`));
  const parquet = fs.readFileSync(full);
  const lines = weatherLines();
  return [
    { kind: 'an empty file', uri: file('empty.csv', ''), expect: /Dataset is empty \(0 bytes\)/ },
    { kind: 'a file that does not exist', uri: path.join(dir, 'missing.csv'), expect: /Dataset not found: .*missing\.csv/ },
    { kind: 'ragged rows', uri: file('ragged.csv', 'a,b,weather\n1,2,sun\n4,5\n6,7,8,9\n'), expect: /has ragged rows: line 3 has 2 fields/ },
    { kind: 'bytes that are not UTF-8', uri: file('latin1.csv', Buffer.concat([Buffer.from('city,weather\n'), Buffer.from([0x4d, 0xfc, 0x6e]), Buffer.from(',sun\n')])), expect: /is not UTF-8 text/ },
    { kind: 'binary garbage named .csv', uri: file('garbage.csv', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))), expect: /is binary, not CSV text/ },
    { kind: 'a truncated Parquet file', uri: file('truncated.parquet', parquet.subarray(0, Math.floor(parquet.length / 2))), expect: /Could not read [^"]*truncated\.parquet as parquet: No magic bytes found at end of file '[^']*truncated\.parquet'/ },
    { kind: 'a JSON object, not records', uri: file('object.json', JSON.stringify({ data: [{ weather: 'sun' }, { weather: 'rain' }], meta: { source: 'x' } }, null, 2)), expect: /is one JSON object, not records/ },
    { kind: 'a header with an empty column name', uri: file('empty-name.csv', 'date,,weather\n2012-01-01,1,sun\n'), expect: /empty column name \(column 2\)/ },
    { kind: 'a header naming a column twice', uri: file('dupe.csv', 'date,weather,weather\n2012-01-01,sun,rain\n'), expect: /names a column twice: weather/ },
    { kind: 'a header and no rows', uri: file('header-only.csv', `${lines[0]}\n`), expect: /no_rows/ },
    { kind: 'no target column', uri: file('no-target.csv', lines.map((l) => l.split(',').slice(0, 5).join(',')).join('\n')), expect: /target_missing/ },
    { kind: 'a feature entirely null', uri: file('null-wind.csv', lines.map((l, i) => { const c = l.split(','); c[4] = i === 0 ? 'wind' : ''; return c.join(','); }).join('\n')), expect: /all_null/ },
    { kind: 'a nested list feature', uri: file('nested.jsonl', lines.slice(1, 100).map((l) => { const [date, p, tmax, tmin, wind, weather] = l.split(','); return JSON.stringify({ date, p: +p, tmax: +tmax, tmin: +tmin, wind: +wind, readings: [+tmin, +tmax], weather }); }).join('\n')), expect: /unsupported_type/ },
    { kind: 'a broken NDJSON line', uri: file('broken.jsonl', '{"weather":"sun","t":1}\n{"weather":"rain","t":\n{"weather":"fog","t":3}\n'), expect: /Could not read [^"]*broken\.jsonl as ndjson: Malformed JSON in file \\"[^"]*broken\.jsonl\\"/ },
    { kind: 'a CSV that is really HTML', uri: file('page.csv', '<!DOCTYPE html><html><body><table><tr><td>weather</td></tr></table></body></html>\n'), expect: /page\.csv is an HTML page, not CSV text/ },
    { kind: 'a target with a single class', uri: file('one-class.csv', lines.filter((l, i) => i === 0 || l.endsWith(',sun')).join('\n')), expect: /single_class/ },
  ];
}

/** refused at the door: these never start a pipeline */
const atTheDoor = [
  { kind: 'an unsupported URI scheme', uri: 's3://bucket/key.csv', expect: /use dataset:\/\/<hash>, a path or file:\/\/ inside PERENNIAL_IMPORT_ROOTS/ },
  { kind: 'a path outside the import roots', uri: '/etc/passwd', expect: /PERENNIAL_IMPORT_ROOTS/ },
  { kind: 'a path that climbs out with ..', uri: 'node_modules/vega-datasets/data/../../../../etc/passwd', expect: /PERENNIAL_IMPORT_ROOTS/ },
];

/** what a user reads of a pipeline that did not complete */
const told = (p: any) => JSON.stringify({ error: p.error, reason: p.reason, anomalies: p.validation?.anomalies?.filter((a: any) => a.severity === 'error') });

test('at least 15 kinds of bad dataset each end with a named error, and a good pipeline runs afterwards', async () => {
  const cases = await corpus(t.importDir);
  const refusedAtDoor = [];
  for (const c of atTheDoor) {
    const res = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'corpus', dataset: { uri: c.uri } }) });
    assert.equal(res.status, 400, `${c.kind}: ${JSON.stringify(res.body)}`);
    assert.match(JSON.stringify(res.body), c.expect, c.kind);
    assert.doesNotMatch(JSON.stringify(res.body), /\n\s+at |node_modules/, `${c.kind}: no stack trace`);
    refusedAtDoor.push(c.kind);
  }
  const started = await Promise.all(cases.map(async (c, i) => {
    const res = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: `corpus-${i}`, dataset: { uri: c.uri } }) });
    assert.equal(res.status, 202, `${c.kind}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }));
  const ended = await waitAll(t, started, (p) => !['running', 'awaiting_approval'].includes(p.status));
  const outcomes = ended.map((p, i) => ({ kind: cases[i].kind, status: p.status, told: told(p) }));
  if (process.env.CHAOS_VERBOSE) for (const o of outcomes) console.log(o.kind, o.status, o.told);
  // told in words, with no stack trace, and nothing of where the server keeps its files
  const wrong = outcomes.filter((o, i) => o.status === 'completed' || !cases[i].expect.test(o.told) || /\n\s+at |\bat .*\.ts:\d+|artifacts\/datasets/.test(o.told));
  assert.deepEqual(wrong, [], 'every bad dataset ends without a model, told why');
  const good = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'corpus-good', approval: { required: false } }) });
  const [done] = await waitAll(t, [good.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'completed', told(done));
  report('bad datasets, then a good pipeline', {
    kinds: cases.length + atTheDoor.length, refusedAtDoor: refusedAtDoor.length, rejected: outcomes.length,
    goodPipeline: done.status, byOutcome: Object.fromEntries(outcomes.map((o) => [o.kind, o.status])),
  });
});
