/**
 * The HTTP API: a thin layer that starts, signals and queries workflows through the Temporal
 * client and reads the registry through db/. It never trains or computes anything itself.
 * The routes are chained, so `AppType` carries every route's input and output: client/ derives
 * the typed client from it.
 */
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../config';
import { LocalArtifactStore, type ArtifactStore } from '../db/artifacts';
import type { Database } from '../db/client';
import { authenticate, CONSOLE_PRINCIPAL, createAuthenticator, createKeyCache, requireBearer } from './auth';
import { createRateLimiter, rateLimit } from './rate-limit';
import { drained } from './request-body';
import { forLog } from '../common/text';
import { ApiError, errorBody, handleError } from './errors';
import { checkJsonBody } from './json-body-check';
import { createMetrics, type Metrics } from './metrics';
import { createPipelineService } from './pipelines';
import { newRouter } from './router';
import { apiKeyRoutes } from './routes/api-keys';
import { CODEC_PATH, codecGate, codecRoutes } from './routes/codec';
import { datasetRoutes, UPLOAD_PATH } from './routes/datasets';
import { feedbackRoutes } from './routes/feedback';
import { modelRoutes } from './routes/models';
import { pipelineRoutes } from './routes/pipelines';
import { policyRoutes } from './routes/policy';
import { scheduleRoutes } from './routes/schedules';
import { createScheduleService } from './schedules';
import { canaryRoutes } from './routes/canary';
import { monitoringRoutes } from './routes/monitoring';
import { auditRoutes, versionHistoryRoutes } from './routes/audit';
import { createMonitoringService } from './monitoring';
import { addPredictRoute, predictListener } from './routes/predict';
import { webhookRoutes } from './routes/webhooks';
import { CONSOLE_PATH, consoleRoutes } from '../console/app';
import type { ModelServer } from './serving';

export interface AppDeps {
  config: Config;
  database: Database;
  client: Client;
  /** predictions: the deployments in memory, the bundles, the prediction log */
  server: ModelServer;
  metrics?: Metrics;
  /** where uploads are stored (default: the local store under the data directory, as the workers use it) */
  artifacts?: ArtifactStore;
  /** whether the Workers this process runs are still running (absent: it runs none); /readyz reports it */
  workersRunning?: () => boolean;
  /** how long a looked-up API key is trusted before it is read again (default 5 s) */
  keyCacheMs?: number;
  /** payload encryption (platform/codec.ts): the Temporal UI's remote codec at /codec; absent: 404 there */
  codec?: PayloadCodec;
}

/** Whether Temporal and the database each answer within 3 s: booleans only, no error text or address. */
async function readiness(checks: Record<'temporal' | 'database', () => Promise<unknown>>, workersRunning?: () => boolean) {
  const answers = (fn: () => Promise<unknown>) => new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 3000);
    Promise.resolve().then(fn).then(() => resolve(true), () => resolve(false)).finally(() => clearTimeout(timer));
  });
  const [temporal, database] = await Promise.all([answers(checks.temporal), answers(checks.database)]);
  // a Worker in this process that stopped with an error serves nothing: not ready
  return { temporal, database, ...(workersRunning ? { workers: workersRunning() } : {}) };
}

/**
 * The API: the router (`app`), and the Node request listener an HTTP server runs (`listener`), which
 * hands predictions to their own fast path (api/routes/predict.ts) and everything else to the router.
 */
