/** One error shape for every failure: {"error": {"code", "message", "details"}}; never a stack trace. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { forLog } from '../common/text';

export class ApiError extends Error {
  /** `headers`: sent with the error (a 429's Retry-After) */
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string, readonly details?: unknown,
    readonly headers?: Record<string, string>) {
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

/**
 * Any error as the answer the caller gets: status, the one error body, extra headers. What is not
 * the caller's fault is logged with the method and path (as sent, still percent-encoded, so a %0A
 * cannot start a forged log line), never shown.
 */
export function errorReply(err: Error, method: string, path: string):
{ status: ContentfulStatusCode; body: ReturnType<typeof errorBody>; headers?: Record<string, string> } {
  if (err instanceof ApiError) return { status: err.status, body: errorBody(err.code, err.message, err.details), headers: err.headers };
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = httpExceptionCodes[status] ?? 'http_error';
    const message = status === 413 ? 'The request body is too large.'
      : status === 415 ? 'The body must be JSON, sent with "Content-Type: application/json".' : err.message || 'Bad request.';
    return { status, body: errorBody(code, message) };
  }
  const away = unreachableDependency(err);
  if (away) {
    // an outage of what the API stands on is not the API's bug: say so, and when to try again
    console.error(`[api] ${away} unreachable on ${forLog(method, 16)} ${forLog(path)}: ${forLog(err.message, 200)}`);
    const what = away === 'temporal' ? 'Temporal cannot be reached, or no worker answered in time' : 'The database cannot be reached';
    return { status: 503, body: errorBody(`${away}_unavailable`, `${what}; nothing was changed. Try again in a few seconds.`), headers: { 'retry-after': '5' } };
  }
  console.error(`[api] unexpected error on ${forLog(method, 16)} ${forLog(path)}:`, err);
  return { status: 500, body: errorBody('internal', 'An unexpected error occurred; it has been logged.') };
}

export function handleError(err: Error, c: Context) {
  const reply = errorReply(err, c.req.method, new URL(c.req.url).pathname);
  for (const [name, value] of Object.entries(reply.headers ?? {})) c.header(name, value);
  return c.json(reply.body, reply.status);
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
