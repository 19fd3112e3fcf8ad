/**
 * POST /v1/models/weather:predict, the KServe / TF Serving v1 shape; any role may predict. Its path
 * ends in ":predict", which the typed client cannot spell: client/ has a helper for it.
 */
import type { HttpBindings } from '@hono/node-server';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { PredictRequest } from '../../common/resources';
import type { AppEnv } from '../auth';
import { ApiError, validationError } from '../errors';
import { parseJson } from '../json-body-check';
import { errorResponses } from '../router';
import type { ModelServer } from '../serving';

/**
 * The JSON body of the hottest route, read from Node's request stream: building a WHATWG Request and
 * its ReadableStream for every prediction costs more than the prediction (measured with a CPU profile).
 */
async function readJsonBody(c: Context, maxBytes: number, tooLarge: () => ApiError): Promise<unknown> {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  let text: string;
  if (incoming && !incoming.readableEnded && !incoming.readableDidRead) {
    if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
    text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          incoming.removeAllListeners('data');
          incoming.resume(); // drain the rest unread
          reject(tooLarge());
        } else chunks.push(chunk);
      });
      incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      incoming.once('error', reject);
    });
  } else {
    text = await c.req.text();
    if (Buffer.byteLength(text) > maxBytes) throw tooLarge();
  }
  return parseJson(text);
}

/** Adds the predict route to the app (its body is read straight from the socket, under the same size limit). */
export function addPredictRoute(app: OpenAPIHono<AppEnv>, server: ModelServer, maxBodyBytes: number, tooLarge: () => ApiError) {
  app.post('/v1/models/:target{[A-Za-z0-9][A-Za-z0-9_.-]*:predict}', async (c) => {
    const name = c.req.param('target').replace(/:predict$/, '');
    const parsed = PredictRequest.safeParse(await readJsonBody(c, maxBodyBytes, tooLarge));
    if (!parsed.success) throw validationError(parsed.error.issues);
    const entityKey = c.req.header('x-entity-key') || undefined;
    const requestedBy = c.get('principal').owner;
    return c.json(await server.predict(name, parsed.data.instances, { entityKey, requestedBy }), 200);
  });
  app.openAPIRegistry.registerPath({
    method: 'post', path: '/v1/models/{name}:predict', tags: ['models'],
    summary: 'Predict (KServe / TF Serving v1 shape): production answers, or the canary for its share of traffic',
    description: 'X-Entity-Key: requests with the same key always meet the same version (hashed); without it the split is random. '
      + 'A 422 names the first 20 problems, their total and the features the model knows; a 413 names the instances a request may carry '
      + 'for the model (instances × weights at most the per-request cost limit).',
    request: {
      params: z.object({ name: z.string() }), headers: z.object({ 'x-entity-key': z.string().optional() }),
      body: { content: { 'application/json': { schema: PredictRequest } } },
    },
    responses: {
      200: { description: '{"predictions": [{"label", "probabilities"} | {"value"}], "modelVersion", "predictionIds"}' },
      ...errorResponses(400, 401, 404, 409, 413, 422),
    },
  });
}
