/** Ingest and validate: the first two stages. Every side effect on data lives here. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { datasets } from '../db/schema';
import type { ArtifactStore } from './artifacts';
import { describeColumns, profile, sourceSql, withDuckDb } from './duckdb';
import type {
  Anomaly, ColumnSchema, ColumnStatistics, DatasetFormat, DatasetVersion, ModelTask, ValidationReport,
} from './types';

export interface DataDeps {
  db: Db;
  artifacts: ArtifactStore;
}

/** A problem with the data itself: retrying cannot help, so the pipeline ends at once. */
export const DATASET_ERROR = 'DatasetError';
const datasetError = (message: string) => ApplicationFailure.nonRetryable(message, DATASET_ERROR);

const extensionFormats: Record<string, DatasetFormat> = {
  '.csv': 'csv', '.tsv': 'csv', '.txt': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.parquet': 'parquet',
};

export function inferFormat(name: string, head: Buffer): DatasetFormat {
  const byExt = extensionFormats[path.extname(name.split('?')[0]).toLowerCase()];
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  if (byExt && byExt !== 'json') return byExt;
  const first = head.toString('utf8').trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return 'ndjson';
  return byExt ?? 'csv';
}

/** Brings the source to a local file: a path as it is, an http(s) URL streamed to a temp file. */
async function fetchSource(uri: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  if (/^https?:\/\//i.test(uri)) {
    let res: Response;
    try {
      res = await fetch(uri, { signal: AbortSignal.timeout(120_000) });
    } catch (err) {
      throw ApplicationFailure.retryable(`Could not download ${uri}: ${(err as Error).message}`, 'DatasetDownloadError');
    }
    if (res.status >= 500) throw ApplicationFailure.retryable(`Downloading ${uri} answered ${res.status}`, 'DatasetDownloadError');
    if (!res.ok || !res.body) throw datasetError(`Downloading ${uri} answered ${res.status} ${res.statusText}`);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'perennial-ingest-'));
    const file = path.join(dir, path.basename(new URL(uri).pathname) || 'download');
    await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(file));
    return { file, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
  }
  const file = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
  if (!fs.existsSync(file)) throw datasetError(`Dataset not found: ${uri}`);
  if (!fs.statSync(file).isFile()) throw datasetError(`Dataset is not a file: ${uri}`);
  return { file, cleanup: async () => {} };
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

async function readHead(file: string, bytes = 4096): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function createDataActivities({ db, artifacts }: DataDeps) {
  return {
    /**
     * Reads the source, stores its bytes once under their sha256 (the dataset version),
     * and profiles every column with DuckDB.
     */
    async ingestDataset(input: { uri: string; format?: DatasetFormat }): Promise<DatasetVersion> {
      const { file, cleanup } = await fetchSource(input.uri);
      try {
        const sizeBytes = fs.statSync(file).size;
        if (sizeBytes === 0) throw datasetError(`Dataset is empty (0 bytes): ${input.uri}`);
        const hash = await sha256File(file);
        const existing = await db.select().from(datasets).where(eq(datasets.hash, hash));
        if (existing.length) {
          const d = existing[0];
          return {
            hash, rows: d.rows, format: d.format as DatasetFormat, artifactKey: d.artifactKey, sizeBytes: d.sizeBytes,
            columns: d.schema as ColumnSchema[], deduplicated: true,
          };
        }
        const format = input.format ?? inferFormat(file, await readHead(file));
        const artifactKey = `datasets/${hash}.${format}`;
        if (!(await artifacts.exists(artifactKey))) await artifacts.putFile(artifactKey, file);
        const stored = await artifacts.localPath(artifactKey);

        const { columns, rows, statistics } = await withDuckDb(async (conn) => {
          const source = sourceSql(stored, format);
          try {
            const cols = await describeColumns(conn, source);
            return { columns: cols, ...(await profile(conn, source, cols)) };
          } catch (err) {
            throw datasetError(`Could not read ${input.uri} as ${format}: ${firstLine((err as Error).message)}`);
          }
        });
        await db.insert(datasets).values({
          hash, sourceUri: input.uri, format, artifactKey, sizeBytes, rows, schema: columns, statistics,
        }).onConflictDoNothing();
        return { hash, rows, format, artifactKey, sizeBytes, columns, deduplicated: false };
      } finally {
        await cleanup();
      }
    },

    /** Holds the dataset against what a model needs; every anomaly is named, none is a crash. */
    async validateDataset(input: {
      dataset: DatasetVersion; target: string; features?: string[]; task?: ModelTask;
    }): Promise<ValidationReport> {
      const [row] = await db.select({ statistics: datasets.statistics }).from(datasets).where(eq(datasets.hash, input.dataset.hash));
      const stats = new Map(((row?.statistics ?? []) as ColumnStatistics[]).map((s) => [s.name, s]));
      return validate(input.dataset, stats, input.target, input.features, input.task);
    },
  };
}

