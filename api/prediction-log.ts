/**
 * The prediction log, off the request path: predict() hands rows to an in-memory buffer that is
 * written in batches, by COPY where the database has it. When the database is unreachable, serving
 * goes on: the buffer keeps what it can (bounded in rows and in bytes), drops the oldest beyond that,
 * and counts and logs what it dropped. A row the database refuses never holds up the others: a
 * refused batch goes again by an insert that is split until the row is found, and that row alone
 * is dead-lettered.
 */
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client';
import type { predictions } from '../db/schema';

export type PredictionRow = typeof predictions.$inferInsert;

/**
 * A prediction's id: a UUID v7 (RFC 9562), 48 bits of Unix milliseconds and then random bits. Ids
 * made in time order are added at the right-hand end of the primary key's index, where random ones
 * (v4) touch a random page per row: about a third less PostgreSQL CPU per logged prediction
 * (measured with 1,000-row batches). They stay unguessable enough for what they are: labelling one
 * still needs the key that asked for it.
 */
let idMs = -1;
let idPrefix = '';
export function predictionId(): string {
  const random = crypto.randomUUID(); // xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx: from the 4 on, 74 random bits and the variant (Y)
  const now = Date.now();
  if (now !== idMs) { // the time's part, written once a millisecond
    const ms = now.toString(16).padStart(12, '0');
    idMs = now;
    idPrefix = `${ms.slice(0, 8)}-${ms.slice(8)}-7`;
  }
  return idPrefix + random.slice(15);
}

/** a number as JSON, null for one that JSON cannot hold (NaN, Infinity) or none */
const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : 'null');

/**
 * A row as the JSON object the insert unpacks. `output` may come already serialized (the API wrote
 * it for its answer).
 */
export function rowJson(r: PredictionRow, output: string = JSON.stringify(r.output ?? null)): string {
  const q = JSON.stringify;
  return `{"id":${q(r.id)},"model_name":${q(r.modelName)},"version":${num(r.version)},"role":${q(r.role)},`
    + `"shadow_of":${q(r.shadowOf ?? null)},"entity_key":${q(r.entityKey ?? null)},"requested_by":${q(r.requestedBy ?? null)},`
    + `"features":${q(r.features)},"output":${output},"label":${q(r.label ?? null)},"value":${num(r.value)},`
    + `"error":${q(r.error ?? null)},"latency_ms":${num(r.latencyMs)},"created_at":"${r.createdAt.toISOString()}"}`;
}

/**
 * One statement, one parameter: the batch as a JSON array that PostgreSQL unpacks itself. Three to
 * four times the rows per second of a multi-row VALUES with 13 parameters a row (measured on both
 * PGlite and PostgreSQL); COPY (writeBatch) is twice this again, but takes a batch whole or not at
 * all. This insert skips ids already written, and a refused one is split to find the bad row.
 */
async function insertBatch(db: Db, rows: Entry[]) {
  // written here, in one go, not when recorded: the row objects are short-lived garbage either way,
  // but thousands of half-built strings held in the buffer would be promoted and cost the GC more
  let json = '[';
  for (let i = 0; i < rows.length; i++) json += (i ? ',' : '') + rowJson(rows[i].row, rows[i].output);
  json += ']';
  await db.execute(sql`insert into predictions (id, model_name, version, role, shadow_of, entity_key, requested_by, features, output, label, value, error, latency_ms, created_at)
    select * from jsonb_to_recordset(${json}::jsonb) as x(id text, model_name text, version int, role text, shadow_of text, entity_key text, requested_by text,
      features jsonb, output jsonb, label text, value float8, error text, latency_ms float8, created_at timestamptz)
    on conflict (id) do nothing`);
}

/** how many rows of a COPY batch are written out between two turns of the event loop */
const COPY_SLICE_ROWS = 100;

