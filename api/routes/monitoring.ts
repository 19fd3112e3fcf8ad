/**
 * Monitoring and retraining routes (API.md, "Monitoring and retraining"): a model's monitor (status,
 * settings, check now, pause, resume), its drift reports, and a retraining started by a person or by
 * new data. Reading is for viewers; anything that acts is for operators.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { DriftReportSchema, MonitorSettingsPatchSchema, MonitorStatusSchema } from '../../common/monitor-settings';
import { MAX_DATASET_URI_LENGTH } from '../../common/source-uri';
import { ModelName } from '../../common/pipeline-request';
import { SafeText } from '../../common/text';
import { requireRole } from '../auth';
import type { MonitoringService } from '../monitoring';
import { MAX_REPORTS } from '../monitoring';
import { errorResponses, json, newRouter, pathParam } from '../router';

const NameParam = z.object({ name: pathParam('name', ModelName) });
const ReportParams = z.object({ name: pathParam('name', ModelName), id: pathParam('id', SafeText.max(64)) });
const RetrainingStartedSchema = z.object({
  pipelineId: z.string(),
  started: z.boolean().openapi({ description: 'false: a retraining of the model was running, and this order joined it' }),
}).openapi('RetrainingStarted');
const ArrivalRequest = z.object({
  uri: SafeText.min(1).max(MAX_DATASET_URI_LENGTH).openapi({ description: 'where the new data is: the same rules as a pipeline\'s dataset.uri' }),
}).strict().openapi('Arrival');
const ArrivalResult = z.object({ pipelineId: z.string(), datasetHash: z.string(), started: z.boolean() }).openapi('ArrivalResult');

export function monitoringRoutes(service: MonitoringService) {
  return newRouter()
    .openapi(createRoute({
      method: 'get', path: '/{name}/monitor', tags: ['monitoring'], summary: "The model's monitor: state, last and next check, settings",
      request: { params: NameParam },
      responses: { 200: json(MonitorStatusSchema, 'The monitor'), ...errorResponses(400, 401, 404) },
    }), async (c) => c.json(await service.status(c.req.valid('param').name), 200))

    .openapi(createRoute({
      method: 'put', path: '/{name}/monitor', tags: ['monitoring'], summary: "Change the monitor's settings, or start it with them (operator)",
      description: 'Fields left out keep their value. A model with a production version and no monitor gets one.',
      middleware: [requireRole('operator')],
      request: { params: NameParam, body: { content: { 'application/json': { schema: MonitorSettingsPatchSchema } }, required: true } },
      responses: { 200: json(MonitorStatusSchema, 'The monitor with its new settings'), ...errorResponses(400, 401, 403, 404, 409) },
    }), async (c) => c.json(await service.configure(c.req.valid('param').name, c.req.valid('json'), c.get('principal')), 200))

    .openapi(createRoute({
      method: 'post', path: '/{name}/monitor/check', tags: ['monitoring'], summary: 'Check now: the report of a check run at once (operator)',
      middleware: [requireRole('operator')],
      request: { params: NameParam },
      responses: { 200: json(DriftReportSchema, 'The report, with what the monitor did about it'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => c.json(await service.check(c.req.valid('param').name), 200))

    .openapi(createRoute({
      method: 'post', path: '/{name}/monitor/pause', tags: ['monitoring'], summary: 'Pause the monitor: no scheduled checks, no actions (operator)',
      middleware: [requireRole('operator')],
      request: { params: NameParam },
      responses: { 200: json(MonitorStatusSchema, 'The paused monitor'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => c.json(await service.pause(c.req.valid('param').name, true, c.get('principal')), 200))

    .openapi(createRoute({
      method: 'post', path: '/{name}/monitor/resume', tags: ['monitoring'], summary: 'Resume the monitor (operator)',
      middleware: [requireRole('operator')],
      request: { params: NameParam },
      responses: { 200: json(MonitorStatusSchema, 'The monitor, watching'), ...errorResponses(400, 401, 403, 404) },
    }), async (c) => c.json(await service.pause(c.req.valid('param').name, false, c.get('principal')), 200))

    .openapi(createRoute({
      method: 'get', path: '/{name}/drift', tags: ['monitoring'], summary: "The model's drift reports, newest first",
      request: { params: NameParam, query: z.object({ limit: z.coerce.number().int().min(1).max(MAX_REPORTS).default(20) }) },
      responses: { 200: json(z.object({ items: z.array(DriftReportSchema) }), 'Reports'), ...errorResponses(400, 401) },
    }), async (c) => c.json({ items: await service.reports(c.req.valid('param').name, c.req.valid('query').limit) }, 200))

    .openapi(createRoute({
      method: 'get', path: '/{name}/drift/{id}', tags: ['monitoring'], summary: 'One drift report',
      request: { params: ReportParams },
      responses: { 200: json(DriftReportSchema, 'The report'), ...errorResponses(400, 401, 404) },
    }), async (c) => {
      const { name, id } = c.req.valid('param');
      return c.json(await service.report(name, id), 200);
    })

    .openapi(createRoute({
      method: 'post', path: '/{name}/retrain', tags: ['monitoring'],
      summary: "Retrain now: the model's last production spec on its source, read again (operator)",
      description: 'One retraining per model at a time: while one runs, this joins it (started: false).',
      middleware: [requireRole('operator')],
      request: { params: NameParam },
      responses: { 202: json(RetrainingStartedSchema, 'The retraining pipeline'), ...errorResponses(400, 401, 403, 404, 409) },
    }), async (c) => {
      const { pipelineId, started } = await service.retrain(c.req.valid('param').name, c.get('principal'));
      return c.json({ pipelineId, started }, 202);
    })

    .openapi(createRoute({
      method: 'post', path: '/{name}/arrivals', tags: ['monitoring'], summary: 'New data for the model: retrain on it, once per content (operator)',
      description: '202 with the retraining started on the new data; 200 with the earlier pipeline when these bytes were seen before; '
        + '409 while another retraining of the model runs.',
      middleware: [requireRole('operator')],
      request: { params: NameParam, body: { content: { 'application/json': { schema: ArrivalRequest } }, required: true } },
      responses: {
        202: json(ArrivalResult, 'A retraining started on the new data'), 200: json(ArrivalResult, 'These bytes were seen before: the pipeline they started'),
        ...errorResponses(400, 401, 403, 404, 409),
      },
    }), async (c) => {
      const { status, ...result } = await service.arrival(c.req.valid('param').name, c.req.valid('json').uri, c.get('principal'));
      return status === 202 ? c.json(result, 202) : c.json(result, 200);
    });
}
