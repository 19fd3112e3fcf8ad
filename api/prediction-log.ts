/**
 * The prediction log, off the request path: predict() hands rows to an in-memory buffer that is
 * written in batches. When the database is unreachable, serving goes on: the buffer keeps what it
 * can (bounded), drops the oldest beyond that, and counts and logs what it dropped.
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
  const json = JSON.stringify(rows.map((r) => ({
    id: r.id, model_name: r.modelName, version: r.version, role: r.role, shadow_of: r.shadowOf ?? null, entity_key: r.entityKey ?? null,
    features: r.features, output: r.output ?? null, label: r.label ?? null, value: r.value ?? null, error: r.error ?? null,
    latency_ms: r.latencyMs, created_at: r.createdAt,
  })));
  await db.execute(sql`insert into predictions (id, model_name, version, role, shadow_of, entity_key, features, output, label, value, error, latency_ms, created_at)
    select * from jsonb_to_recordset(${json}::jsonb) as x(id text, model_name text, version int, role text, shadow_of text, entity_key text,
      features jsonb, output jsonb, label text, value float8, error text, latency_ms float8, created_at timestamptz)
    on conflict (id) do nothing`);
}

export interface PredictionLogOptions {
  db: Db;
  /** the most rows held while the database is slow or down; beyond it the oldest are dropped */
  capacity?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  /** 0-1: the share of predictions written (each one's id is returned either way) */
  sampleRate?: number;
  onDrop?: (count: number) => void;
  log?: (msg: string) => void;
}

export function createPredictionLog(opts: PredictionLogOptions) {
  const capacity = opts.capacity ?? 50_000;
  const batchSize = opts.batchSize ?? 1_000;
  const sampleRate = opts.sampleRate ?? 1;
  const log = opts.log ?? (() => {});
  let buffer: PredictionRow[] = [];
  let dropped = 0;
  let writing: Promise<void> | null = null;
  let failing = false;
  let lastDropLog = 0;

  async function writeBatches() {
    while (buffer.length) {
      const batch = buffer.slice(0, batchSize);
      try {
        await insertBatch(opts.db, batch);
      } catch (err) {
        if (!failing) log(`prediction log: the database did not take a batch (${(err as Error).message.split('\n')[0]}); holding up to ${capacity} rows and retrying`);
        failing = true;
        return; // the rows stay buffered: the next tick retries
      }
      if (failing) log('prediction log: writing again');
      failing = false;
      buffer = buffer.slice(batch.length);
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
      for (const row of rows) if (sampleRate >= 1 || Math.random() < sampleRate) buffer.push(row);
      if (buffer.length > capacity) {
        const over = buffer.length - capacity;
        buffer = buffer.slice(over);
        dropped += over;
        opts.onDrop?.(over);
        if (Date.now() - lastDropLog > 10_000) {
          lastDropLog = Date.now();
          log(`prediction log: buffer full (${capacity} rows), dropped ${dropped} rows so far`);
        }
      }
      if (buffer.length >= batchSize && !failing) void flush();
    },
    /** rows waiting to be written */
    get pending() { return buffer.length; },
    get dropped() { return dropped; },
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
