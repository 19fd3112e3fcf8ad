/**
 * Requests per key: a token bucket per API key on this replica, so one key (a viewer with a loop)
 * cannot take the API from everyone else. Over it: 429 with Retry-After, in the error shape.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth';
import { ApiError } from './errors';

/** keys tracked at once; the longest idle are forgotten first (a forgotten key starts with a full bucket) */
const MAX_KEYS = 10_000;

export function rateLimit(opts: { perSecond: number; burst: number; now?: () => number }): MiddlewareHandler<AppEnv> {
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (c, next) => {
    if (opts.perSecond <= 0) return next();
    const key = c.get('principal').keyId;
    const t = now();
    const b = buckets.get(key) ?? { tokens: opts.burst, at: t };
    b.tokens = Math.min(opts.burst, b.tokens + ((t - b.at) / 1000) * opts.perSecond);
    b.at = t;
    buckets.delete(key); // re-inserted last: the map's order is least recently used first
    buckets.set(key, b);
    if (buckets.size > MAX_KEYS) buckets.delete(buckets.keys().next().value!);
    if (b.tokens < 1) {
      const wait = Math.ceil((1 - b.tokens) / opts.perSecond);
      c.header('retry-after', String(wait));
      throw new ApiError(429, 'rate_limited', `Too many requests for this key: at most ${opts.perSecond} a second (bursts of ${opts.burst}); retry in ${wait} s.`);
    }
    b.tokens -= 1;
    return next();
  };
}
