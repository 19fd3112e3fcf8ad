import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './auth';
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
