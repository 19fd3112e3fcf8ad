import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inArray, like } from 'drizzle-orm';
import { createPredictionLog, predictionId, type PredictionRow } from '../../api/prediction-log';
import type { Database } from '../../db/client';
import { predictions } from '../../db/schema';
import { openTestDatabase } from '../helpers/database';

let database: Database;
before(async () => { database = await openTestDatabase(); });
after(async () => { await database?.close(); });

const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
const row = (id: string, features: Record<string, unknown> = day): PredictionRow => ({
  id, modelName: 'weather', version: 1, role: 'production', features, output: { value: 1 }, latencyMs: 1, createdAt: new Date(), requestedBy: 'vera',
});
function deeplyNested(depth: number) {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}
const written = async (prefix: string) =>
  (await database.db.select({ id: predictions.id }).from(predictions).where(like(predictions.id, `${prefix}%`))).map((r) => r.id).sort();

test('a NUL, a lone surrogate and an unserializable value are dead-lettered alone, by id, and the log keeps writing', async () => {
  let deadLetters = 0;
  const messages: string[] = [];
  const log = createPredictionLog({
    db: database.db, copyIn: database.copyIn, batchSize: 50, flushIntervalMs: 60_000, onDeadLetter: (n) => { deadLetters += n; }, log: (m) => messages.push(m),
  });
  const secret = 'do-not-log-me';
  log.record([
    ...Array.from({ length: 20 }, (_, i) => row(`isolate-good-${String(i).padStart(2, '0')}`)),
    row('isolate-nul', { ...day, date: `2015-06-01\u0000${secret}` }),
    row('isolate-surrogate', { ...day, date: `\ud800${secret}` }),
    row('isolate-nested', { ...day, date: deeplyNested(200_000) }),
    row('isolate-mega', { ...day, note: 'x'.repeat(1024 * 1024) }),
    ...Array.from({ length: 20 }, (_, i) => row(`isolate-good-${20 + i}`)),
  ]);
  await log.flush();
  assert.equal((await written('isolate-good-')).length, 40, 'every good row around the bad ones is written');
  assert.deepEqual(await written('isolate-mega'), ['isolate-mega'], 'a 1 MB value the database accepts is written');
  assert.equal(deadLetters, 3);
  assert.equal(log.deadLettered, 3);
  assert.equal(log.pending, 0, 'nothing is left holding up the queue');
  for (const id of ['isolate-nul', 'isolate-surrogate', 'isolate-nested']) {
    assert.equal(messages.filter((m) => m.includes(id)).length, 1, `one line names ${id}: ${messages.join('\n')}`);
  }
  assert.ok(!messages.some((m) => m.includes(secret)), 'the content of a refused row is never logged');

  log.record([row('isolate-after')]);
  await log.close();
  assert.deepEqual(await written('isolate-after'), ['isolate-after'], 'and the log goes on writing');
});

test('the prediction log buffer is bounded in bytes as well as rows, dropping the oldest and counting them', async () => {
  const down = await openTestDatabase();
  await down.close();
  let dropped = 0;
  const log = createPredictionLog({ db: down.db, capacity: 10_000, maxBytes: 1024 * 1024, flushIntervalMs: 60_000, onDrop: (n) => { dropped += n; } });
  const big = (i: number) => row(`bytes-${i}`, { ...day, note: 'x'.repeat(200_000) }); // about 400 kB each
  log.record([big(0), big(1)]);
  assert.equal(log.pending, 2);
  log.record([big(2), big(3)]);
  assert.ok(log.pending <= 2, `at most 1 MB is held: ${log.pending} rows`);
  assert.equal(dropped, 4 - log.pending);
  assert.equal(log.dropped, dropped);
  await log.close();
});

test('a refused row in each of several batches costs only that row, and none is written twice', async () => {
  const log = createPredictionLog({ db: database.db, copyIn: database.copyIn, batchSize: 8, flushIntervalMs: 60_000 });
  const ids = Array.from({ length: 30 }, (_, i) => `order-${String(i).padStart(2, '0')}`);
  log.record(ids.map((id, i) => (i % 7 === 3 ? row(id, { ...day, date: '\u0000' }) : row(id))));
  await log.close();
  const expected = ids.filter((_, i) => i % 7 !== 3);
  assert.deepEqual((await database.db.select({ id: predictions.id }).from(predictions).where(inArray(predictions.id, ids))).map((r) => r.id).sort(), expected);
});

/** the database's COPY, counting what it answered */
function countedCopy() {
  const answers: string[] = [];
  const copyIn: Database['copyIn'] = database.copyIn && (async (...args) => {
    const answer = await database.copyIn!(...args);
    answers.push(answer);
    return answer;
  });
  return { copyIn, answers };
}