/** the log's columns, in the order rowJson and copyLine write them */
export const PREDICTION_COLUMNS = [
  'id', 'model_name', 'version', 'role', 'shadow_of', 'entity_key', 'requested_by', 'features', 'output', 'label', 'value', 'error', 'latency_ms', 'created_at',
] as const;

const copyEscapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
/** a value in COPY's text format: \N for none; backslash, tab, newline and carriage return escaped */
function copyText(v: string | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => copyEscapes[c]) : v;
}
const copyNum = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '\\N');

/** a time as ISO 8601, the last one kept: rows of one batch come many to a millisecond (toISOString costs 0.6 µs) */
let isoMs = NaN;
let isoText = '';
function isoTime(at: Date): string {
  const ms = at.getTime();
  if (ms !== isoMs) { isoMs = ms; isoText = at.toISOString(); }
  return isoText;
}
const wellFormed = (v: string | null | undefined) => typeof v !== 'string' || v.isWellFormed();

/**
 * A row as one line of COPY's text format, the columns of PREDICTION_COLUMNS. A string that is not
 * well-formed UTF-16 (a lone surrogate) is refused as the JSON insert refuses it, not quietly mended.
 */
export function copyLine(r: PredictionRow, output: string = JSON.stringify(r.output ?? null)): string {
  if (!(wellFormed(r.modelName) && wellFormed(r.role) && wellFormed(r.shadowOf) && wellFormed(r.entityKey) && wellFormed(r.requestedBy) && wellFormed(r.label) && wellFormed(r.error))) {
    throw new TypeError('a string that is not well-formed');
  }
  return `${copyText(r.id)}\t${copyText(r.modelName)}\t${copyNum(r.version)}\t${copyText(r.role)}\t${copyText(r.shadowOf)}\t`
    + `${copyText(r.entityKey)}\t${copyText(r.requestedBy)}\t${copyText(JSON.stringify(r.features))}\t${copyText(output)}\t`
    + `${copyText(r.label)}\t${copyNum(r.value)}\t${copyText(r.error)}\t${copyNum(r.latencyMs)}\t${isoTime(r.createdAt)}\n`;
}

/**
 * Roughly what a row costs in memory, from its features and output without serializing them on the
 * request path; Infinity for a row that cannot be serialized at all (it is dead-lettered at once).
 */
export function estimateRowBytes(row: PredictionRow): number {
  let bytes = 256;
  const features = row.features;
  for (const key in features) {
    if (!Object.hasOwn(features, key)) continue;
    const v = features[key];
    bytes += 2 * key.length + 16;
    if (typeof v === 'string') bytes += 2 * v.length;
    else if (v !== null && typeof v === 'object') {
      try { bytes += 2 * (JSON.stringify(v)?.length ?? 0); } catch { return Infinity; }
    }
  }
  const output = row.output as { probabilities?: Record<string, number> } | null | undefined;
  if (output?.probabilities) bytes += 48 * Object.keys(output.probabilities).length;
  return bytes + 2 * ((row.error?.length ?? 0) + (row.entityKey?.length ?? 0));
}

/** The database itself could not be reached: the rows are kept for the next try, none is blamed. */
class DatabaseUnreachable extends Error {}

export interface PredictionLogOptions {
  db: Db;
  /** the database's COPY: batches go in by it, at about half PostgreSQL's CPU a row of the JSON insert (a third less on PGlite) */
  copyIn?: Database['copyIn'];
  /** the most rows held while the database is slow or down; beyond it the oldest are dropped */
  capacity?: number;
  /** the most bytes (estimated) held likewise */
  maxBytes?: number;
  batchSize?: number;
  /** the most bytes (estimated) in one statement */
  maxBatchBytes?: number;
  flushIntervalMs?: number;
  /** 0-1: the share of predictions written (each one's id is returned either way) */
  sampleRate?: number;
  onDrop?: (count: number) => void;
  /** a row the database refused on its own: dropped so the rest are written */
  onDeadLetter?: (count: number) => void;
  log?: (msg: string) => void;
}

