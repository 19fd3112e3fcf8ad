/** One error shape for every failure: {"error": {"code", "message", "details"}}; never a stack trace. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

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
  console.error(`[api] unexpected error on ${c.req.method} ${c.req.path}:`, err);
  return c.json(errorBody('internal', 'An unexpected error occurred; it has been logged.'), 500);
}

/** the most problems a 400 describes: an answer must not grow with what a request repeats */
export const MAX_ERROR_DETAILS = 20;

/** zod issues -> "field.path: message", so a 400 names the offending field (the first MAX_ERROR_DETAILS, and how many more). */
export function validationError(issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[]) {
  const all = issues.flatMap((i) => {
    const base = i.path.map(String);
    if (i.code === 'unrecognized_keys' && i.keys?.length) {
      return i.keys.map((k) => ({ field: [...base, k].join('.'), message: 'unknown field' }));
    }
    return [{ field: base.join('.') || '(body)', message: i.message }];
  });
  const details = all.slice(0, MAX_ERROR_DETAILS);
  const more = all.length > details.length ? ` (and ${all.length - details.length} more)` : '';
  const message = `Invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}${more}`;
  return new ApiError(400, 'invalid_request', message, details);
}
