/**
 * Console sign-ins. The cookie holds a random id; the database keeps its sha256, the API key the
 * session acts as, a CSRF token for its forms, and when it expires. Revoking the key ends every
 * session of it (the key is looked up on each request); signing out deletes the row.
 */
import crypto from 'node:crypto';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Db } from '../db/client';
import { consoleSessions } from '../db/schema';

export const SESSION_COOKIE = 'perennial_session';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

export interface Session { keyId: string; csrf: string; expiresAt: Date }

export async function openSession(db: Db, keyId: string, ttlMs: number): Promise<{ id: string } & Session> {
  const id = crypto.randomBytes(32).toString('base64url');
  const session = { keyId, csrf: crypto.randomBytes(24).toString('base64url'), expiresAt: new Date(Date.now() + ttlMs) };
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, new Date())); // the expired ones of everyone
  await db.insert(consoleSessions).values({ idHash: sha256(id), ...session });
  return { id, ...session };
}

/** The live session a cookie names, or undefined (unknown, expired, or not a cookie we made). */
export async function findSession(db: Db, id: string | undefined): Promise<Session | undefined> {
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const [row] = await db.select().from(consoleSessions)
    .where(and(eq(consoleSessions.idHash, sha256(id)), gt(consoleSessions.expiresAt, new Date())));
  return row ? { keyId: row.keyId, csrf: row.csrf, expiresAt: row.expiresAt } : undefined;
}

export async function closeSession(db: Db, id: string | undefined): Promise<void> {
  if (id) await db.delete(consoleSessions).where(eq(consoleSessions.idHash, sha256(id)));
}

/** the form's token against the session's, in constant time */
export function csrfMatches(session: Session, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length !== session.csrf.length) return false;
  return crypto.timingSafeEqual(Buffer.from(sent), Buffer.from(session.csrf));
}