test('the log writes by COPY, and tabs, newlines, backslashes, quotes and \\N in any column come back as they were sent', async () => {
  const { copyIn, answers } = countedCopy();
  const log = createPredictionLog({ db: database.db, copyIn, flushIntervalMs: 60_000 });
  const hostile = 'tab\there\nnewline\r\\N back\\slash "quoted" \\\t \u00e9\u4e2d\ud83d\ude00 \\.';
  const sent: PredictionRow[] = Array.from({ length: 3 }, (_, i) => ({
    ...row(`copy-text-${i}`, { ...day, [hostile]: hostile, nested: { [hostile]: [hostile, null, 1.5] } }),
    entityKey: hostile, requestedBy: hostile, label: i === 0 ? hostile : null, value: i === 1 ? -0.25 : null, error: i === 2 ? hostile : null,
    shadowOf: i === 2 ? 'copy-text-0' : null, output: { label: hostile, probabilities: { [hostile]: 1 } },
  }));
  log.record(sent);
  await log.close();
  assert.deepEqual(answers, ['written'], 'one COPY took the batch');
  const back = await database.db.select().from(predictions).where(like(predictions.id, 'copy-text-%')).orderBy(predictions.id);
  assert.equal(back.length, 3);
  for (const [i, r] of back.entries()) {
    const s = sent[i];
    assert.deepEqual(
      [r.id, r.modelName, r.version, r.role, r.shadowOf, r.entityKey, r.requestedBy, r.features, r.output, r.label, r.value, r.error, r.latencyMs, r.createdAt.toISOString()],
      [s.id, s.modelName, s.version, s.role, s.shadowOf, s.entityKey, s.requestedBy, s.features, s.output, s.label, s.value, s.error, s.latencyMs, s.createdAt.toISOString()],
    );
  }
});

test('a COPY batch the database refuses (a NUL, an id written before) goes again by insert: the bad row alone is dead-lettered, the repeated id is kept once', async () => {
  const first = createPredictionLog({ db: database.db, copyIn: database.copyIn, flushIntervalMs: 60_000 });
  first.record([row('refused-copy-00')]);
  await first.close();
  const { copyIn, answers } = countedCopy();
  let deadLetters = 0;
  const log = createPredictionLog({ db: database.db, copyIn, flushIntervalMs: 60_000, onDeadLetter: (n) => { deadLetters += n; } });
  const ids = Array.from({ length: 20 }, (_, i) => `refused-copy-${String(i).padStart(2, '0')}`);
  log.record(ids.map((id) => (id === 'refused-copy-07' ? row(id, { ...day, date: '\u0000' }) : row(id))));
  await log.flush();
  log.record([{ ...row('refused-copy-20'), entityKey: 'lone \ud800 surrogate' }]);
  await log.close();
  assert.deepEqual(answers, ['refused'], 'COPY refused the batch whole');
  assert.deepEqual(await written('refused-copy-'), ids.filter((id) => id !== 'refused-copy-07'), 'every other row is written, the repeated one once');
  assert.equal(deadLetters, 2, 'the NUL row and the lone surrogate');
  assert.equal(log.pending, 0);
});

test('prediction ids are UUIDs (version 7) that sort in the order they were made, and never repeat', async () => {
  const first = Array.from({ length: 1000 }, () => predictionId());
  await new Promise((r) => setTimeout(r, 5));
  const later = predictionId();
  for (const id of [...first, later]) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(first).size, first.length);
  assert.ok(first.every((id) => id < later), 'an id made later sorts after the earlier ones');
  const ms = parseInt(later.replace(/-/g, '').slice(0, 12), 16);
  assert.ok(Math.abs(ms - Date.now()) < 60_000, 'its first 48 bits are the time it was made');
});

test('while the database is down, a full buffer keeps the newest rows, drops the oldest one by one, and writes the kept ones in order once it is back', async () => {
  let up = false;
  const switched = { execute: (q: Parameters<typeof database.db.execute>[0]) => (up ? database.db.execute(q) : Promise.reject(new Error('connect ECONNREFUSED'))) };
  let dropped = 0;
  const log = createPredictionLog({ db: switched as unknown as typeof database.db, capacity: 500, batchSize: 100, flushIntervalMs: 60_000, onDrop: (n) => { dropped += n; } });
  const ids = Array.from({ length: 3000 }, (_, i) => `full-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < ids.length; i++) {
    log.record([row(ids[i])]);
    if (i % 250 === 249) await log.flush(); // the database refuses: the batch goes back at the head
  }
  assert.equal(log.pending, 500);
  assert.equal(dropped, 2500);
  up = true;
  await log.close();
  assert.deepEqual(await written('full-'), ids.slice(-500), 'the newest 500 rows are written, none twice, none lost');
});
