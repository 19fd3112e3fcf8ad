/**
 * POST /v1/models/weather:predict, the KServe / TF Serving v1 shape; any role may predict. Its path
 * ends in ":predict", which the typed client cannot spell: client/ has a helper for it.
 *
 * Over HTTP it is answered by `predictListener`, straight on Node's request and response, before the
 * router: building a WHATWG Request, a Response and their web streams, and a chain of middleware,
 * cost several times the prediction itself (measured with a CPU profile; see README's Performance).
 * It applies what the middleware would, from the same parts: the bearer key (api/auth.ts), the key's
 * rate (api/rate-limit.ts), the body limit, the error shape (api/errors.ts), `nosniff`, and the
 * request metrics under the route's name. The router's route stays for in-process callers (the
 * console, `app.request`) and the OpenAPI document; both end in `answer` below.
 */
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Principal } from '../../common/domain';
import { PredictRequest } from '../../common/resources';
import type { AppEnv, Authenticator } from '../auth';
import { ApiError, errorReply, validationError } from '../errors';
import { parseJson } from '../json-body-check';
import type { Metrics } from '../metrics';
import type { RateLimiter } from '../rate-limit';
import { drained, readBodyText } from '../request-body';
import { errorResponses } from '../router';
import type { ModelServer } from '../serving';

/** the route as the router names it, and as the request metrics label it */
export const PREDICT_ROUTE = '/v1/models/:target{[A-Za-z0-9][A-Za-z0-9_.-]*:predict}';
const PREDICT_PATH = /^\/v1\/models\/([A-Za-z0-9][A-Za-z0-9_.-]*):predict$/;

/** PredictRequest's shape, checked without building zod's result; zod only describes what is wrong */
function instancesOf(body: unknown): unknown[] {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    const instances = (body as { instances?: unknown }).instances;
    if (keys.length === 1 && keys[0] === 'instances' && Array.isArray(instances) && instances.length >= 1 && instances.length <= 10_000
      && instances.every((i) => i !== null && typeof i === 'object' && !Array.isArray(i))) return instances;
  }
  const parsed = PredictRequest.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error.issues);
  return parsed.data.instances;
}

/** A parsed body into what the server is asked: what both ways in share. */
const options = (principal: Principal, entityKey: string | undefined) => ({ entityKey: entityKey || undefined, requestedBy: principal.owner });

export interface PredictListenerDeps {
  server: ModelServer;
  principalOf: Authenticator;
  takeRequest: RateLimiter;
  metrics: Metrics;
  maxBodyBytes: number;
  tooLarge: () => ApiError;
}

/**
 * The Node request listener for predictions: true when it took the request (a POST to a predict
 * path), false to leave it to the router.
 */
export function predictListener({ server, principalOf, takeRequest, metrics, maxBodyBytes, tooLarge }: PredictListenerDeps) {
  const write = (res: ServerResponse, status: number, body: string, headers?: Record<string, string>) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };
  /*
   * Answers are written together, at the end of the event loop's turn (setImmediate), not one by
   * one as each is ready. Each write to a socket wakes the client that waits on it; written in a
   * burst, the wake-ups overlap instead of each costing a switch on a busy machine. Measured with
   * alternating runs on a 2-core machine (API, PostgreSQL and the load generator on the same cores):
   * 65-77 us of API CPU a prediction against 85-107 us, and 11.6-13.6k req/s against 8.7-11.0k.
   * An answer waits at most for the rest of the turn, whose requests it would have waited for anyway.
   */
  let queued: { res: ServerResponse; status: number; body: string; headers?: Record<string, string> }[] = [];
  const writeQueued = () => {
    const now = queued;
    queued = [];
    for (const a of now) write(a.res, a.status, a.body, a.headers);
  };
  const send = (res: ServerResponse, status: number, body: string, headers?: Record<string, string>) => {
    if (!queued.length) setImmediate(writeQueued);
    queued.push({ res, status, body, headers });
  };

  async function handle(req: IncomingMessage, res: ServerResponse, name: string, path: string) {
    const started = process.hrtime.bigint();
    let status: number;
    let bodyRead = false;
    try {
      const who = principalOf(req.headers.authorization);
      const principal = who instanceof Promise ? await who : who;
      takeRequest(principal.keyId);
      const text = await readBodyText(req, maxBodyBytes, tooLarge);
      bodyRead = true;
      const entityKey = req.headers['x-entity-key'];
      const instances = instancesOf(parseJson(text));
      send(res, status = 200, await server.predictJson(name, instances, options(principal, typeof entityKey === 'string' ? entityKey : undefined)));
    } catch (err) {
      const reply = errorReply(err as Error, 'POST', path);
      status = reply.status;
      const headers = { ...reply.headers };
      // a body left unread (refused first: 401, 429, 413) is read to its end, up to the limit, so the connection
      // serves the next request; a larger one is cut off and the connection closed (see api/app.ts)
      if (!bodyRead && !req.readableEnded && !(await drained(req, maxBodyBytes))) headers.connection = 'close';
      send(res, status, JSON.stringify(reply.body), headers);
    }
    metrics.observe('POST', PREDICT_ROUTE, status, Number(process.hrtime.bigint() - started) / 1e9);
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const m = PREDICT_PATH.exec(path);
    if (!m) return false;
    void handle(req, res, m[1], path);
    return true;
  };
}

/** The JSON body of a request the router took, read from Node's stream when there is one. */
async function readJsonBody(c: Context, maxBytes: number, tooLarge: () => ApiError): Promise<unknown> {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming && !incoming.readableEnded && !incoming.readableDidRead) return parseJson(await readBodyText(incoming, maxBytes, tooLarge));
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge();
  return parseJson(text);
}

/** Adds the predict route to the router (in-process callers, the OpenAPI document), under the same size limit. */
export function addPredictRoute(app: OpenAPIHono<AppEnv>, server: ModelServer, maxBodyBytes: number, tooLarge: () => ApiError) {
  app.post(PREDICT_ROUTE, async (c) => {
    const name = c.req.param('target').replace(/:predict$/, '');
    const body = await readJsonBody(c, maxBodyBytes, tooLarge);
    return c.json(await server.predict(name, instancesOf(body), options(c.get('principal'), c.req.header('x-entity-key'))), 200);
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
