/**
 * Ingest and validate: the first two stages. Ingest brings any source to the artifact store once,
 * under the sha256 of its bytes, and profiles it with DuckDB; validate holds it against what the
 * model needs and against the model's data contract.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { dataContracts, datasets } from '../db/schema';
import type { ArtifactStore } from '../db/artifacts';
import { describeColumns, profile, quoteIdent, sourceSql, withDuckDb } from './duckdb';
import { datasetError, fetchSource } from './sources';
import type { ContractColumn, DatasetStatistics, DatasetVersion, ValidationReport } from '../common/domain';
import type { CsvOptions, DatasetSpec, ValidationOptions } from '../common/pipeline-request';
import type { DatasetFormat, ModelTask } from '../common/vocabulary';
import {
  checkAgainstContract, checkDuplicates, checkUsable, contractFrom, DEFAULT_VALIDATION, Findings, type Measurements,
} from './validation';


export interface DataDeps {
  db: Db;
  artifacts: ArtifactStore;
  /** how long an http(s) source may take to answer */
  httpTimeoutMs?: number;
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
async function checkReadable(conn: DuckDBConnection, file: string, format: DatasetFormat, head: Buffer, spec: DatasetSpec): Promise<CsvOptions> {
  if (format !== 'parquet' && head.includes(0)) {
    throw datasetError(`${spec.uri} is binary, not ${format.toUpperCase()} text (it holds NUL bytes).`);
  }
  if (format === 'parquet') {
    if (head.subarray(0, 4).toString('latin1') !== 'PAR1') throw datasetError(`${spec.uri} is not a Parquet file (no PAR1 magic bytes).`);
    return {};
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    throw datasetError(`${spec.uri} is not UTF-8 text: re-save it as UTF-8 (it looks like another encoding, such as Latin-1).`);
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
      throw datasetError(`${spec.uri} is one JSON object, not records: use an array of objects, or one object per line (NDJSON).`);
    }
    return {};
  }
  let sniffed: Record<string, unknown> = {};
  try {
    sniffed = (await conn.runAndReadAll(`SELECT Delimiter AS d, Quote AS q, HasHeader AS h FROM sniff_csv(${quoteString(file)}, sample_size = 20480)`)).getRowObjectsJS()[0] ?? {};
  } catch (err) {
    throw datasetError(`Could not read ${spec.uri} as csv: ${firstLine((err as Error).message)}`);
  }
  const csv: CsvOptions = {
    delimiter: spec.csv?.delimiter ?? (typeof sniffed.d === 'string' && sniffed.d.length === 1 ? sniffed.d : ','),
    // DuckDB reports "(empty)" when the sample had no quotes: the usual double quote then
    quote: spec.csv?.quote ?? (typeof sniffed.q === 'string' && sniffed.q.length === 1 ? sniffed.q : '"'),
    header: spec.csv?.header ?? Boolean(sniffed.h),
  };
  const lines = head.toString('utf8').split(/\r?\n/);
  if (head.length === 65536) lines.pop(); // the last line of a partial read may be cut short
  const fields = lines.map((l) => (l === '' ? null : splitCsvLine(l, csv.delimiter!, csv.quote!)));
  const width = fields[0]?.length ?? 0;
  const ragged = fields.findIndex((f) => f !== null && f.length !== width);
  if (ragged > 0) {
    throw datasetError(`${spec.uri} has ragged rows: line ${ragged + 1} has ${fields[ragged]!.length} fields, line 1 has ${width}.`);
  }
  if (csv.header) {
    const names = fields[0] ?? [];
    const empty = names.map((n, i) => (n.trim() === '' ? i + 1 : 0)).filter(Boolean);
    if (empty.length) throw datasetError(`${spec.uri}: the header has an empty column name (column ${empty.join(', ')}).`);
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length) throw datasetError(`${spec.uri}: the header names a column twice: ${[...new Set(dupes)].join(', ')}.`);
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

