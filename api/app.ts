/**
 * The HTTP API: a thin layer that starts, signals and queries workflows through the Temporal
 * client and reads the registry through db/. It never trains or computes anything itself.
 */
import type { Client } from '@temporalio/client';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { authenticate, createKeyCache } from './auth';
import { ApiError, errorBody, handleError, validationError } from './errors';
import { createMetrics, type Metrics } from './metrics';
import { createPipelineService } from './pipelines';
import { z } from '@hono/zod-openapi';
import { errorResponses, PredictRequest } from './schemas';
import type { ModelServer } from './serving';
import { newRouter } from './router';
import { apiKeyRoutes } from './routes/api-keys';
import { datasetRoutes } from './routes/datasets';
import { feedbackRoutes } from './routes/feedback';
import { modelRoutes } from './routes/models';
import { pipelineRoutes } from './routes/pipelines';

export interface AppDeps {
  config: Config;
  database: Database;
  client: Client;
  /** predictions: the deployments in memory, the bundles, the prediction log */
  server: ModelServer;
  metrics?: Metrics;
  /** how long a looked-up API key is trusted before it is read again (default 5 s) */
  keyCacheMs?: number;
}

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
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_request', 'The body is not valid JSON.');
  }
}

export function createApp({ config, database, client, server, metrics = createMetrics(), keyCacheMs }: AppDeps) {
  const { db } = database;
  const app = newRouter();
  app.onError(handleError);
  app.notFound((c) => c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}.`), 404));
  app.use('*', metrics.middleware);
  const tooLarge = () => new ApiError(413, 'payload_too_large', `The request body is larger than ${config.maxBodyBytes} bytes.`);
  const limit = bodyLimit({ maxSize: config.maxBodyBytes, onError: () => { throw tooLarge(); } });
  // predict reads its body straight from the socket (readJsonBody), with the same limit
  app.use('*', (c, next) => (c.req.path.endsWith(':predict') ? next() : limit(c, next)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000))]);
        return { ok: true as const };
      } catch (err) {
        return { ok: false as const, error: (err as Error).message.split('\n')[0] };
      }
    };
    const [temporal, database_] = await Promise.all([
      check(() => client.workflowService.getSystemInfo({})),
      check(() => database.ping()),
    ]);
    const down = [!temporal.ok && 'temporal', !database_.ok && 'database'].filter(Boolean) as string[];
    const body = { status: down.length ? 'unavailable' : 'ready', down, checks: { temporal, database: database_ } };
    return c.json(body, down.length ? 503 : 200);
  });
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  const keyCache = createKeyCache(keyCacheMs);
  app.use('/v1/*', authenticate(db, config.adminToken, keyCache));
  app.route('/v1/pipelines', pipelineRoutes(createPipelineService({ client, db, config }), metrics));
  // POST /v1/models/weather:predict (the KServe / TF Serving v1 shape); any role may predict
  app.post('/v1/models/:target{[A-Za-z0-9][A-Za-z0-9_.-]*:predict}', async (c) => {
    const name = c.req.param('target').replace(/:predict$/, '');
    const body = await readJsonBody(c, config.maxBodyBytes, tooLarge);
    const parsed = PredictRequest.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error.issues);
    const entityKey = c.req.header('x-entity-key') || undefined;
    return c.json(await server.predict(name, parsed.data.instances, { entityKey }), 200);
  });
  app.openAPIRegistry.registerPath({
    method: 'post', path: '/v1/models/{name}:predict', tags: ['models'],
    summary: 'Predict (KServe / TF Serving v1 shape): production answers, or the canary for its share of traffic',
    description: 'X-Entity-Key: requests with the same key always meet the same version (hashed); without it the split is random.',
    request: { params: z.object({ name: z.string() }), headers: z.object({ 'x-entity-key': z.string().optional() }), body: { content: { 'application/json': { schema: PredictRequest } } } },
    responses: {
      200: { description: '{"predictions": [{"label", "probabilities"} | {"value"}], "modelVersion", "predictionIds"}' },
      ...errorResponses(400, 401, 404, 409, 422),
    },
  });
  app.route('/v1/models', modelRoutes(db));
  app.route('/v1/feedback', feedbackRoutes(db));
  app.route('/v1/datasets', datasetRoutes(db));
  app.route('/v1/api-keys', apiKeyRoutes(db, keyCache));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Perennial API', version: '1', description: 'Start pipelines, approve promotions, inspect models. See API.md.' },
    security: [{ bearer: [] }],
  });
  return app;
}
export type App = ReturnType<typeof createApp>;
