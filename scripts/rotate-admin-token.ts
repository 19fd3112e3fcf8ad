/**
 * `npm run rotate-admin-token`: a new bootstrap admin token in the data directory's admin-token file.
 * The running platform keeps the old one until it restarts (the next `npm start` reads the new one).
 * A token from PERENNIAL_ADMIN_TOKEN is not this file's: change that variable instead.
 */
import path from 'node:path';
import { ConfigError, loadConfig } from '../config';
import { maskToken, newAdminToken, writeAdminToken } from './admin-token-file';

function main() {
  const config = loadConfig();
  if (config.adminToken) {
    console.error('[perennial] PERENNIAL_ADMIN_TOKEN is set, so the admin token comes from the environment: change it there and restart.');
    process.exit(1);
  }
  const token = newAdminToken();
  const file = writeAdminToken(config.dataDir, token);
  console.log(`[perennial] new admin token ${maskToken(token)} written to ${path.relative(process.cwd(), file) || file} (mode 0600).`);
  console.log('[perennial] restart the platform (npm start) for it to take effect; the old token works until then.');
}

try {
  main();
} catch (err) {
  console.error(err instanceof ConfigError ? `[perennial] ${err.message}` : err);
  process.exit(1);
}
