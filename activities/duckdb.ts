/**
 * DuckDB is the data engine: it reads CSV, JSON, NDJSON and Parquet natively and profiles
 * columns in SQL. Each call opens an in-memory instance, so activities share no state.
 */
import fs from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnKind, DatasetFormat } from '../common/vocabulary';
import type { ColumnSchema } from '../common/pipeline-status';
import type { ColumnStatistics, DatasetStatistics } from '../common/domain';
import type { CsvOptions } from '../common/pipeline-request';

/** How much a DuckDB instance may hold in memory, and where it spills the rest. */
export interface DuckDbLimits {
  /** e.g. "2GB" (PERENNIAL_DUCKDB_MEMORY_LIMIT) */
  memoryLimit: string;
  /** a folder for spilled data; none: DuckDB fails rather than spill */
  tempDirectory?: string;
}
export const DEFAULT_DUCKDB_LIMITS: DuckDbLimits = { memoryLimit: '2GB' };

export async function withDuckDb<T>(fn: (conn: DuckDBConnection) => Promise<T>, limits: DuckDbLimits = DEFAULT_DUCKDB_LIMITS): Promise<T> {
  if (limits.tempDirectory) await fs.mkdir(limits.tempDirectory, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '2', memory_limit: limits.memoryLimit, ...(limits.tempDirectory ? { temp_directory: limits.tempDirectory } : {}),
  });
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const quoteString = (s: string) => `'${s.replaceAll("'", "''")}'`;
export const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** The table function that reads a file of the given format. */
export function sourceSql(filePath: string, format: DatasetFormat, csv: CsvOptions = {}): string {
  const p = quoteString(filePath);
  switch (format) {
    case 'csv': {
      // no rows skipped: DuckDB's sniffer would otherwise drop inconsistent leading lines silently
      const opts = ['auto_detect = true', 'sample_size = -1', 'skip = 0'];
      if (csv.delimiter !== undefined) opts.push(`delim = ${quoteString(csv.delimiter)}`);
      if (csv.quote !== undefined) opts.push(`quote = ${quoteString(csv.quote)}`);
      if (csv.header !== undefined) opts.push(`header = ${csv.header}`);
      return `read_csv(${p}, ${opts.join(', ')})`;
    }
    case 'json': return `read_json(${p}, format = 'array')`;
    case 'ndjson': return `read_json(${p}, format = 'newline_delimited')`;
    case 'parquet': return `read_parquet(${p})`;
  }
}

export function kindOf(duckdbType: string): ColumnKind {
  const t = duckdbType.toUpperCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/.test(t)) return 'numeric';
  if (t === 'VARCHAR') return 'categorical';
  if (/^(DATE|TIMESTAMP.*|TIME)$/.test(t)) return 'datetime';
  return 'unsupported';
}

