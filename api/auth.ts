/** Bearer tokens: API keys stored as sha256 hashes, plus the bootstrap admin token from the environment. */
import crypto from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { hasRole } from '../common/actors';
import type { Principal } from '../common/domain';
import type { Role } from '../common/vocabulary';
import type { Db } from '../db/client';
import { apiKeys } from '../db/schema';
import { ApiError } from './errors';

export type AppEnv = { Variables: { principal: Principal } };

/** a token's sha256, hex: what is stored and compared (the one-shot crypto.hash where Node has it: every request hashes one) */
export const hashToken: (token: string) => string = typeof crypto.hash === 'function'
  ? (token) => crypto.hash('sha256', token, 'hex')
  : (token) => crypto.createHash('sha256').update(token).digest('hex');
export const newToken = () => `pk_${crypto.randomBytes(24).toString('base64url')}`;
export const newKeyId = () => `key_${crypto.randomBytes(8).toString('hex')}`;
export const BOOTSTRAP_ADMIN: Principal = { keyId: 'bootstrap-admin', name: 'bootstrap admin', role: 'admin', owner: 'bootstrap-admin', mintedBy: null };


/**
 * Known keys, by token hash, for a few seconds: a prediction should not pay a database round trip
 * to authenticate. A revocation clears this replica's cache at once; other replicas within KEY_CACHE_MS.
 */
export const KEY_CACHE_MS = 5_000;
/** how long a key seen before is still accepted while the database cannot be reached: a revocation elsewhere wins after this */
export const KEY_STALE_MAX_MS = 5 * 60_000;

export function createKeyCache(ttlMs = KEY_CACHE_MS, { staleMaxMs = KEY_STALE_MAX_MS, now = Date.now } = {}) {
  const keys = new Map<string, { principal: Principal; at: number }>();
  // bumped by every forget(): a lookup that began before a revocation must not cache what it read
  let generation = 0;
  return {
    get(hash: string) {
      const hit = keys.get(hash);
      return hit && now() - hit.at < ttlMs ? hit.principal : undefined;
    },
    /** a key seen within staleMaxMs: used only while the database cannot be reached */
    stale(hash: string) {
      const hit = keys.get(hash);
      return hit && now() - hit.at < staleMaxMs ? hit.principal : undefined;
    },
    /** taken before reading a key row, and handed to set() with what was read */
    generation: () => generation,
    set(hash: string, principal: Principal, readAtGeneration: number) {
      if (readAtGeneration !== generation) return;
      if (keys.size > 10_000) keys.clear();
      keys.set(hash, { principal, at: now() });
    },
    forget(keyId: string) {
      generation++;
      for (const [hash, v] of keys) if (v.principal.keyId === keyId) keys.delete(hash);
    },
  };
}
export type KeyCache = ReturnType<typeof createKeyCache>;

/**
 * The principal of a request the console makes in-process (`app.request(path, init, { [CONSOLE_PRINCIPAL]: p })`):
 * it travels in the request's environment, which nothing arriving over HTTP can set.
 */
export const CONSOLE_PRINCIPAL = Symbol('perennial.console.principal');

/** The active key with this id as a principal (a console session names its key), or undefined when revoked or unknown. */
export async function principalOfKey(db: Db, keyId: string, adminToken?: string): Promise<Principal | undefined> {
  if (keyId === BOOTSTRAP_ADMIN.keyId) return adminToken ? BOOTSTRAP_ADMIN : undefined;
  const [k] = await db.select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role, owner: apiKeys.owner, mintedBy: apiKeys.createdByOwner, groups: apiKeys.groups })
    .from(apiKeys).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
  return k ? { keyId: k.id, name: k.name, role: k.role, owner: k.owner, mintedBy: k.mintedBy, groups: k.groups } : undefined;
}

/** The active key a token belongs to (the console's sign-in), or undefined. */
export async function principalOfToken(db: Db, token: string, adminToken?: string): Promise<Principal | undefined> {
  const hash = hashToken(token);
  if (adminToken && crypto.timingSafeEqual(Buffer.from(hash), Buffer.from(hashToken(adminToken)))) return BOOTSTRAP_ADMIN;
  const [k] = await db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.tokenHash, hash), isNull(apiKeys.revokedAt)));
  return k ? principalOfKey(db, k.id, adminToken) : undefined;
}

