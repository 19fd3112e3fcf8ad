import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './auth';
import { ErrorSchema } from '../common/resources';
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

/** A route's path parameter: `pathParam('id', z.string())` documents it as `{id}` in the path. */
export const pathParam = <T extends z.ZodType>(name: string, schema: T) => schema.openapi({ param: { name, in: 'path' } });

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
