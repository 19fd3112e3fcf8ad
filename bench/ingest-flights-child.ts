/** One measured run for bench/ingest-flights.ts, in its own process. Prints JSON. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalArtifactStore } from '../db/artifacts';
import { createDataActivities } from '../activities/data';
import { withDuckDb } from '../activities/duckdb';
import { sourcePolicyOf } from '../activities/source-policy';
import { loadConfig } from '../config';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../db/client';

const [mode, file] = process.argv.slice(2);
if (mode === 'summarize') {
  const t0 = performance.now();
  const rows = await withDuckDb(async (conn) => {
    const r = await conn.runAndReadAll(`SUMMARIZE SELECT * FROM read_parquet('${file}')`);
    return Number(r.getRowObjectsJS()[0].count);
  });
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, rows }));
} else {
  // the database and store are opened first, as a running worker has them open already
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-bench-ingest-'));
  // the production worker's database is PostgreSQL (DATABASE_URL); PGlite alone holds ~700 MB
  const db = await openDatabase({ url: process.env.DATABASE_URL, pgliteDir: 'memory://' });
  await db.migrate();
  await db.db.execute(sql`TRUNCATE datasets CASCADE`); // a bench database: every run ingests anew, no dedupe
  const sources = sourcePolicyOf(loadConfig({ PERENNIAL_DATA_DIR: dir, PERENNIAL_IMPORT_ROOTS: path.dirname(path.resolve(file)) }));
  const data = createDataActivities({ db: db.db, artifacts: new LocalArtifactStore(dir), sources });
  const t0 = performance.now();
  const version = await data.ingestDataset({ uri: file });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, rows: version.rows, database: db.kind }));
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