export function createDataActivities({ db, artifacts, httpTimeoutMs = 60_000 }: DataDeps) {
  /** the stored file of a dataset version, as a DuckDB table expression */
  async function sourceOf(hash: string) {
    const [d] = await db.select().from(datasets).where(eq(datasets.hash, hash));
    if (!d) throw datasetError(`Dataset version ${hash} is not in the registry.`);
    return { row: d, source: sourceSql(await artifacts.localPath(d.artifactKey), d.format, d.readOptions) };
  }

  return {
    /**
     * Brings the source to the artifact store once, under the sha256 of its bytes (the dataset
     * version), and profiles every column with DuckDB.
     */
    async ingestDataset(spec: DatasetSpec): Promise<DatasetVersion> {
      const local = await fetchSource(spec, { httpTimeoutMs });
      try {
        const sizeBytes = fs.statSync(local.file).size;
        if (sizeBytes === 0) throw datasetError(`Dataset is empty (0 bytes): ${spec.uri}`);
        const hash = await sha256File(local.file);
        const [existing] = await db.select().from(datasets).where(eq(datasets.hash, hash));
        if (existing) {
          return {
            hash, rows: existing.rows, format: existing.format, readOptions: existing.readOptions, artifactKey: existing.artifactKey,
            sizeBytes: existing.sizeBytes, columns: existing.schema, deduplicated: true,
          };
        }
        const head = await readHead(local.file);
        const format = spec.format ?? (spec.query ? 'ndjson' : inferFormat(local.name, head));
        const artifactKey = `datasets/${hash}.${format}`;
        if (!(await artifacts.exists(artifactKey))) await artifacts.putFile(artifactKey, local.file);
        const stored = await artifacts.localPath(artifactKey);

        const { columns, statistics, readOptions } = await withDuckDb(async (conn) => {
          const readOptions = await checkReadable(conn, stored, format, head, spec);
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
            throw datasetError(`Could not read ${spec.uri} as ${format}: ${firstLine((err as Error).message)}`);
          }
        });
        await db.insert(datasets).values({
          hash, sourceUri: spec.query ? `${redact(spec.uri)} :: ${spec.query}` : redact(spec.uri), format, readOptions, artifactKey, sizeBytes,
          rows: statistics.rows, schema: columns, statistics,
        }).onConflictDoNothing();
        return { hash, rows: statistics.rows, format, readOptions, artifactKey, sizeBytes, columns, deduplicated: false };
      } finally {
        await local.cleanup();
      }
    },

    /**
     * Holds the dataset against what the model needs and, once the model has a data contract,
     * against the contract (schema) and the previous accepted version (drift). Every anomaly is
     * named; none is a crash. A version that passes becomes the model's previous version.
     */
    async validateDataset(input: {
      model: string; dataset: DatasetVersion; target: string; features?: string[]; task?: ModelTask; options?: Partial<ValidationOptions>;
    }): Promise<ValidationReport> {
      const opts = { ...DEFAULT_VALIDATION, ...input.options };
      const current = await sourceOf(input.dataset.hash);
      const stats = current.row.statistics;
      const f = new Findings();
      const { task, features } = checkUsable(f, input.dataset, stats, input.target, input.features, input.task);
      checkDuplicates(f, stats, opts);

      const [contract] = await db.select().from(dataContracts).where(eq(dataContracts.modelName, input.model));
      if (contract && input.dataset.rows > 0) {
        const previous = await sourceOf(contract.previousHash);
        const previousStats = previous.row.statistics;
        const measured = await withDuckDb((conn) =>
          measure(conn, contract.columns, previousStats, stats, previous.source, current.source));
        checkAgainstContract(f, opts, contract.columns, stats, previousStats, measured, input.target);
      }

      if (f.passed) {
        if (!contract) {
          await db.insert(dataContracts).values({
            modelName: input.model, referenceHash: input.dataset.hash, columns: contractFrom(stats), previousHash: input.dataset.hash,
          }).onConflictDoNothing();
        } else {
          await db.update(dataContracts).set({ previousHash: input.dataset.hash, updatedAt: new Date() })
            .where(eq(dataContracts.modelName, input.model));
        }
      }
      return {
        passed: f.passed, anomalies: f.anomalies, task, features,
        reference: { contract: contract?.referenceHash ?? null, previous: contract?.previousHash ?? null },
      };
    },
  };
}

/** Out-of-range counts against the contract, and bin counts over the previous version's quantiles. */
async function measure(conn: DuckDBConnection, contract: ContractColumn[], previous: DatasetStatistics, current: DatasetStatistics,
  previousSource: string, currentSource: string): Promise<Measurements> {
  const result: Measurements = { outOfRange: {}, bins: {} };
  const now = new Map(current.columns.map((c) => [c.name, c]));
  const before = new Map(previous.columns.map((c) => [c.name, c]));
  const ranged = contract.filter((c) => c.kind === 'numeric' && c.min != null && c.max != null && now.get(c.name)?.kind === 'numeric');
  const binned = current.columns.filter((c) => c.kind === 'numeric' && before.get(c.name)?.kind === 'numeric' && before.get(c.name)?.quantiles);
  const edgesOf = (name: string) => [...new Set(Object.values(before.get(name)!.quantiles!))].sort((a, b) => a - b);
  const binExpr = (name: string) => {
    const x = `${quoteIdent(name)}::DOUBLE`;
    const edges = edgesOf(name);
    return `histogram(CASE ${edges.map((e, i) => `WHEN ${x} <= ${e} THEN ${i}`).join(' ')} ELSE ${edges.length} END) FILTER (WHERE ${x} IS NOT NULL)`;
  };
  const toCounts = (entries: unknown, n: number) => {
    const counts = new Array<number>(n).fill(0);
    for (const e of (entries as { key: unknown; value: unknown }[] | null) ?? []) counts[Number(e.key)] += Number(e.value);
    return counts;
  };

  const exprs = [
    ...ranged.map((c, i) => `count(*) FILTER (WHERE ${quoteIdent(c.name)}::DOUBLE < ${c.min} OR ${quoteIdent(c.name)}::DOUBLE > ${c.max})::DOUBLE AS "r${i}"`),
    ...binned.map((c, i) => `${binExpr(c.name)} AS "b${i}"`),
  ];
  if (!exprs.length) return result;
  const [cur] = (await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${currentSource}`)).getRowObjectsJS();
  ranged.forEach((c, i) => { result.outOfRange[c.name] = Number(cur[`r${i}`]); });
  if (binned.length) {
    const [prev] = (await conn.runAndReadAll(`SELECT ${binned.map((c, i) => `${binExpr(c.name)} AS "b${i}"`).join(', ')} FROM ${previousSource}`)).getRowObjectsJS();
    binned.forEach((c, i) => {
      const n = edgesOf(c.name).length + 1;
      result.bins[c.name] = { previous: toCounts(prev[`b${i}`], n), current: toCounts(cur[`b${i}`], n) };
    });
  }
  return result;
}

/** A source URI as it may be shown: without a password. */
function redact(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return uri;
  }
}
