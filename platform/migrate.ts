/** `npm run migrate`: applies migrations/ to the database that DATABASE_URL names (or the embedded PGlite). */
import path from 'node:path';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/client';

try {
  const config = loadConfig();
  const db = await openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pglite') });
  await db.migrate();
  await db.close();
  console.log(`[migrate] ${db.kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} is up to date`);
} catch (err) {
  console.error(`[migrate] ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
}
