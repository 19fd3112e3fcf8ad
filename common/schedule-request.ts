/**
 * Schedules (recurring retraining): the bodies of POST and PUT /v1/schedules and the schedule as the
 * API shows it. A schedule runs its pipeline request through the retraining path on a cron or an
 * interval; the pipeline is the body of POST /v1/pipelines, validated by the same schema.
 */
import { z } from '@hono/zod-openapi';
import { CRON_FORMAT, cronProblem, MAX_CRON_LENGTH, normalizeCron } from './cron';
import { Duration } from './duration-schema';
import { DURATION_PATTERN, msOf } from './durations';
import { PipelineRequest } from './pipeline-request';
import { SafeMultilineText } from './text';

export const ScheduleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/,
  'expected 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit').openapi({ example: 'weather-nightly' });

export const Cron = z.string().max(MAX_CRON_LENGTH).superRefine((s, ctx) => {
  const problem = cronProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}).transform(normalizeCron).openapi({ example: '0 3 * * *', description: `a cron expression in UTC: ${CRON_FORMAT}` });

/** the shortest interval a schedule may run at */
export const MIN_SCHEDULE_INTERVAL = '1m';
export const ScheduleInterval = Duration.refine((d) => !DURATION_PATTERN.test(d) || msOf(d) >= msOf(MIN_SCHEDULE_INTERVAL), `at least ${MIN_SCHEDULE_INTERVAL}`)
  .openapi({ example: '24h', description: `every this long (at least ${MIN_SCHEDULE_INTERVAL}), counted from the Unix epoch` });

export const ScheduleNote = SafeMultilineText.max(1000);

/** exactly one of cron and interval (required: the create body must have one; an update may have neither) */
const oneTiming = (required: boolean) => (body: { cron?: string; interval?: string }, ctx: z.RefinementCtx) => {
  if (body.cron !== undefined && body.interval !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['interval'], message: 'give cron or interval, not both' });
  } else if (required && body.cron === undefined && body.interval === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cron'], message: 'cron or interval is required' });
  }
};

export const ScheduleCreate = z.object({
  id: ScheduleId,
  cron: Cron.optional(),
  interval: ScheduleInterval.optional(),
  pipeline: PipelineRequest,
  paused: z.boolean().default(false).openapi({ description: 'create it paused: it runs only when triggered or unpaused' }),
  note: ScheduleNote.optional(),
}).strict().superRefine(oneTiming(true)).openapi('ScheduleCreate');
export type ScheduleCreate = z.output<typeof ScheduleCreate>;

export const ScheduleUpdate = z.object({
  cron: Cron.optional(),
  interval: ScheduleInterval.optional(),
  pipeline: PipelineRequest.optional().openapi({ description: 'replaces the pipeline request as a whole; its model cannot change' }),
  note: ScheduleNote.optional(),
}).strict().superRefine(oneTiming(false)).refine((b) => Object.keys(b).length > 0, 'nothing to change: give cron, interval, pipeline or note')
  .openapi('ScheduleUpdate', { description: 'what is left out keeps its value; cron replaces an interval and the other way round' });
export type ScheduleUpdate = z.output<typeof ScheduleUpdate>;

export const ScheduleNoteRequest = z.object({ note: ScheduleNote.optional() }).strict().openapi('ScheduleNote');

export const ScheduleRunSchema = z.object({
  scheduledAt: z.string(),
  startedAt: z.string(),
  /** the scheduledRetraining workflow that the schedule started: `scheduled-<id>-<time>` */
  workflowId: z.string(),
  runId: z.string(),
});

export const ScheduleViewSchema = z.object({
  id: ScheduleId,
  model: z.string(),
  cron: z.string().nullable(),
  interval: z.string().nullable(),
  paused: z.boolean(),
  note: z.string().nullable(),
  nextRuns: z.array(z.string()).openapi({ description: 'the next 5 times it will run (none while paused)' }),
  recentRuns: z.array(ScheduleRunSchema).openapi({ description: 'the latest runs, oldest first (Temporal keeps the last 10)' }),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  temporalScheduleId: z.string(),
  temporalUiUrl: z.string(),
  /** the pipeline request it runs (the model's policy applied), its dataset URI redacted */
  pipeline: z.record(z.string(), z.unknown()),
}).openapi('Schedule');
export type ScheduleView = z.output<typeof ScheduleViewSchema>;

export const ScheduleTriggered = z.object({
  id: ScheduleId, model: z.string(), status: z.literal('triggered'),
  pipelines: z.string().openapi({ description: 'where the pipeline it starts will be listed' }),
}).openapi('ScheduleTriggered');
