/**
 * Every JSON body, before any route sees it: no string (value or key) that PostgreSQL would refuse,
 * and no nesting deep enough to overflow a recursive walk later (JSON.stringify, a validator, a log).
 * A route's own schema then checks the fields it knows; this covers the ones it takes as they come
 * (`monitor`, prediction instances).
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors';

/** deeper than any request the API defines; far below what a recursive walk can survive */
export const MAX_JSON_DEPTH = 64;

function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (!s.isWellFormed()) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}

/** The first problem in a parsed JSON value, found without recursion: where it is and what it is. */
export function jsonValueProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): { field: string; message: string } | null {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length) {
    const { value: v, path } = stack.pop()!;
    const field = () => path.join('.') || '(body)';
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return { field: field(), message: problem };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= maxDepth) return { field: `${path.slice(0, 3).join('.')}…`, message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, String(i)] });
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      const problem = stringProblem(key);
      if (problem) return { field: field(), message: `a key ${problem}` };
      stack.push({ value: child, path: [...path, key.length > 64 ? `${key.slice(0, 64)}…` : key] });
    }
  }
  return null;
}

export function assertSafeJson<T>(value: T): T {
  const problem = jsonValueProblem(value);
  if (problem) throw new ApiError(400, 'invalid_request', `Invalid request: ${problem.field}: ${problem.message}`, [problem]);
  return value;
}

/** The middleware: a JSON body is parsed and checked; hono keeps its text for the route's validator. */
export const checkJsonBody: MiddlewareHandler = async (c, next) => {
  const type = c.req.header('content-type') ?? '';
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || !/^application\/([a-z0-9.+-]*\+)?json/i.test(type)) return next();
  const text = await c.req.text();
  if (!text.trim()) return next(); // no body: the route says whether it needs one
  parseSafeJson(text);
  return next();
};

/** JSON text parsed and checked (assertSafeJson), or a 400. */
export const parseSafeJson = (text: string): unknown => assertSafeJson(parseJson(text));

/**
 * JSON text parsed, or a 400. Predict takes this: its instances are checked value by value
 * (ml/instance-values.ts, without recursion), and a value it refuses is a 422 naming the feature.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_request', 'The body is not valid JSON.');
  }
}
