/**
 * Registering a dataset version: a local file becomes the artifact `datasets/<sha256>.<format>`,
 * profiled with DuckDB and recorded in `datasets`. The ingest activity (any source) and the upload
 * route (a file sent to the API) both register through here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { datasets } from '../db/schema';
import type { ArtifactStore } from '../db/artifacts';
import type { DatasetVersion } from '../common/domain';
import type { CsvOptions } from '../common/pipeline-request';
import type { DatasetFormat } from '../common/vocabulary';
import { describeColumns, profile, sourceSql, withDuckDb, type DuckDbLimits } from './duckdb';
import { datasetError } from './source-errors';

export interface DatasetRegistry {
  db: Db;
  artifacts: ArtifactStore;
  duckdb: DuckDbLimits;
  /** the largest file registered, in bytes */
  maxBytes: number;
}

/** A local file to register, and how to name its source. */
export interface IncomingDataset {
  file: string;
  /** a name that carries the source's extension, for format inference */
  name: string;
  format?: DatasetFormat;
  csv?: CsvOptions;
  /** the source as stored in `datasets.source_uri`: already redacted */
  sourceUri: string;
  /** the source as error messages name it: already redacted */
  shown: string;
}

const extensionFormats: Record<string, DatasetFormat> = {
  '.csv': 'csv', '.tsv': 'csv', '.txt': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.parquet': 'parquet',
};

