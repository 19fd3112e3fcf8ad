/**
 * DuckDB is the data engine: it reads CSV, JSON, NDJSON and Parquet natively and profiles
 * columns in SQL. Each call opens an in-memory instance, so activities share no state.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnKind, ColumnSchema, ColumnStatistics, DatasetFormat } from './types';

export async function withDuckDb<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
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
export function sourceSql(filePath: string, format: DatasetFormat): string {
  const p = quoteString(filePath);
  switch (format) {
    case 'csv': return `read_csv(${p}, auto_detect = true, sample_size = -1)`;
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

/** Row count and per-column statistics, in two passes over the data whatever the column count. */
export async function profile(conn: DuckDBConnection, source: string, columns: ColumnSchema[]):
Promise<{ rows: number; statistics: ColumnStatistics[] }> {
  const aggregates: string[] = ['count(*)::DOUBLE AS "__rows"'];
  columns.forEach((c, i) => {
    const col = quoteIdent(c.name);
    aggregates.push(`count(${col})::DOUBLE AS "c${i}"`, `approx_count_distinct(${col})::DOUBLE AS "d${i}"`);
    if (c.kind === 'numeric' || c.kind === 'boolean') {
      const x = c.kind === 'boolean' ? `${col}::INTEGER` : col;
      aggregates.push(`min(${x})::DOUBLE AS "min${i}"`, `max(${x})::DOUBLE AS "max${i}"`,
        `avg(${x})::DOUBLE AS "mean${i}"`, `stddev_samp(${x})::DOUBLE AS "std${i}"`);
    } else if (c.kind !== 'unsupported') {
      aggregates.push(`min(${col})::VARCHAR AS "min${i}"`, `max(${col})::VARCHAR AS "max${i}"`);
    }
  });
  const [row] = (await conn.runAndReadAll(`SELECT ${aggregates.join(', ')} FROM ${source}`)).getRowObjectsJS();
  const rows = Number(row.__rows);
  const statistics: ColumnStatistics[] = [];
  for (const [i, c] of columns.entries()) {
    const count = Number(row[`c${i}`]);
    const s: ColumnStatistics = {
      name: c.name, kind: c.kind, count, missing: rows - count, distinct: Number(row[`d${i}`]),
    };
    if (c.kind === 'numeric' || c.kind === 'boolean') {
      Object.assign(s, { min: num(row[`min${i}`]), max: num(row[`max${i}`]), mean: num(row[`mean${i}`]), std: num(row[`std${i}`]) });
    } else if (c.kind !== 'unsupported') {
      Object.assign(s, { min: row[`min${i}`] ?? null, max: row[`max${i}`] ?? null });
    }
    if (c.kind === 'categorical' || c.kind === 'boolean') {
      const col = quoteIdent(c.name);
      const top = await conn.runAndReadAll(
        `SELECT ${col}::VARCHAR AS v, count(*)::DOUBLE AS n FROM ${source} WHERE ${col} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20`);
      s.top = top.getRowObjectsJS().map((t) => ({ value: String(t.v), count: Number(t.n) }));
    }
    statistics.push(s);
  }
  return { rows, statistics };
}

/**
 * The columns a model needs, as JS arrays, in file order. Numerics and booleans become numbers,
 * datetimes become year, month and day of week, categoricals strings; rows whose target is
 * missing are left out (they cannot teach or test anything).
 */
export async function readModelColumns(conn: DuckDBConnection, source: string, features: ColumnSchema[],
  target: { name: string; numeric: boolean }): Promise<{ columns: Record<string, (number | string | null)[]>; rows: number }> {
  const select: string[] = [];
  for (const f of features) {
    const col = quoteIdent(f.name);
    if (f.kind === 'numeric') select.push(`TRY_CAST(${col} AS DOUBLE) AS ${quoteIdent(f.name)}`);
    else if (f.kind === 'boolean') select.push(`CASE WHEN ${col} IS NULL THEN NULL WHEN ${col} THEN 1.0 ELSE 0.0 END AS ${quoteIdent(f.name)}`);
    else if (f.kind === 'datetime') {
      select.push(`year(${col})::DOUBLE AS ${quoteIdent(`${f.name}.year`)}`,
        `month(${col})::DOUBLE AS ${quoteIdent(`${f.name}.month`)}`,
        `dayofweek(${col})::DOUBLE AS ${quoteIdent(`${f.name}.dayofweek`)}`);
    } else select.push(`${col}::VARCHAR AS ${quoteIdent(f.name)}`);
  }
  const t = quoteIdent(target.name);
  select.push(`${target.numeric ? `TRY_CAST(${t} AS DOUBLE)` : `${t}::VARCHAR`} AS "__target"`);
  const reader = await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM ${source} WHERE ${t} IS NOT NULL`);
  const columns = reader.getColumnsObjectJS() as Record<string, (number | string | null)[]>;
  return { columns, rows: reader.currentRowCount };
}
