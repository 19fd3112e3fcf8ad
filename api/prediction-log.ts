/**
 * The prediction log, off the request path: predict() hands rows to an in-memory buffer that is
 * written in batches. When the database is unreachable, serving goes on: the buffer keeps what it
 * can (bounded in rows and in bytes), drops the oldest beyond that, and counts and logs what it
 * dropped. A row the database refuses never holds up the others: a refused batch is split until
 * the row is found, and that row alone is dead-lettered.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { predictions } from '../db/schema';

export type PredictionRow = typeof predictions.$inferInsert;

/**
 * One statement, one parameter: the batch as a JSON array that PostgreSQL unpacks itself. Three to
 * four times the rows per second of a multi-row VALUES with 13 parameters a row (measured on both
 * PGlite and PostgreSQL), which matters because the log sees every prediction.
 */
async function insertBatch(db: Db, rows: PredictionRow[]) {
  // the JSON text written row by row, without an intermediate object per row (the log sees every prediction)
  const q = JSON.stringify;
  let json = '[';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    json += `${i ? ',' : ''}{"id":${q(r.id)},"model_name":${q(r.modelName)},"version":${q(r.version)},"role":${q(r.role)},`
      + `"shadow_of":${q(r.shadowOf ?? null)},"entity_key":${q(r.entityKey ?? null)},"requested_by":${q(r.requestedBy ?? null)},`
      + `"features":${q(r.features)},"output":${q(r.output ?? null)},"label":${q(r.label ?? null)},"value":${q(r.value ?? null)},`
      + `"error":${q(r.error ?? null)},"latency_ms":${q(r.latencyMs)},"created_at":${q(r.createdAt)}}`;
  }
  json += ']';
  await db.execute(sql`insert into predictions (id, model_name, version, role, shadow_of, entity_key, requested_by, features, output, label, value, error, latency_ms, created_at)
    select * from jsonb_to_recordset(${json}::jsonb) as x(id text, model_name text, version int, role text, shadow_of text, entity_key text, requested_by text,
      features jsonb, output jsonb, label text, value float8, error text, latency_ms float8, created_at timestamptz)
    on conflict (id) do nothing`);
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

interface Entry { row: PredictionRow; bytes: number }

export function createPredictionLog(opts: PredictionLogOptions) {
  const capacity = opts.capacity ?? 50_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  const batchSize = opts.batchSize ?? 1_000;
  const maxBatchBytes = opts.maxBatchBytes ?? 16 * 1024 * 1024;
  const sampleRate = opts.sampleRate ?? 1;
  const log = opts.log ?? (() => {});
  let buffer: Entry[] = [];
  let bufferBytes = 0;
  // the batch being written: out of the buffer, still counted against its bounds
  let inFlight = { rows: 0, bytes: 0 };
  let dropped = 0;
  let deadLettered = 0;
  let writing: Promise<void> | null = null;
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
      await insertBatch(opts.db, rows.map((e) => e.row));
      return;
    } catch (err) {
      if (!(await reachable())) throw new DatabaseUnreachable((err as Error).message.split('\n')[0]);
      if (rows.length === 1) { deadLetter(rows[0].row.id, err); return; }
      const mid = rows.length >> 1;
      await writeIsolating(rows.slice(0, mid));
      await writeIsolating(rows.slice(mid));
    }
  }

  function takeBatch(): Entry[] {
    let n = 0;
    let bytes = 0;
    while (n < buffer.length && n < batchSize && (n === 0 || bytes + buffer[n].bytes <= maxBatchBytes)) bytes += buffer[n++].bytes;
    const batch = buffer.splice(0, n);
    bufferBytes -= bytes;
    inFlight = { rows: n, bytes };
    return batch;
  }

  /** drops the oldest rows until the buffer fits its bounds again */
  function enforceBounds() {
    let over = 0;
    let overBytes = 0;
    while (over < buffer.length
      && (buffer.length - over + inFlight.rows > capacity || bufferBytes - overBytes + inFlight.bytes > maxBytes)) overBytes += buffer[over++].bytes;
    if (!over) return;
    buffer.splice(0, over);
    bufferBytes -= overBytes;
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
        await writeIsolating(batch);
      } catch (err) {
        // back at the head, oldest first, for the next tick
        buffer.unshift(...batch);
        bufferBytes += inFlight.bytes;
        inFlight = { rows: 0, bytes: 0 };
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
    /** keeps the rows for the next batch (or a sample of them) */
    record(rows: PredictionRow[]) {
      for (const row of rows) {
        if (sampleRate < 1 && Math.random() >= sampleRate) continue;
        const bytes = estimateRowBytes(row);
        if (bytes === Infinity) { deadLetter(row.id, new TypeError('cannot be serialized')); continue; }
        buffer.push({ row, bytes });
        bufferBytes += bytes;
      }
      enforceBounds();
      if (buffer.length >= batchSize && !failing) void flush();
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
