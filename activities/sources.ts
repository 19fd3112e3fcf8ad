/**
 * Where a dataset comes from: a path, file://, http(s):// (streamed to disk, never held whole in
 * memory) or postgres:// with a query (rows streamed to NDJSON). Each becomes a local file to hash.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../common/names';
import type { DatasetSpec } from '../common/pipeline-request';

/** a problem with the data itself: retrying cannot help, so the pipeline ends at once */
export const datasetError = (message: string) => ApplicationFailure.nonRetryable(message, ErrorTypes.dataset);
/** a problem reaching the data that may pass: Temporal retries it */
const transient = (message: string) => ApplicationFailure.retryable(message, 'DatasetSourceUnavailable');

export interface LocalSource {
  file: string;
  /** a name that carries the source's extension, for format inference */
  name: string;
  cleanup(): Promise<void>;
}

async function tempDir() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'perennial-ingest-'));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

export async function fetchSource(spec: DatasetSpec, opts: { httpTimeoutMs: number }): Promise<LocalSource> {
  if (/^postgres(ql)?:\/\//i.test(spec.uri)) return fromPostgres(spec);
  if (/^https?:\/\//i.test(spec.uri)) return fromHttp(spec.uri, opts.httpTimeoutMs);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec.uri) && !spec.uri.startsWith('file://')) {
    throw datasetError(`Unsupported dataset URI scheme: ${spec.uri.split('://')[0]}:// (use a path, file://, http(s):// or postgres://).`);
  }
  const file = spec.uri.startsWith('file://') ? fileURLToPath(spec.uri) : path.resolve(spec.uri);
  if (!fs.existsSync(file)) throw datasetError(`Dataset not found: ${spec.uri}`);
  if (!fs.statSync(file).isFile()) throw datasetError(`Dataset is not a file: ${spec.uri}`);
  return { file, name: file, cleanup: async () => {} };
}

async function fromHttp(uri: string, timeoutMs: number): Promise<LocalSource> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  let res: Response;
  try {
    res = await fetch(uri, { signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    clearTimeout(timer);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED' || cause?.code === 'ENOTFOUND') {
      throw datasetError(`Could not download ${uri}: ${cause.code === 'ENOTFOUND' ? 'no such host' : 'connection refused'}.`);
    }
    throw transient(`Could not download ${uri}: ${controller.signal.aborted ? (controller.signal.reason as Error).message : cause?.message ?? (err as Error).message}`);
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    clearTimeout(timer);
    throw transient(`Downloading ${uri} answered ${res.status} ${res.statusText}; retrying.`);
  }
  if (!res.ok || !res.body) {
    clearTimeout(timer);
    throw datasetError(`Downloading ${uri} answered ${res.status} ${res.statusText}.`);
  }
  const { dir, cleanup } = await tempDir();
  const name = path.basename(new URL(uri).pathname) || 'download';
  const file = path.join(dir, name);
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), fs.createWriteStream(file));
  } catch (err) {
    await cleanup();
    throw transient(`Downloading ${uri} broke off: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  return { file, name, cleanup };
}

/** numeric and bigint columns come from postgres.js as strings: keep them numbers */
const NUMERIC_OIDS = new Set([20, 21, 23, 700, 701, 1700]);

async function fromPostgres(spec: DatasetSpec): Promise<LocalSource> {
  if (!spec.query) throw datasetError('A postgres:// dataset needs a "query" (the SELECT whose rows are the dataset).');
  const { default: postgres } = await import('postgres');
  const sql = postgres(spec.uri, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const { dir, cleanup } = await tempDir();
  const file = path.join(dir, 'query.ndjson');
  const out = fs.createWriteStream(file);
  try {
    let rows = 0;
    const cursor = sql.unsafe(spec.query).cursor(1000);
    for await (const batch of cursor) {
      const numeric = (batch as unknown as { columns?: { name: string; type: number }[] }).columns
        ?.filter((c) => NUMERIC_OIDS.has(c.type)).map((c) => c.name) ?? [];
      for (const row of batch) {
        for (const n of numeric) if (typeof row[n] === 'string') row[n] = Number(row[n]);
        if (!out.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
        rows++;
      }
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (rows === 0) fs.writeFileSync(file, '');
    return { file, name: file, cleanup };
  } catch (err) {
    out.destroy();
    await cleanup();
    const e = err as { code?: string; message: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'CONNECT_TIMEOUT') throw transient(`Could not reach the database for the dataset query: ${e.message}`);
    throw datasetError(`The dataset query failed: ${e.message}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
