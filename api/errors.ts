/** One error shape for every failure: {"error": {"code", "message", "details"}}; never a stack trace. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { forLog } from '../common/text';

export class ApiError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} was not found.`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const forbidden = (message: string, code = 'forbidden') => new ApiError(403, code, message);

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

const httpExceptionCodes: Partial<Record<number, string>> = {
  400: 'invalid_request', 401: 'unauthorized', 413: 'payload_too_large', 415: 'unsupported_media_type',
};

export function handleError(err: Error, c: Context) {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.details), err.status);
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = httpExceptionCodes[status] ?? 'http_error';
    const message = status === 413 ? 'The request body is too large.'
      : status === 415 ? 'The body must be JSON, sent with "Content-Type: application/json".' : err.message || 'Bad request.';
    return c.json(errorBody(code, message), status);
  }
  const away = unreachableDependency(err);
  if (away) {
    // an outage of what the API stands on is not the API's bug: say so, and when to try again
    console.error(`[api] ${away} unreachable on ${forLog(c.req.method, 16)} ${forLog(new URL(c.req.url).pathname)}: ${forLog(err.message, 200)}`);
    c.header('Retry-After', '5');
    const what = away === 'temporal' ? 'Temporal cannot be reached, or no worker answered in time' : 'The database cannot be reached';
    return c.json(errorBody(`${away}_unavailable`, `${what}; nothing was changed. Try again in a few seconds.`), 503);
  }
  // the path as sent (still percent-encoded), so a %0A cannot start a forged log line
  console.error(`[api] unexpected error on ${forLog(c.req.method, 16)} ${forLog(new URL(c.req.url).pathname)}:`, err);
  return c.json(errorBody('internal', 'An unexpected error occurred; it has been logged.'), 500);
}

/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED from Temporal's client; refused or dropped connections to PostgreSQL */
const GRPC_UNAVAILABLE = new Set([14, 4]);
const DB_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P03']);

/** which dependency an error says cannot be reached, following its causes; null for anything else */
export function unreachableDependency(err: unknown): 'temporal' | 'database' | null {
  for (let e: any = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if ((e.name === 'ServiceError' || typeof e.metadata === 'object') && GRPC_UNAVAILABLE.has(e.cause?.code ?? e.code)) return 'temporal';
    if (typeof e.code === 'string' && DB_CONNECTION_CODES.has(e.code)) return 'database';
  }
  return null;
}

/** the most problems a 400 describes: an answer must not grow with what a request repeats */
export const MAX_ERROR_DETAILS = 20;
/** a field name as the caller sent it, cut short: an answer never echoes a megabyte of key */
const fieldName = (parts: PropertyKey[]) => parts.map((p) => { const s = String(p); return s.length > 64 ? `${s.slice(0, 64)}…` : s; }).join('.');

/** zod issues -> "field.path: message", so a 400 names the offending field (the first MAX_ERROR_DETAILS, and how many more). */
export function validationError(issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[]) {
  const all = issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys' && i.keys?.length) {
      return i.keys.map((k) => ({ field: fieldName([...i.path, k]), message: 'unknown field' }));
    }
    return [{ field: fieldName(i.path) || '(body)', message: i.message.length > 300 ? `${i.message.slice(0, 300)}…` : i.message }];
  });
  const details = all.slice(0, MAX_ERROR_DETAILS);
  const more = all.length > details.length ? ` (and ${all.length - details.length} more)` : '';
  const message = `Invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}${more}`;
  return new ApiError(400, 'invalid_request', message, details);
}
