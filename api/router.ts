import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './auth';
import { ErrorSchema } from '../common/resources';
import { refineSafeText } from '../common/text';
import { validationError } from './errors';

/** A router whose request validation fails as a 400 naming every offending field. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues);
    },
  });
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

/**
 * A route's path parameter: `pathParam('id', z.string())` documents it as `{id}` in the path. Text
 * passes the SafeText checks (a NUL from `%00` would otherwise reach PostgreSQL and fail there).
 */
export const pathParam = <T extends z.ZodType>(name: string, schema: T) =>
  schema.superRefine(refineSafeText).openapi({ param: { name, in: 'path' } });

/** the largest value of a PostgreSQL integer column: a larger version number is a 400, not a failed query */
export const INT4_MAX = 2_147_483_647;

/** a version number in a path: `/versions/{version}` */
export const versionParam = (name = 'version') => pathParam(name, z.coerce.number().int().min(1).max(INT4_MAX));

const errorDescriptions = {
  400: 'Invalid input; details names the fields', 401: 'No or bad token', 403: 'Role too low, or a rule such as four-eyes',
  404: 'No such thing', 409: 'State conflict', 413: 'Body too large', 422: 'Refused by the stage',
} as const;
type ErrorStatus = keyof typeof errorDescriptions;
type ErrorResponses<C extends ErrorStatus> = { [K in C]: ReturnType<typeof json<typeof ErrorSchema>> };

/**
 * The error responses a route may give, each in the one error shape. Keyed by status in the type
 * too, so the typed client sees `{error: {code, message, details}}` on each of them.
 */
export function errorResponses<const C extends ErrorStatus>(...codes: C[]): ErrorResponses<C> {
  const responses: Partial<Record<ErrorStatus, ReturnType<typeof json<typeof ErrorSchema>>>> = {};
  for (const code of codes) responses[code] = json(ErrorSchema, errorDescriptions[code]);
  return responses as ErrorResponses<C>;
}