export function createApi({
  config, database, client, server, metrics = createMetrics(), keyCacheMs, artifacts = new LocalArtifactStore(config.artifactsDir), workersRunning, codec,
}: AppDeps) {
  const { db } = database;
  const app = newRouter();
  app.onError(handleError);
  app.notFound((c) => c.json(errorBody('not_found', `No route for ${forLog(c.req.method, 16)} ${forLog(c.req.path)}.`), 404));
  app.use('*', metrics.middleware);
  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    // A body the route never read (refused first: 401, 404, 413): closing a socket with unread bytes in it
    // makes TCP reset the connection, and the client loses the answer. So it is read to its end, up to the
    // body limit, and the connection serves the next request; a larger one is cut off, the connection closed.
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    const hasBody = (incoming?.headers['content-length'] ?? '0') !== '0' || incoming?.headers['transfer-encoding'] !== undefined;
    if (incoming && hasBody && !incoming.readableEnded && !(await drained(incoming, config.maxBodyBytes))) c.header('connection', 'close');
  });
  const tooLarge = () => new ApiError(413, 'payload_too_large', `The request body is larger than ${config.maxBodyBytes} bytes.`);
  const limit = bodyLimit({ maxSize: config.maxBodyBytes, onError: () => { throw tooLarge(); } });
  // predict reads its body straight from the socket, with the same limit and checks; an upload streams to disk under its own
  const isPredict = (path: string) => path.endsWith(':predict');
  const ownLimit = (c: Context) => isPredict(c.req.path) || (c.req.method === 'POST' && c.req.path === UPLOAD_PATH);
  app.use('*', (c, next) => (ownLimit(c) ? next() : limit(c, next)));

  app.get('/metrics', requireBearer(config.metricsToken, 'GET /metrics'), async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  const keyCache = createKeyCache(keyCacheMs);
  const principalOf = createAuthenticator(db, config.adminToken, keyCache);
  const takeRequest = createRateLimiter(config.rateLimit);
  app.use('/v1/*', authenticate(principalOf));
  app.use('/v1/*', rateLimit(takeRequest));
  // the Temporal UI's remote codec: 404 when encryption is off, CORS (a preflight needs no token), then a key as for /v1
  app.use(`${CODEC_PATH}/*`, codecGate(codec, config));
  app.use(`${CODEC_PATH}/*`, authenticate(principalOf));
  app.use(`${CODEC_PATH}/*`, rateLimit(config.rateLimit));
  // (an upload is a file, not a request to parse: it streams to disk whatever its content type)
  // the console posts HTML forms (and serves its pages): it checks its own bodies
  const isConsole = (path: string) => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
  app.use('*', (c, next) => (ownLimit(c) || isConsole(c.req.path) ? next() : checkJsonBody(c, next)));
  addPredictRoute(app, server, config.maxBodyBytes, tooLarge);

  const monitoring = createMonitoringService({ client, db, artifacts, config, flushPredictionLog: server.flushPredictionLog });
  const routes = app
    .get('/healthz', (c) => c.json({ status: 'ok' }, 200))
    .get('/readyz', async (c) => {
      const body = await readiness({ temporal: () => client.workflowService.getSystemInfo({}), database: () => database.ping() }, workersRunning);
      return c.json(body, body.temporal && body.database && body.workers !== false ? 200 : 503);
    })
    .route('/v1/pipelines', pipelineRoutes(createPipelineService({ client, db, config }), metrics))
    .route('/v1/models', modelRoutes(db, server.refresh, (model, version) => monitoring.retarget(model, version)))
    .route('/v1/models', monitoringRoutes(monitoring))
    .route('/v1/models', versionHistoryRoutes(db))
    .route('/v1/audit', auditRoutes(db))
    .route('/v1/models', policyRoutes(db))
    .route('/v1/models', canaryRoutes(db, client, server.refresh))
    .route('/v1/feedback', feedbackRoutes(db, server.flushPredictionLog))
    .route('/v1/datasets', datasetRoutes({ db, artifacts, config }))
    .route('/v1/schedules', scheduleRoutes(createScheduleService({ client, db, config })))
    .route('/v1/api-keys', apiKeyRoutes(db, keyCache))
    .route('/v1/webhooks', webhookRoutes(db, config.webhooks))
    .route(CODEC_PATH, codecRoutes(codec));

  // the console: a client of the routes above, in-process, as the signed-in person
  app.get('/', (c) => c.redirect(CONSOLE_PATH, 302));
  app.route(CONSOLE_PATH, consoleRoutes({
    db, config, call: (path, init, who) => Promise.resolve(app.request(path, init, { [CONSOLE_PRINCIPAL]: who })),
  }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Perennial API', version: '1', description: 'Start pipelines, approve promotions, inspect models. See API.md.' },
    security: [{ bearer: [] }],
  });

  const predict = predictListener({ server, principalOf, takeRequest, metrics, maxBodyBytes: config.maxBodyBytes, tooLarge });
  const route = getRequestListener(routes.fetch, { hostname: config.host });
  const listener = (req: IncomingMessage, res: ServerResponse) => { if (!predict(req, res)) void route(req, res); };
  return { app: routes, listener };
}

/** The router alone: what in-process callers and tests use (`app.request`). */
export const createApp = (deps: AppDeps) => createApi(deps).app;
/** Every route with its input and output types: what the typed client (client/) is derived from. */
export type AppType = ReturnType<typeof createApp>;