export async function describeColumns(conn: DuckDBConnection, source: string): Promise<ColumnSchema[]> {
  const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  return r.getRowObjectsJS().map((row) => {
    const type = String(row.column_type);
    return { name: String(row.column_name), type, kind: kindOf(type) };
  });
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
const HISTOGRAM_BINS = 20;
const TOP_VALUES = 20;
/** a text column has many distinct values: too many for one-hot, too many to call categories */
const TEXT_MIN_DISTINCT = 1000;

/**
 * a DOUBLE expression with inf, -inf, NaN and magnitudes beyond 1e150 (sentinels, not measurements;
 * their squares overflow a variance) as NULL: missing, as the statistics and a model treat them
 */
const MAX_MAGNITUDE = 1e150;
const finite = (expr: string) => `(CASE WHEN isfinite(${expr}) AND abs(${expr}) < ${MAX_MAGNITUDE} THEN ${expr} END)`;

/**
 * Row count, duplicate rows and per-column statistics (SUMMARIZE and more) in three passes over the
 * data, whatever the column count: aggregates and quantiles; histograms; top values.
 */
export async function profile(conn: DuckDBConnection, source: string, columns: ColumnSchema[]): Promise<DatasetStatistics> {
  const q = (c: ColumnSchema) => quoteIdent(c.name);
  const numericLike = (c: ColumnSchema) => c.kind === 'numeric' || c.kind === 'boolean';
  // inf, -inf, NaN and sentinel magnitudes say nothing about a column's spread: counted as missing
  const x = (c: ColumnSchema) => (c.kind === 'boolean' ? `${q(c)}::INTEGER` : finite(`${q(c)}::DOUBLE`));
  const aggregates: string[] = ['count(*)::DOUBLE AS "__rows"'];
  if (columns.length) aggregates.push(`approx_count_distinct(hash(${columns.map(q).join(', ')}))::DOUBLE AS "__distinct_rows"`);
  columns.forEach((c, i) => {
    aggregates.push(`count(${c.kind === 'numeric' ? x(c) : q(c)})::DOUBLE AS "c${i}"`, `approx_count_distinct(${q(c)})::DOUBLE AS "d${i}"`);
    if (numericLike(c)) {
      aggregates.push(`min(${x(c)})::DOUBLE AS "min${i}"`, `max(${x(c)})::DOUBLE AS "max${i}"`,
        `avg(${x(c)})::DOUBLE AS "mean${i}"`, `stddev_samp(${x(c)})::DOUBLE AS "std${i}"`);
      if (c.kind === 'numeric') aggregates.push(`approx_quantile(${x(c)}, [${QUANTILES.join(', ')}])::DOUBLE[] AS "q${i}"`);
    } else if (c.kind !== 'unsupported') {
      aggregates.push(`min(${q(c)})::VARCHAR AS "min${i}"`, `max(${q(c)})::VARCHAR AS "max${i}"`);
    }
  });
  const [row] = (await conn.runAndReadAll(`SELECT ${aggregates.join(', ')} FROM ${source}`)).getRowObjectsJS();
  const rows = Number(row.__rows);
  let distinctRows = Number(row.__distinct_rows ?? rows);
  if (rows <= 1_000_000 && columns.length) {
    // exact where it is cheap; HyperLogLog's ~1 % error would invent duplicates in small files
    const [d] = (await conn.runAndReadAll(`SELECT count(DISTINCT hash(${columns.map(q).join(', ')}))::DOUBLE AS n FROM ${source}`)).getRowObjectsJS();
    distinctRows = Number(d.n);
  }

  const statistics: ColumnStatistics[] = columns.map((c, i) => {
    const count = Number(row[`c${i}`]);
    const distinct = Math.min(Number(row[`d${i}`]), count);
    const kind = c.kind === 'categorical' && distinct >= TEXT_MIN_DISTINCT && distinct > 0.5 * count ? 'text' : c.kind;
    const s: ColumnStatistics = { name: c.name, kind, count, missing: rows - count, distinct };
    if (numericLike(c)) {
      Object.assign(s, { min: num(row[`min${i}`]), max: num(row[`max${i}`]), mean: num(row[`mean${i}`]), std: num(row[`std${i}`]) });
      const qs = row[`q${i}`] as number[] | null | undefined;
      if (qs) s.quantiles = Object.fromEntries(QUANTILES.map((p, k) => [`p${Math.round(p * 100)}`, Number(qs[k])]));
    } else if (c.kind !== 'unsupported') {
      Object.assign(s, { min: row[`min${i}`] ?? null, max: row[`max${i}`] ?? null });
    }
    return s;
  });

  // histograms: 20 equal-width bins between each numeric column's min and max, all columns in one pass
  const binned = columns.map((c, i) => ({ c, i, s: statistics[i] }))
    .filter(({ c, s }) => c.kind === 'numeric' && s.count > 0 && s.min !== null && s.max !== null);
  if (binned.length) {
    const exprs = binned.map(({ c, i, s }) => {
      const [lo, hi] = [Number(s.min), Number(s.max)];
      const width = hi > lo ? (hi - lo) / HISTOGRAM_BINS : 1;
      return `histogram(least(${HISTOGRAM_BINS - 1}, floor((${x(c)} - ${lo}) / ${width}))::INTEGER) AS "h${i}"`;
    });
    const [h] = (await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${source}`)).getRowObjectsJS();
    for (const { i, s } of binned) {
      const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
      const entries = h[`h${i}`] as unknown as { key: unknown; value: unknown }[] | null;
      for (const e of entries ?? []) if (e.key !== null) counts[Number(e.key)] += Number(e.value);
      const [lo, hi] = [Number(s.min), Number(s.max)];
      const width = hi > lo ? (hi - lo) / HISTOGRAM_BINS : 1;
      s.histogram = { edges: Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => lo + k * width), counts };
    }
  }

  // the most frequent values of each categorical and boolean column, in one query
  const counted = columns.map((c, i) => ({ c, i })).filter(({ c, i }) => statistics[i].kind === 'categorical' || c.kind === 'boolean');
  if (counted.length) {
    const parts = counted.map(({ c, i }) => `(SELECT ${i} AS col, ${q(c)}::VARCHAR AS v, count(*)::DOUBLE AS n FROM ${source}
      WHERE ${q(c)} IS NOT NULL GROUP BY 2 ORDER BY 3 DESC, 2 LIMIT ${TOP_VALUES})`);
    const top = (await conn.runAndReadAll(parts.join(' UNION ALL '))).getRowObjectsJS();
    for (const { i } of counted) {
      statistics[i].top = top.filter((t) => Number(t.col) === i).map((t) => ({ value: String(t.v), count: Number(t.n) }))
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
    }
  }
  return { rows, duplicateRows: rows - distinctRows, columns: statistics };
}

/**
 * The columns a model needs, as JS arrays, in file order. Numerics and booleans become numbers,
 * datetimes become year, month and day of week, categoricals strings; rows whose target is
 * missing are left out (they cannot teach or test anything).
 */
/** The SELECT list that turns a source's columns into the model's input columns and "__target". */
function modelColumnSelect(features: ColumnSchema[], target: { name: string; numeric: boolean }, extra: string[] = []): string[] {
  const select: string[] = extra.map((name) => `${quoteIdent(name)}::VARCHAR AS ${quoteIdent(`__extra.${name}`)}`);
  for (const f of features) {
    const col = quoteIdent(f.name);
    if (f.kind === 'numeric') select.push(`${finite(`TRY_CAST(${col} AS DOUBLE)`)} AS ${quoteIdent(f.name)}`);
    else if (f.kind === 'boolean') select.push(`CASE WHEN ${col} IS NULL THEN NULL WHEN ${col} THEN 1.0 ELSE 0.0 END AS ${quoteIdent(f.name)}`);
    else if (f.kind === 'datetime') {
      select.push(`year(${col})::DOUBLE AS ${quoteIdent(`${f.name}.year`)}`,
        `month(${col})::DOUBLE AS ${quoteIdent(`${f.name}.month`)}`,
        `dayofweek(${col})::DOUBLE AS ${quoteIdent(`${f.name}.dayofweek`)}`);
    } else select.push(`${col}::VARCHAR AS ${quoteIdent(f.name)}`);
  }
  const t = quoteIdent(target.name);
  select.push(`${target.numeric ? finite(`TRY_CAST(${t} AS DOUBLE)`) : `${t}::VARCHAR`} AS "__target"`);
  return select;
}

export async function readModelColumns(conn: DuckDBConnection, source: string, features: ColumnSchema[],
  target: { name: string; numeric: boolean }, extra: string[] = []): Promise<{ columns: Record<string, (number | string | null)[]>; rows: number }> {
  const select = modelColumnSelect(features, target, extra);
  const reader = await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM ${source} WHERE ${quoteIdent(target.name)} IS NOT NULL`);
  const columns = reader.getColumnsObjectJS() as Record<string, (number | string | null)[]>;
  return { columns, rows: reader.currentRowCount };
}

/**
 * Some rows (by position among the labelled rows) twice over: as the model's input columns, the way
 * evaluation reads them, and as the raw JSON instances a client would send (dates as ISO strings).
 */
export async function readServingRows(conn: DuckDBConnection, source: string, features: ColumnSchema[],
  target: { name: string; numeric: boolean }, rows: number[]): Promise<{ columns: Record<string, (number | string | null)[]>; instances: Record<string, unknown>[] }> {
  const raw = features.map((f) => {
    const col = quoteIdent(f.name);
    const as = quoteIdent(`__raw.${f.name}`);
    if (f.kind === 'numeric') return `${finite(`TRY_CAST(${col} AS DOUBLE)`)} AS ${as}`;
    if (f.kind === 'boolean') return `${col}::BOOLEAN AS ${as}`;
    if (f.kind === 'datetime') return `strftime(${col}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${as}`;
    return `${col}::VARCHAR AS ${as}`;
  });
  const t = quoteIdent(target.name);
  const reader = await conn.runAndReadAll(`SELECT ${[...modelColumnSelect(features, target), ...raw].join(', ')}
    FROM (SELECT *, row_number() OVER () - 1 AS "__row" FROM ${source} WHERE ${t} IS NOT NULL)
    WHERE "__row" IN (${rows.map((r) => Math.trunc(r)).join(', ') || '-1'}) ORDER BY "__row"`);
  const columns = reader.getColumnsObjectJS() as Record<string, (number | string | null)[]>;
  const instances = Array.from({ length: reader.currentRowCount }, (_, i) =>
    Object.fromEntries(features.map((f) => [f.name, columns[`__raw.${f.name}`][i]]).filter(([, v]) => v !== null)));
  return { columns, instances };
}