export function inferFormat(name: string, head: Buffer): DatasetFormat {
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const byExt = extensionFormats[path.extname(name.split('?')[0]).toLowerCase()];
  if (byExt && byExt !== 'json') return byExt;
  const text = head.toString('utf8').trimStart();
  if (text[0] === '[') return 'json';
  if (text[0] === '{') return 'ndjson';
  return byExt ?? 'csv';
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** DuckDB's reason, with the artifact store's path of the file (the server's business) replaced by the name the user gave */
function readReason(err: unknown, stored: string, shown: string): string {
  return firstLine((err as Error).message).split(stored).join(shown);
}

async function readHead(file: string, bytes = 65536): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Refuses, with a reason a person understands, what DuckDB would read wrongly or explain badly.
 * For CSV it resolves the delimiter, quote and header once (the request's, else sniffed).
 */
async function checkReadable(conn: DuckDBConnection, file: string, format: DatasetFormat, head: Buffer, source: { shown: string; csv?: CsvOptions }): Promise<CsvOptions> {
  if (format !== 'parquet' && head.includes(0)) {
    throw datasetError(`${source.shown} is binary, not ${format.toUpperCase()} text (it holds NUL bytes).`);
  }
  if (format === 'parquet') {
    if (head.subarray(0, 4).toString('latin1') !== 'PAR1') throw datasetError(`${source.shown} is not a Parquet file (no PAR1 magic bytes).`);
    return {};
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw datasetError(`${source.shown} is not UTF-8 text: re-save it as UTF-8 (it looks like another encoding, such as Latin-1).`);
  }
  if (format === 'csv' && /^\s*<(!doctype html|html[\s>])/i.test(head.toString('utf8', 0, 1024))) {
    throw datasetError(`${source.shown} is an HTML page, not CSV text (an error or sign-in page saved or served in its place?).`);
  }
  if (format === 'json' || format === 'ndjson') {
    const text = head.toString('utf8').trimStart();
    let oneObject = false;
    if (text.startsWith('{')) {
      try {
        JSON.parse(text.split('\n')[0]);
        oneObject = format === 'json' && text.split('\n').filter((l) => l.trim()).length === 1;
      } catch {
        oneObject = true; // an object spread over lines: one document, not one record per line
      }
    }
    if (oneObject) {
      throw datasetError(`${source.shown} is one JSON object, not records: use an array of objects, or one object per line (NDJSON).`);
    }
    return {};
  }
  let sniffed: Record<string, unknown> = {};
  try {
    sniffed = (await conn.runAndReadAll(`SELECT Delimiter AS d, Quote AS q, HasHeader AS h FROM sniff_csv(${quoteString(file)}, sample_size = 20480)`)).getRowObjectsJS()[0] ?? {};
  } catch (err) {
    throw datasetError(`Could not read ${source.shown} as csv: ${readReason(err, file, source.shown)}`);
  }
  const csv: CsvOptions = {
    delimiter: source.csv?.delimiter ?? (typeof sniffed.d === 'string' && sniffed.d.length === 1 ? sniffed.d : ','),
    // DuckDB reports "(empty)" when the sample had no quotes: the usual double quote then
    quote: source.csv?.quote ?? (typeof sniffed.q === 'string' && sniffed.q.length === 1 ? sniffed.q : '"'),
    header: source.csv?.header ?? Boolean(sniffed.h),
  };
  const lines = head.toString('utf8').split(/\r?\n/);
  if (head.length === 65536) lines.pop(); // the last line of a partial read may be cut short
  const fields = lines.map((l) => (l === '' ? null : splitCsvLine(l, csv.delimiter!, csv.quote!)));
  const width = fields[0]?.length ?? 0;
  const ragged = fields.findIndex((f) => f !== null && f.length !== width);
  if (ragged > 0) {
    throw datasetError(`${source.shown} has ragged rows: line ${ragged + 1} has ${fields[ragged]!.length} fields, line 1 has ${width}.`);
  }
  if (csv.header) {
    const names = fields[0] ?? [];
    const empty = names.map((n, i) => (n.trim() === '' ? i + 1 : 0)).filter(Boolean);
    if (empty.length) throw datasetError(`${source.shown}: the header has an empty column name (column ${empty.join(', ')}).`);
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length) throw datasetError(`${source.shown}: the header names a column twice: ${[...new Set(dupes)].join(', ')}.`);
  }
  return csv;
}

const quoteString = (s: string) => `'${s.replaceAll("'", "''")}'`;

function splitCsvLine(line: string, delimiter: string, quote: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === quote) {
      if (quoted && line[i + 1] === quote) { cur += quote; i++; } else quoted = !quoted;
    } else if (ch === delimiter && !quoted) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

const firstLine = (s: string) => s.split('\n')[0].replace(/^[A-Za-z ]+Error: /, '').slice(0, 400);

/** A version in the registry, as the pipeline carries it. */
export async function storedVersion(db: Db, hash: string): Promise<DatasetVersion | undefined> {
  const [existing] = await db.select().from(datasets).where(eq(datasets.hash, hash));
  if (!existing) return undefined;
  return {
    hash, rows: existing.rows, format: existing.format, readOptions: existing.readOptions, artifactKey: existing.artifactKey,
    sizeBytes: existing.sizeBytes, columns: existing.schema, deduplicated: true,
  };
}

/**
 * Stores the file once, under the sha256 of its bytes (the dataset version), and profiles every
 * column with DuckDB. The same bytes again are the version already stored (`deduplicated`).
 */
export async function registerDataset({ db, artifacts, duckdb, maxBytes }: DatasetRegistry, incoming: IncomingDataset): Promise<DatasetVersion> {
  const { shown } = incoming;
  const sizeBytes = (await fsp.stat(incoming.file)).size;
  if (sizeBytes === 0) throw datasetError(`Dataset is empty (0 bytes): ${shown}`);
  if (sizeBytes > maxBytes) throw datasetError(`${shown} is ${sizeBytes} bytes, more than ${maxBytes} (PERENNIAL_MAX_SOURCE_BYTES).`);
  const hash = await sha256File(incoming.file);
  const existing = await storedVersion(db, hash);
  if (existing) {
    // the registry names these bytes but the store has lost them (a wiped or moved artifacts directory):
    // the incoming file is the same bytes, so it is put back rather than handing on a version nothing can read
    if (!(await artifacts.exists(existing.artifactKey))) await artifacts.putFile(existing.artifactKey, incoming.file);
    return existing;
  }
  const head = await readHead(incoming.file);
  const format = incoming.format ?? inferFormat(incoming.name, head);
  const artifactKey = `datasets/${hash}.${format}`;
  if (!(await artifacts.exists(artifactKey))) await artifacts.putFile(artifactKey, incoming.file);
  const stored = await artifacts.localPath(artifactKey);

  const read = withDuckDb(async (conn) => {
    const readOptions = await checkReadable(conn, stored, format, head, { shown, csv: incoming.csv });
    let source = sourceSql(stored, format, readOptions);
    try {
      if (format !== 'parquet') {
        // text formats are parsed once into a table; Parquet is already columnar
        await conn.run(`CREATE TEMP TABLE dataset AS SELECT * FROM ${source}`);
        source = 'dataset';
      }
      const described = await describeColumns(conn, source);
      const stats = await profile(conn, source, described);
      // a VARCHAR column with mostly distinct values is text, not categories
      const kinds = new Map(stats.columns.map((s) => [s.name, s.kind]));
      return { columns: described.map((c) => ({ ...c, kind: kinds.get(c.name) ?? c.kind })), statistics: stats, readOptions };
    } catch (err) {
      throw datasetError(`Could not read ${shown} as ${format}: ${readReason(err, stored, shown)}`);
    }
  }, duckdb);
  // a file that cannot be read is kept nowhere: its bytes were never a dataset version
  const { columns, statistics, readOptions } = await read.catch(async (err) => {
    if (!(await storedVersion(db, hash))) await artifacts.delete(artifactKey);
    throw err;
  });
  await db.insert(datasets).values({
    hash, sourceUri: incoming.sourceUri, format, readOptions, artifactKey, sizeBytes,
    rows: statistics.rows, schema: columns, statistics,
  }).onConflictDoNothing();
  return { hash, rows: statistics.rows, format, readOptions, artifactKey, sizeBytes, columns, deduplicated: false };
}
