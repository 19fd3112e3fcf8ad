/**
 * The remote codec the Temporal UI calls (`--ui-codec-endpoint <api>/codec`) to show encrypted
 * payloads to people allowed to read them: `POST /codec/decode` and `/codec/encode` (approver),
 * with CORS for the Temporal UI's origin only. With payload encryption off they do not exist (404).
 */
import { createRoute } from '@hono/zod-openapi';
import { ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { CodecPayloads, type JsonPayload } from '../../common/codec-payloads';
import type { Config } from '../../config';
import { requireRole, type AppEnv } from '../auth';
import { ApiError, notFound } from '../errors';
import { errorResponses, json, newRouter } from '../router';

export const CODEC_PATH = '/codec';

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  ...(data?.length ? { data: Buffer.from(data).toString('base64') } : {}),
});

/**
 * Before authentication: 404 when encryption is off; CORS for the Temporal UI (a preflight is
 * answered here, without a token, and only the UI's origin is allowed).
 */
export function codecGate(codec: PayloadCodec | undefined, config: Config): MiddlewareHandler<AppEnv> {
  const allowCors = cors({
    origin: new URL(config.temporal.uiUrl).origin,
    credentials: true,
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['authorization', 'content-type', 'x-namespace'],
    maxAge: 600,
  });
  return async (c, next) => {
    if (!codec) throw notFound('The codec (payload encryption is off: PERENNIAL_CODEC_KEY is not set)');
    return allowCors(c, next);
  };
}

/** Each payload through the codec, one at a time, so a refusal names the payload it refused. */
async function each(payloads: JsonPayload[], step: (p: Payload[]) => Promise<Payload[]>) {
  const out: JsonPayload[] = [];
  for (const [index, payload] of payloads.entries()) {
    try {
      out.push(...(await step([fromJson(payload)])).map(toJson));
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      throw new ApiError(400, 'invalid_payload', `payloads.${index}: ${err.message}`, [{ field: `payloads.${index}`, message: err.message }]);
    }
  }
  return { payloads: out };
}

export function codecRoutes(codec: PayloadCodec | undefined) {
  const route = (path: '/encode' | '/decode', summary: string) => createRoute({
    method: 'post', path, tags: ['codec'], summary, middleware: [requireRole('approver')],
    request: { body: { content: { 'application/json': { schema: CodecPayloads } }, required: true } },
    responses: { 200: json(CodecPayloads, 'The payloads, in order'), ...errorResponses(400, 401, 403, 404) },
  });
  return newRouter()
    .openapi(route('/decode', 'Decrypt payloads for the Temporal UI (approver; 404 when encryption is off)'),
      async (c) => c.json(await each(c.req.valid('json').payloads, (p) => codec!.decode(p)), 200))
    .openapi(route('/encode', 'Encrypt payloads for the Temporal UI (approver; 404 when encryption is off)'),
      async (c) => c.json(await each(c.req.valid('json').payloads, (p) => codec!.encode(p)), 200));
}
