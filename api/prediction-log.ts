/**
 * The prediction log, off the request path: predict() hands rows to an in-memory buffer that is
 * written in batches. When the database is unreachable, serving goes on: the buffer keeps what it
 * can (bounded), drops the oldest beyond that, and counts and logs what it dropped.
 */
import type { Db } from '../db/client';
import { predictions } from '../db/schema';

export type PredictionRow = typeof predictions.$inferInsert;

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
        await opts.db.insert(predictions).values(batch).onConflictDoNothing();
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
