import { createRoute, z } from '@hono/zod-openapi';
import { PipelineRequest } from '../../common/pipeline-request';
import { CanaryStatusSchema, PipelineViewSchema } from '../../common/pipeline-status';
import { DecisionRequest, PipelineStarted } from '../../common/resources';
import { SafeText } from '../../common/text';
import { pipelineStatuses, triggerKinds } from '../../common/vocabulary';
import { requireRole } from '../auth';
import { validationError } from '../errors';
import type { Metrics } from '../metrics';
import { MAX_LIST_LIMIT, type PipelineService } from '../pipelines';
import { errorResponses, json, newRouter, pathParam } from '../router';

const IdParam = z.object({ id: pathParam('id', z.string().min(1).max(300)) });

/**
 * Optional, so read in the handler rather than declared as the route's headers: the typed client
 * would otherwise demand `header: {}` on every start. Documented as a parameter of the route.
 */
const IdempotencyHeader = z.object({ 'idempotency-key': z.string().max(200).optional() });

/** an optional {"comment": "..."} body */
const decisionBody = { content: { 'application/json': { schema: DecisionRequest } }, required: false } as const;

/** approve or reject the candidate awaiting approval */
const decisionRoute = <V extends 'approve' | 'reject'>(verdict: V) => createRoute({
  method: 'post', path: `/{id}/${verdict}` as const, tags: ['pipelines'],
  summary: verdict === 'approve' ? 'Approve the candidate awaiting approval' : 'Reject the candidate awaiting approval',
  middleware: [requireRole('approver')],
  description: 'Optional JSON body: {"comment": "..."}. Needs the approver role; the key that started the pipeline may not decide on it (four-eyes).',
  request: { params: IdParam, body: decisionBody },
  responses: { 200: json(PipelineViewSchema, 'The pipeline after the decision'), ...errorResponses(400, 401, 403, 404, 409) },
});

/** abort or promote the canary rollout now */
const canaryRoute = <A extends 'abort' | 'promote'>(action: A) => createRoute({
  method: 'post', path: `/{id}/canary/${action}` as const, tags: ['pipelines'],
  summary: action === 'abort' ? 'Abort the canary: its traffic back to production at once, the version rejected' : 'Promote the canary now, without waiting for its steps',
  middleware: [requireRole('approver')],
  description: 'Optional JSON body: {"comment": "..."}. Needs the approver role.',
  request: { params: IdParam, body: decisionBody },
  responses: {
    200: json(z.object({ pipelineId: z.string(), canary: CanaryStatusSchema }), 'The canary after the order'),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function pipelineRoutes(service: PipelineService, metrics: Metrics) {
  return newRouter()
    .openapi(createRoute({
      method: 'post', path: '/', tags: ['pipelines'], summary: 'Start a training pipeline',
      middleware: [requireRole('operator')],
      request: { body: { content: { 'application/json': { schema: PipelineRequest } }, required: true } },
      parameters: [{
        name: 'idempotency-key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 },
        description: 'the same key returns the same pipeline instead of starting a second one',
      }],
      responses: { 202: json(PipelineStarted, 'Started (or, for a repeated Idempotency-Key, the pipeline it started)'), ...errorResponses(400, 401, 403, 413) },
    }), async (c) => {
      const spec = c.req.valid('json');
      const headers = IdempotencyHeader.safeParse({ 'idempotency-key': c.req.header('idempotency-key') });
      if (!headers.success) throw validationError(headers.error.issues);
      const raw = await c.req.json() as PipelineRequest; // as sent, before defaults: only what the caller asked for can loosen the policy
      const started = await service.start(raw, spec, c.get('principal'), headers.data['idempotency-key']);
      metrics.pipelinesStarted.inc();
      return c.json(started, 202);
    })

    .openapi(createRoute({
      method: 'get', path: '/', tags: ['pipelines'], summary: 'List pipelines, newest first',
      request: {
        query: z.object({
          model: SafeText.max(300).optional(),
          status: z.enum(pipelineStatuses).optional(),
          trigger: z.enum(triggerKinds).optional().openapi({ description: 'what started them: a person (api), drift, a schedule, new data (arrival), a retry' }),
          limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(50),
          cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, 'a cursor from an earlier page (nextCursor)').optional(),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(PipelineViewSchema), nextCursor: z.string().nullable() }), 'A page of pipelines'), ...errorResponses(400, 401) },
    }), async (c) => c.json(await service.list(c.req.valid('query')), 200))

    .openapi(createRoute({
      method: 'get', path: '/{id}', tags: ['pipelines'], summary: 'A pipeline: stage, status, metrics, approval',
      request: { params: IdParam },
      responses: { 200: json(PipelineViewSchema, 'The pipeline'), ...errorResponses(401, 404) },
    }), async (c) => c.json(await service.get(c.req.valid('param').id), 200))

    .openapi(decisionRoute('approve'), async (c) =>
      c.json(await service.decide(c.req.valid('param').id, 'approve', c.get('principal'), c.req.valid('json').comment), 200))
    .openapi(decisionRoute('reject'), async (c) =>
      c.json(await service.decide(c.req.valid('param').id, 'reject', c.get('principal'), c.req.valid('json').comment), 200))

    .openapi(canaryRoute('abort'), async (c) =>
      c.json(await service.canary(c.req.valid('param').id, 'abort', c.get('principal'), c.req.valid('json').comment), 200))
    .openapi(canaryRoute('promote'), async (c) =>
      c.json(await service.canary(c.req.valid('param').id, 'promote', c.get('principal'), c.req.valid('json').comment), 200))

    .openapi(createRoute({
      method: 'post', path: '/{id}/cancel', tags: ['pipelines'], summary: 'Cancel a running pipeline',
      description: 'Needs the operator role; during the canary (cancelling rolls it back) the approver role. Audited.',
      middleware: [requireRole('operator')],
      request: { params: IdParam },
      responses: { 202: json(z.object({ id: z.string(), status: z.literal('cancelling') }), 'Cancellation requested'), ...errorResponses(401, 403, 404, 409) },
    }), async (c) => c.json(await service.cancel(c.req.valid('param').id, c.get('principal')), 202));
}