function firstLine(s: string) {
  return s.split('\n')[0].slice(0, 500);
}

export function validate(dataset: DatasetVersion, stats: Map<string, ColumnStatistics>, target: string,
  requestedFeatures: string[] | undefined, requestedTask: ModelTask | undefined): ValidationReport {
  const anomalies: Anomaly[] = [];
  const error = (kind: string, message: string, column?: string) => anomalies.push({ kind, column, severity: 'error', message });
  const warning = (kind: string, message: string, column?: string) => anomalies.push({ kind, column, severity: 'warning', message });
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));

  if (dataset.rows === 0) error('no_rows', 'The dataset has no rows.');
  const targetColumn = byName.get(target);
  if (!targetColumn) error('target_missing', `Target column "${target}" is not in the dataset (columns: ${[...byName.keys()].join(', ')}).`, target);

  const featureNames = requestedFeatures ?? dataset.columns.map((c) => c.name).filter((n) => n !== target);
  const features: ColumnSchema[] = [];
  for (const name of featureNames) {
    const col = byName.get(name);
    if (!col) { error('feature_missing', `Feature "${name}" is not in the dataset.`, name); continue; }
    if (name === target) { error('feature_is_target', `"${name}" is the target and cannot also be a feature.`, name); continue; }
    if (col.kind === 'unsupported') { error('unsupported_type', `Feature "${name}" has type ${col.type}, which models cannot use.`, name); continue; }
    features.push(col);
  }
  if (featureNames.length === 0) error('no_features', 'There are no feature columns besides the target.');

  if (dataset.rows > 0) {
    for (const col of [...features, ...(targetColumn ? [targetColumn] : [])]) {
      const s = stats.get(col.name);
      if (s && s.count === 0) error('all_null', `Column "${col.name}" is entirely null.`, col.name);
      else if (s && s.distinct <= 1 && col.name !== target) warning('constant', `Column "${col.name}" has a single value.`, col.name);
    }
  }

  let task: ModelTask = requestedTask ?? 'classification';
  if (targetColumn) {
    const s = stats.get(target);
    if (targetColumn.kind === 'unsupported' || targetColumn.kind === 'datetime') {
      error('unsupported_type', `Target "${target}" has type ${targetColumn.type}; it must be a category, boolean or number.`, target);
    } else if (!requestedTask) {
      task = inferTask(targetColumn, s);
    } else if (requestedTask === 'regression' && targetColumn.kind !== 'numeric') {
      error('task_mismatch', `Regression needs a numeric target; "${target}" is ${targetColumn.kind}.`, target);
    }
    if (task === 'classification' && s && s.count > 0 && s.distinct < 2) {
      error('single_class', `Target "${target}" has a single class; there is nothing to learn.`, target);
    }
  }
  return { passed: !anomalies.some((a) => a.severity === 'error'), anomalies, task, features };
}

/** Categories and booleans are classes; a whole-number column with few values is too; else regression. */
export function inferTask(column: ColumnSchema, s: ColumnStatistics | undefined): ModelTask {
  if (column.kind !== 'numeric') return 'classification';
  const integral = /INT/.test(column.type.toUpperCase());
  return integral && s && s.distinct <= 10 ? 'classification' : 'regression';
}
