/**
 * Requests per key: a token bucket per API key on this replica, so one key (a viewer with a loop)
 * cannot take the API from everyone else. Over it: 429 with Retry-After, in the error shape.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth';
import { ApiError } from './errors';

/** keys tracked at once; the longest idle are forgotten first (a forgotten key starts with a full bucket) */
const MAX_KEYS = 10_000;

/**
 * The buckets: `take(key)` spends one request of the key's, or throws the 429 (its Retry-After in
 * `headers`). Both the middleware and the predict fast path take from the same buckets.
 */
export function createRateLimiter(opts: { perSecond: number; burst: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (key: string): void => {
    if (opts.perSecond <= 0) return;
    const t = now();
    const b = buckets.get(key) ?? { tokens: opts.burst, at: t };
    b.tokens = Math.min(opts.burst, b.tokens + ((t - b.at) / 1000) * opts.perSecond);
    b.at = t;
    buckets.delete(key); // re-inserted last: the map's order is least recently used first
    buckets.set(key, b);
    if (buckets.size > MAX_KEYS) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      const wait = Math.ceil((1 - b.tokens) / opts.perSecond);
      throw new ApiError(429, 'rate_limited', `Too many requests for this key: at most ${opts.perSecond} a second (bursts of ${opts.burst}); retry in ${wait} s.`,
        undefined, { 'retry-after': String(wait) });
    }
    b.tokens -= 1;
  };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** The middleware: one request of the principal's key, or 429. */
export function rateLimit(limiter: RateLimiter | Parameters<typeof createRateLimiter>[0]): MiddlewareHandler<AppEnv> {
  const take = typeof limiter === 'function' ? limiter : createRateLimiter(limiter);
  return async (c, next) => {
    take(c.get('principal').keyId);
    return next();
  };
}