/** a recorded row, its output as JSON text when the API already wrote it, and its estimated size in memory */
interface Entry { row: PredictionRow; output: string | undefined; bytes: number }

/**
 * The buffer, oldest first. Taking or dropping at the head costs only the rows taken: while the
 * database is down a full buffer drops one row per prediction, which must not copy the buffer.
 */
class RowQueue {
  private items: (Entry | undefined)[] = [];
  private head = 0;
  /** the estimated bytes of the rows held */
  bytes = 0;
  get length() { return this.items.length - this.head; }
  /** the i-th oldest row */
  at(i: number): Entry { return this.items[this.head + i]!; }
  push(e: Entry) { this.items.push(e); this.bytes += e.bytes; }
  /** removes the n oldest rows and returns them */
  take(n: number): Entry[] {
    const taken = this.items.slice(this.head, this.head + n) as Entry[];
    this.drop(n);
    return taken;
  }
  /** removes the n oldest rows */
  drop(n: number) {
    for (let i = 0; i < n; i++) {
      this.bytes -= this.items[this.head]!.bytes;
      this.items[this.head++] = undefined; // released now, not at the next compaction
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
  }
  /** puts rows taken earlier back at the head, oldest first */
  putBack(rows: Entry[]) {
    if (this.head >= rows.length) {
      this.head -= rows.length;
      for (let i = 0; i < rows.length; i++) this.items[this.head + i] = rows[i];
    } else {
      this.items = [...rows, ...this.items.slice(this.head)];
      this.head = 0;
    }
    for (const r of rows) this.bytes += r.bytes;
  }
}

export function createPredictionLog(opts: PredictionLogOptions) {
  const capacity = opts.capacity ?? 50_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const batchSize = opts.batchSize ?? 1_000;
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  const sampleRate = opts.sampleRate ?? 1;
  const log = opts.log ?? (() => {});
  const buffer = new RowQueue();
  // the batch being written: out of the buffer, still counted against its bounds
  let inFlight = { rows: 0, bytes: 0 };
  let dropped = 0;
  let deadLettered = 0;
  let writing: Promise<void> | null = null;
  let flushSoon = false;
  let failing = false;
  let lastDropLog = 0;

  function deadLetter(id: string, err: unknown) {
    deadLettered++;
    opts.onDeadLetter?.(1);
    // the id and the kind of failure only: the row's content is what the database refused
    const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
    const code = e?.code ?? e?.cause?.code;
    const why = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `SQLSTATE ${code}` : (err as Error)?.name ?? 'error';
    log(`prediction log: dead-lettered prediction ${id} (${why}); the other rows are written`);
  }

  async function reachable() {
    try { await opts.db.execute(sql`select 1`); return true; } catch { return false; }
  }

  /** writes the rows, splitting a refused batch until the refused row is alone; throws only when the database is down */
  async function writeIsolating(rows: Entry[]): Promise<void> {
    try {
      await insertBatch(opts.db, rows);
      return;
    } catch (err) {
      if (!(await reachable())) throw new DatabaseUnreachable((err as Error).message.split('\n')[0]);
      if (rows.length === 1) { deadLetter(rows[0].row.id, err); return; }
      const mid = rows.length >> 1;
      await writeIsolating(rows.slice(0, mid));
      await writeIsolating(rows.slice(mid));
    }
  }

  /**
   * A batch by COPY where the database has it. COPY takes a batch whole or not at all, so one it
   * refuses (a bad row, a duplicate of a row written before a lost answer) goes again by the JSON
   * insert, which skips duplicates and finds the refused row.
   */
  async function writeBatch(rows: Entry[]): Promise<void> {
    if (opts.copyIn) {
      let text: string | undefined = '';
      try {
        for (let i = 0; i < rows.length; i++) {
          // a slice at a time, the answers that wait going out between: 1,000 rows at once held the event loop 4-6 ms
          if (i && i % COPY_SLICE_ROWS === 0) await new Promise(setImmediate);
          text += copyLine(rows[i].row, rows[i].output);
        }
      } catch {
        text = undefined; // a row that cannot be written as text: the insert finds it
      }
      if (text !== undefined) {
        try {
          if (await opts.copyIn('predictions', PREDICTION_COLUMNS, text) === 'written') return;
        } catch (err) {
          if (!(await reachable())) throw new DatabaseUnreachable((err as Error).message.split('\n')[0]);
        }
      }
    }
    await writeIsolating(rows);
  }

  function takeBatch(): Entry[] {
    let n = 0;
    let bytes = 0;
    while (n < buffer.length && n < batchSize && (n === 0 || bytes + buffer.at(n).bytes <= maxBatchBytes)) bytes += buffer.at(n++).bytes;
    inFlight = { rows: n, bytes };
    return buffer.take(n);
  }

  /** drops the oldest rows until the buffer fits its bounds again */
  function enforceBounds() {
    let over = 0;
    let overBytes = 0;
    while (over < buffer.length
      && (buffer.length - over + inFlight.rows > capacity || buffer.bytes - overBytes + inFlight.bytes > maxBytes)) overBytes += buffer.at(over++).bytes;
    if (!over) return;
    buffer.drop(over);
    dropped += over;
    opts.onDrop?.(over);
    if (Date.now() - lastDropLog > 10_000) {
      lastDropLog = Date.now();
      log(`prediction log: buffer full (${capacity} rows or ${maxBytes} bytes), dropped ${dropped} rows so far`);
    }
  }

  async function writeBatches() {
    while (buffer.length) {
      const batch = takeBatch();
      try {
        await writeBatch(batch);
      } catch (err) {
        // back at the head, oldest first, for the next tick
        inFlight = { rows: 0, bytes: 0 };
        buffer.putBack(batch);
        enforceBounds();
        if (!failing) log(`prediction log: the database did not take a batch (${(err as Error).message}); holding up to ${capacity} rows and retrying`);
        failing = true;
        return;
      }
      inFlight = { rows: 0, bytes: 0 };
      if (failing) log('prediction log: writing again');
      failing = false;
    }
  }

  function flush(): Promise<void> {
    writing ??= writeBatches().finally(() => { writing = null; });
    return writing;
  }

  const timer = setInterval(() => { if (buffer.length) void flush(); }, opts.flushIntervalMs ?? 200);
  timer.unref();

  return {
    /**
     * keeps the rows for the next batch (or a sample of them); `outputs`, when given, holds each
     * row's output already serialized (the API wrote it for its answer)
     */
    record(rows: PredictionRow[], outputs?: readonly string[]) {
      for (let i = 0; i < rows.length; i++) {
        if (sampleRate < 1 && Math.random() >= sampleRate) continue;
        const row = rows[i];
        const bytes = estimateRowBytes(row);
        if (bytes === Infinity) { deadLetter(row.id, new TypeError('cannot be serialized')); continue; }
        buffer.push({ row, output: outputs?.[i], bytes });
      }
      enforceBounds();
      // a full batch is written after this turn's answers have gone (see api/routes/predict.ts): building it takes a few ms
      if (buffer.length >= batchSize && !failing && !flushSoon) { flushSoon = true; setImmediate(() => { flushSoon = false; void flush(); }); }
    },
    /** rows waiting to be written */
    get pending() { return buffer.length + inFlight.rows; },
    get dropped() { return dropped; },
    /** rows the database refused on their own, dropped so that the others are written */
    get deadLettered() { return deadLettered; },
    flush,
    /** writes what is buffered (one last try) and stops the timer */
    async close() {
      clearInterval(timer);
      if (writing) await writing;
      await flush();
      if (buffer.length) log(`prediction log: ${buffer.length} rows could not be written at shutdown`);
    },
  };
}
export type PredictionLog = ReturnType<typeof createPredictionLog>;
