/**
 * A `sql://<name>` dataset: the query runs on a connection an admin configured, inside a READ ONLY
 * transaction with a statement timeout, and its rows stream to NDJSON under a row and a byte cap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { datasetError, tempDir, transient, type LocalSource } from './source-errors';
import type { SourcePolicy } from './source-policy';

/** numeric and bigint columns come from postgres.js as strings: keep them numbers */
const NUMERIC_OIDS = new Set([20, 21, 23, 700, 701, 1700]);

/** stops the cursor once a cap is reached */
class CapReached extends Error {}

export async function fromSql(source: { name: string; url: string }, query: string, policy: SourcePolicy): Promise<LocalSource> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(source.url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const { dir, cleanup } = await tempDir();
  const file = path.join(dir, 'query.ndjson');
  const out = fs.createWriteStream(file);
  let rows = 0;
  let bytes = 0;
  try {
    await sql.begin('read only', async (tx) => {
      await tx`SELECT set_config('statement_timeout', ${String(policy.statementTimeoutMs)}, true)`;
      const cursor = tx.unsafe(query).cursor(1000);
      for await (const batch of cursor) {
        const numeric = (batch as unknown as { columns?: { name: string; type: number }[] }).columns
          ?.filter((c) => NUMERIC_OIDS.has(c.type)).map((c) => c.name) ?? [];
        for (const row of batch) {
          if (++rows > policy.maxRows) throw new CapReached(`more than ${policy.maxRows} rows (PERENNIAL_MAX_SOURCE_ROWS)`);
          for (const n of numeric) if (typeof row[n] === 'string') row[n] = Number(row[n]);
          const line = `${JSON.stringify(row)}\n`;
          bytes += Buffer.byteLength(line);
          if (bytes > policy.maxBytes) throw new CapReached(`more than ${policy.maxBytes} bytes (PERENNIAL_MAX_SOURCE_BYTES)`);
          if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
      }
    });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { file, name: file, cleanup };
  } catch (err) {
    out.destroy();
    await cleanup();
    if (err instanceof CapReached) throw datasetError(`The dataset query of sql://${source.name} returned ${err.message}.`);
    const e = err as { code?: string; message: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'CONNECT_TIMEOUT' || e.code === 'ENOTFOUND') {
      throw transient(`Could not reach sql://${source.name} for the dataset query (${e.code}).`);
    }
    if (e.code === '25006') throw datasetError(`The dataset query of sql://${source.name} was refused: it runs in a READ ONLY transaction (${e.message}).`);
    if (e.code === '57014') throw datasetError(`The dataset query of sql://${source.name} ran past its statement timeout (PERENNIAL_SQL_STATEMENT_TIMEOUT).`);
    throw datasetError(`The dataset query failed: ${e.message}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
