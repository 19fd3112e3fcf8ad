/**
 * /v1/schedules: recurring retraining on Temporal Schedules (api/schedules.ts). Viewers read them;
 * operators create, change, pause, unpause, trigger and delete them, each change audited.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { ModelName, type PipelineRequest } from '../../common/pipeline-request';
import {
  ScheduleCreate, ScheduleId, ScheduleNoteRequest, ScheduleTriggered, ScheduleUpdate, ScheduleViewSchema,
} from '../../common/schedule-request';
import { requireRole } from '../auth';
import type { ScheduleService } from '../schedules';
import { errorResponses, json, newRouter, pathParam } from '../router';

const IdParam = z.object({ id: pathParam('id', ScheduleId) });
const operator = [requireRole('operator')];

/** an optional {"note": "..."} body */
const noteBody = { content: { 'application/json': { schema: ScheduleNoteRequest } }, required: false } as const;

const pauseRoute = <A extends 'pause' | 'unpause'>(change: A) => createRoute({
  method: 'post', path: `/{id}/${change}` as const, tags: ['schedules'],
  summary: change === 'pause' ? 'Pause the schedule: it starts nothing until unpaused' : 'Unpause the schedule',
  description: 'Optional JSON body: {"note": "..."}, shown as the schedule\'s note. Needs the operator role; audited.',
  middleware: operator,
  request: { params: IdParam, body: noteBody },
  responses: { 200: json(ScheduleViewSchema, 'The schedule'), ...errorResponses(400, 401, 403, 404) },
});

/** The pipeline request as sent, before defaults: only what the caller asked for can loosen the model's policy. */
const rawPipeline = async (c: { req: { json(): Promise<unknown> } }) => ((await c.req.json()) as { pipeline?: PipelineRequest }).pipeline;

export function scheduleRoutes(service: ScheduleService) {
  return newRouter()
    .openapi(createRoute({
      method: 'post', path: '/', tags: ['schedules'], summary: 'Create a schedule: a pipeline request run on a cron or an interval',
      description: 'Exactly one of cron (five fields, UTC) and interval (at least 1m). The pipeline is checked as POST /v1/pipelines checks it: '
        + "the model's policy (403 naming the field) and the dataset source (400). Needs the operator role; audited.",
      middleware: operator,
      request: { body: { content: { 'application/json': { schema: ScheduleCreate } }, required: true } },
      responses: { 201: json(ScheduleViewSchema, 'Created'), ...errorResponses(400, 401, 403, 409, 413) },
    }), async (c) => {
      const body = c.req.valid('json');
      return c.json(await service.create(body, (await rawPipeline(c)) ?? body.pipeline, c.get('principal')), 201);
    })

    .openapi(createRoute({
      method: 'get', path: '/', tags: ['schedules'], summary: "List Perennial's schedules, by id",
      request: { query: z.object({ model: ModelName.optional() }) },
      responses: { 200: json(z.object({ items: z.array(ScheduleViewSchema) }), 'Schedules'), ...errorResponses(400, 401) },
    }), async (c) => c.json({ items: await service.list(c.req.valid('query')) }, 200))

    .openapi(createRoute({
      method: 'get', path: '/{id}', tags: ['schedules'], summary: 'A schedule: its timing, next and recent runs, and the pipeline it runs',
      request: { params: IdParam },
      responses: { 200: json(ScheduleViewSchema, 'The schedule'), ...errorResponses(400, 401, 404) },
    }), async (c) => c.json(await service.get(c.req.valid('param').id), 200))

    .openapi(createRoute({
      method: 'put', path: '/{id}', tags: ['schedules'], summary: 'Change a schedule: its cron or interval, its pipeline request, its note',
      description: 'What the body leaves out keeps its value. A new pipeline request is checked as at creation, and keeps the model. Needs the operator role; audited.',
      middleware: operator,
      request: { params: IdParam, body: { content: { 'application/json': { schema: ScheduleUpdate } }, required: true } },
      responses: { 200: json(ScheduleViewSchema, 'The schedule after the change'), ...errorResponses(400, 401, 403, 404, 413) },
    }), async (c) => {
      const body = c.req.valid('json');
      return c.json(await service.update(c.req.valid('param').id, body, await rawPipeline(c), c.get('principal')), 200);
    })

    .openapi(createRoute({
      method: 'post', path: '/{id}/trigger', tags: ['schedules'], summary: 'Run the schedule now, even while paused',
      description: "The retraining it asks for joins the model's running one, if any. Needs the operator role; audited.",
      middleware: operator,
      request: { params: IdParam },
      responses: { 202: json(ScheduleTriggered, 'Started: its pipeline is listed under GET /v1/pipelines?trigger=schedule'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => c.json(await service.trigger(c.req.valid('param').id, c.get('principal')), 202))

    .openapi(pauseRoute('pause'), async (c) =>
      c.json(await service.setPaused(c.req.valid('param').id, true, c.get('principal'), c.req.valid('json').note), 200))
    .openapi(pauseRoute('unpause'), async (c) =>
      c.json(await service.setPaused(c.req.valid('param').id, false, c.get('principal'), c.req.valid('json').note), 200))

    .openapi(createRoute({
      method: 'delete', path: '/{id}', tags: ['schedules'], summary: 'Delete the schedule (a retraining it started runs on)',
      description: 'Needs the operator role; audited.',
      middleware: operator,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
    }), async (c) => {
      await service.delete(c.req.valid('param').id, c.get('principal'));
      return c.body(null, 204);
    });
}
