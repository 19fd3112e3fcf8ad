import { createRoute, z } from '@hono/zod-openapi';
import { json, newRouter } from '../router';
import type { PipelineSpec } from '../../activities/types';
import { requireRole } from '../auth';
import { ApiError, validationError } from '../errors';
import type { Metrics } from '../metrics';
import type { PipelineService } from '../pipelines';
import {
  CanaryStatusSchema, DecisionRequest, errorResponses, PipelineRequest, PipelineStarted, PipelineStatusSchema,
} from '../schemas';

const IdParam = z.object({ id: z.string().min(1).max(300).openapi({ param: { name: 'id', in: 'path' } }) });

/** an optional {"comment": "..."} body */
async function optionalComment(req: Request): Promise<string | undefined> {
  const text = await req.text();
  let body: unknown = {};
  if (text.trim()) {
    try { body = JSON.parse(text); } catch { throw new ApiError(400, 'invalid_request', 'The body is not valid JSON.'); }
  }
  const parsed = DecisionRequest.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error.issues);
  return parsed.data.comment;
}

export function pipelineRoutes(service: PipelineService, metrics: Metrics) {
  const app = newRouter();

  app.openapi(createRoute({
    method: 'post', path: '/', tags: ['pipelines'], summary: 'Start a training pipeline',
    middleware: [requireRole('operator')],
    request: {
      body: { content: { 'application/json': { schema: PipelineRequest } }, required: true },
      headers: z.object({ 'idempotency-key': z.string().max(200).optional() }),
    },
    responses: { 202: json(PipelineStarted, 'Started (or, for a repeated Idempotency-Key, the pipeline it started)'), ...errorResponses(400, 401, 403, 413) },
  }), async (c) => {
    const spec = c.req.valid('json') as PipelineSpec;
    const started = await service.start(spec, c.get('principal'), c.req.valid('header')['idempotency-key']);
    metrics.pipelinesStarted.inc({ model: spec.model });
    return c.json(started, 202);
  });

  app.openapi(createRoute({
    method: 'get', path: '/', tags: ['pipelines'], summary: 'List pipelines, newest first',
    request: {
      query: z.object({
        model: z.string().optional(),
        status: z.enum(['running', 'awaiting_approval', 'completed', 'rejected', 'failed', 'cancelled']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
    },
    responses: { 200: json(z.object({ items: z.array(PipelineStatusSchema) }), 'Pipelines'), ...errorResponses(400, 401) },
  }), async (c) => c.json({ items: await service.list(c.req.valid('query')) } as never, 200));

  app.openapi(createRoute({
    method: 'get', path: '/{id}', tags: ['pipelines'], summary: 'A pipeline: stage, status, metrics, approval',
    request: { params: IdParam },
    responses: { 200: json(PipelineStatusSchema, 'The pipeline'), ...errorResponses(401, 404) },
  }), async (c) => c.json(await service.get(c.req.valid('param').id) as never, 200));

  for (const verdict of ['approve', 'reject'] as const) {
    app.openapi(createRoute({
      method: 'post', path: `/{id}/${verdict}`, tags: ['pipelines'],
      summary: verdict === 'approve' ? 'Approve the candidate awaiting approval' : 'Reject the candidate awaiting approval',
      middleware: [requireRole('approver')],
      description: 'Optional JSON body: {"comment": "..."}. Needs the approver role; the key that started the pipeline may not decide on it (four-eyes).',
      request: { params: IdParam },
      responses: { 200: json(PipelineStatusSchema, 'The pipeline after the decision'), ...errorResponses(400, 401, 403, 404, 409) },
    }), async (c) => {
      const comment = await optionalComment(c.req.raw);
      return c.json(await service.decide(c.req.valid('param').id, verdict, c.get('principal'), comment) as never, 200);
    });
  }

  for (const action of ['abort', 'promote'] as const) {
    app.openapi(createRoute({
      method: 'post', path: `/{id}/canary/${action}`, tags: ['pipelines'],
      summary: action === 'abort' ? 'Abort the canary: its traffic back to production at once, the version rejected' : 'Promote the canary now, without waiting for its steps',
      middleware: [requireRole('approver')],
      description: 'Optional JSON body: {"comment": "..."}. Needs the approver role.',
      request: { params: IdParam },
      responses: {
        200: json(z.object({ pipelineId: z.string(), canary: CanaryStatusSchema }), 'The canary after the order'),
        ...errorResponses(400, 401, 403, 404, 409),
      },
    }), async (c) => {
      const comment = await optionalComment(c.req.raw);
      return c.json(await service.canary(c.req.valid('param').id, action, c.get('principal'), comment) as never, 200);
    });
  }

  app.openapi(createRoute({
    method: 'post', path: '/{id}/cancel', tags: ['pipelines'], summary: 'Cancel a running pipeline',
    middleware: [requireRole('operator')],
    request: { params: IdParam },
    responses: { 202: json(z.object({ id: z.string(), status: z.literal('cancelling') }), 'Cancellation requested'), ...errorResponses(401, 403, 404, 409) },
  }), async (c) => c.json(await service.cancel(c.req.valid('param').id), 202));

  return app;
}
