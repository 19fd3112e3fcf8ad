/**
 * The bootstrap admin token `npm start` keeps in the data directory when PERENNIAL_ADMIN_TOKEN is
 * not set: made once, readable by its owner only (0600), shown only masked.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const adminTokenFile = (dataDir: string) => path.join(dataDir, 'admin-token');
export const newAdminToken = () => `pk_admin_${crypto.randomBytes(24).toString('base64url')}`;

/** enough to tell two tokens apart (the fixed "pk_admin_" and 3 random characters), far too little to use */
export const maskToken = (token: string) => `${token.slice(0, 12)}…`;

/** Writes a token, replacing any earlier one in one step (a reader never sees half a file). */
export function writeAdminToken(dataDir: string, token: string): string {
  const file = adminTokenFile(dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}

/** The token in the data directory, made now when there is none: `generated` says which. */
export function readOrCreateAdminToken(dataDir: string): { token: string; file: string; generated: boolean } {
  const file = adminTokenFile(dataDir);
  if (fs.existsSync(file)) return { token: fs.readFileSync(file, 'utf8').trim(), file, generated: false };
  const token = newAdminToken();
  writeAdminToken(dataDir, token);
  return { token, file, generated: true };
}