/**
 * The principal a request's Authorization header names: the bootstrap admin, a key seen within the
 * cache's lifetime (no database round trip, and no promise), or the key read from the database.
 * Throws the 401 or 503 the caller answers. Both the middleware and the predict fast path use it.
 */
export function createAuthenticator(db: Db, adminToken?: string, cache: KeyCache = createKeyCache()) {
  // compared as sha256 digests, in constant time; the admin token's is computed once
  const adminHash = adminToken ? Buffer.from(hashToken(adminToken)) : undefined;
  async function lookUp(hash: string): Promise<Principal> {
    let rows: { id: string; name: string; role: Role; owner: string; mintedBy: string | null; groups: string[] }[];
    const generation = cache.generation();
    try {
      rows = await db.select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role, owner: apiKeys.owner, mintedBy: apiKeys.createdByOwner, groups: apiKeys.groups }).from(apiKeys)
        .where(and(eq(apiKeys.tokenHash, hash), isNull(apiKeys.revokedAt)));
    } catch (err) {
      // the database is unreachable: a key that was valid moments ago still is (predictions go on)
      const stale = cache.stale(hash);
      if (!stale) throw new ApiError(503, 'unavailable', 'API keys cannot be checked now: the database does not answer.');
      return stale;
    }
    if (!rows.length) throw new ApiError(401, 'unauthorized', 'Unknown or revoked token.');
    const [k] = rows;
    const principal: Principal = { keyId: k.id, name: k.name, role: k.role, owner: k.owner, mintedBy: k.mintedBy, groups: k.groups };
    cache.set(hash, principal, generation);
    return principal;
  }
  /**
   * One read per key at a time: when a cached key expires under load, the requests that arrive
   * meanwhile wait for the same read instead of each sending its own. A request that arrives
   * after a revocation does not join a read begun before it.
   */
  const reads = new Map<string, { generation: number; principal: Promise<Principal> }>();
  function lookUpOnce(hash: string): Promise<Principal> {
    const generation = cache.generation();
    const inFlight = reads.get(hash);
    if (inFlight && inFlight.generation === generation) return inFlight.principal;
    const principal = lookUp(hash).finally(() => { if (reads.get(hash)?.principal === principal) reads.delete(hash); });
    reads.set(hash, { generation, principal });
    return principal;
  }
  return (authorization: string | undefined): Principal | Promise<Principal> => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new ApiError(401, 'unauthorized', 'Missing bearer token: send "Authorization: Bearer <token>".');
    const hash = hashToken(match[1]);
    if (adminHash && crypto.timingSafeEqual(Buffer.from(hash), adminHash)) return BOOTSTRAP_ADMIN;
    return cache.get(hash) ?? lookUpOnce(hash);
  };
}
export type Authenticator = ReturnType<typeof createAuthenticator>;

/** The middleware: the console's in-process principal, or the one the bearer token names. */
export function authenticate(principalOf: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const fromConsole = (c.env as Record<symbol, Principal | undefined> | undefined)?.[CONSOLE_PRINCIPAL];
    c.set('principal', fromConsole ?? await principalOf(c.req.header('authorization')));
    return next();
  };
}

/**
 * One fixed bearer token (a scraper's, for /metrics), compared as sha256 digests in constant time;
 * no token configured: open.
 */
export function requireBearer(token: string | undefined, what: string): MiddlewareHandler {
  if (!token) return (_c, next) => next();
  const expected = Buffer.from(hashToken(token));
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (!match || !crypto.timingSafeEqual(Buffer.from(hashToken(match[1])), expected)) {
      throw new ApiError(401, 'unauthorized', `${what} needs "Authorization: Bearer <token>" with its own token.`);
    }
    return next();
  };
}

export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = c.get('principal');
    if (!p || !hasRole(p, role)) {
      throw new ApiError(403, 'forbidden', `This needs the ${role} role; your key "${p?.name}" has ${p?.role}.`);
    }
    return next();
  };
}
