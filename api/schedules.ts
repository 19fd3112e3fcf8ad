/**
 * Schedules (recurring retraining) on Temporal Schedules; the one module that talks to Temporal's
 * schedule API. Schedule `<id>` is Temporal schedule `schedule-<id>`: on its cron or interval it starts
 * workflow `scheduledRetraining` (`scheduled-<id>-<time>`) with the schedule's pipeline request, which
 * asks for the model's retraining through the one path every trigger takes (common/retraining.ts):
 * a schedule firing while the model retrains joins that retraining. Temporal holds the schedule; the
 * audit log records every change to it.
 */
import {
  ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec,
} from '@temporalio/client';
import { personActor } from '../common/actors';
import type { Principal } from '../common/domain';
import { msOf } from '../common/durations';
import { mapBounded } from '../common/map-bounded';
import { ModelNameKey, SCHEDULE_ID_PREFIX, temporalScheduleId, workflowIds } from '../common/names';
import type { PipelineRequest, PipelineSpec } from '../common/pipeline-request';
import { SCHEDULED_RETRAINING_WORKFLOW, type ScheduledRetrainingInput } from '../common/retraining';
import type { ScheduleCreate, ScheduleUpdate, ScheduleView } from '../common/schedule-request';
import { redactUri } from '../common/source-uri';
import type { AuditAction } from '../common/vocabulary';
import type { Config } from '../config';
import { writeAudit } from '../db/audit';
import type { Db } from '../db/client';
import { sourcePolicyOf } from '../activities/source-policy';
import { ApiError, conflict, notFound, validationError } from './errors';
import { admitPipeline } from './pipelines';
import { scheduleUiUrl } from '../common/temporal-ui';

export interface ScheduleServiceDeps {
  client: Client;
  db: Db;
  config: Config;
}

/**
 * How every schedule runs. Overlap SKIP: a time that comes while the schedule's last start is still
 * running is skipped (the start itself only asks for a retraining and ends; the retraining, however
 * long, is kept to one per model by its own workflow id). Catch-up window 10 minutes: a time missed
 * while Temporal was unavailable still runs if Temporal is back within 10 minutes of it; an older one
 * is skipped, not run late. pauseOnFailure: a start that fails pauses the schedule until someone looks.
 */
export const SCHEDULE_POLICIES = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10m', pauseOnFailure: true } as const;

/** the most schedules GET /v1/schedules answers with (the first by id), and the most of the namespace's it looks through */
export const MAX_SCHEDULES_LISTED = 100;
const MAX_SCHEDULES_SCANNED = 10_000;
/** how many of the next run times a schedule shows */
export const NEXT_RUNS_SHOWN = 5;
const DESCRIBE_CONCURRENCY = 8;

/** When it runs, as the person wrote it: kept in the action's memo, since Temporal turns a cron into calendars. */
type Timing = { cron: string } | { interval: string };

const timingOf = (body: { cron?: string; interval?: string }): Timing | undefined =>
  body.cron !== undefined ? { cron: body.cron } : body.interval !== undefined ? { interval: body.interval } : undefined;

const temporalSpec = (timing: Timing): ScheduleSpec =>
  ('cron' in timing ? { cronExpressions: [timing.cron] } : { intervals: [{ every: msOf(timing.interval) }] });

/** A duration in milliseconds in the API's syntax, in the largest unit that divides it (a schedule whose memo lost its timing). */
function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The pipeline request as the API may show it: its dataset URI without credentials. */
const shownPipeline = (spec: PipelineSpec) => ({ ...spec, dataset: { ...spec.dataset, uri: redactUri(spec.dataset.uri) } });

/** The name of a schedule's timing field in the body (for a 400 from Temporal's own parser). */
const timingField = (timing: Timing) => ('cron' in timing ? 'cron' : 'interval');

export function createScheduleService({ client, db, config }: ScheduleServiceDeps) {
  const sources = sourcePolicyOf(config);
  const uiUrl = (temporalId: string) => scheduleUiUrl(config.temporal, temporalId);
  const handleOf = (id: string) => client.schedule.getHandle(temporalScheduleId(id));

  /** What Temporal's schedule start runs: the scheduledRetraining workflow with the schedule's request. */
  const action = (id: string, spec: PipelineSpec, timing: Timing | undefined) => {
    const input: ScheduledRetrainingInput = { model: spec.model, scheduleId: id, spec };
    return {
      type: 'startWorkflow' as const,
      workflowType: SCHEDULED_RETRAINING_WORKFLOW,
      taskQueue: config.taskQueues.orchestration,
      workflowId: workflowIds.scheduled(id),
      args: [input],
      typedSearchAttributes: [{ key: ModelNameKey, value: spec.model }],
      memo: { scheduleId: id, ...(timing ? { timing } : {}) },
    };
  };

  /** Temporal refused the spec (its parser is the last word on a cron): a 400 naming the field. */
  const refusedSpec = (err: unknown, timing: Timing) =>
    (err instanceof TypeError ? validationError([{ path: [timingField(timing)], message: `Temporal refused it: ${err.message}` }]) : err);

  /** A Perennial schedule (its start is scheduledRetraining on this platform's task queue), or undefined for another's. */
  function own(d: ScheduleDescription): { input: ScheduledRetrainingInput; timing: Timing | undefined } | undefined {
    if (d.action.type !== 'startWorkflow' || d.action.workflowType !== SCHEDULED_RETRAINING_WORKFLOW) return undefined;
    if (d.action.taskQueue !== config.taskQueues.orchestration) return undefined;
    const input = d.action.args?.[0] as ScheduledRetrainingInput | undefined;
    if (!input?.spec) return undefined;
    // a memo without it (the schedule was changed outside Perennial): an interval can be told back, a calendar cannot
    const every = d.spec.intervals?.[0]?.every;
    const timing = (d.action.memo?.timing as Timing | undefined) ?? (every !== undefined ? { interval: durationText(every) } : undefined);
    return { input, timing };
  }

  /** The schedule's description in Temporal, or a 404 (none, or not one of Perennial's). */
  async function describe(id: string) {
    try {
      const d = await handleOf(id).describe();
      const ours = own(d);
      if (ours) return { d, ...ours };
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    throw notFound(`Schedule ${id}`);
  }

  function view(id: string, d: ScheduleDescription, input: ScheduledRetrainingInput, timing: Timing | undefined): ScheduleView {
    const createdBy = d.memo?.createdBy as { name?: string } | undefined;
    return {
      id,
      model: input.model,
      cron: timing && 'cron' in timing ? timing.cron : null,
      interval: timing && 'interval' in timing ? timing.interval : null,
      paused: d.state.paused,
      note: d.state.note || null,
      // Temporal goes on computing them while paused; none of them will run
      nextRuns: d.state.paused ? [] : d.info.nextActionTimes.slice(0, NEXT_RUNS_SHOWN).map((t) => t.toISOString()),
      recentRuns: d.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(), startedAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId, runId: a.action.workflow.firstExecutionRunId,
      })),
      createdBy: typeof createdBy?.name === 'string' ? createdBy.name : null,
      createdAt: d.info.createdAt.toISOString(),
      temporalScheduleId: d.scheduleId,
      temporalUiUrl: uiUrl(d.scheduleId),
      pipeline: shownPipeline(input.spec),
    };
  }

  async function get(id: string): Promise<ScheduleView> {
    const { d, input, timing } = await describe(id);
    return view(id, d, input, timing);
  }

  const audit = (action: AuditAction, by: Principal, model: string, details: Record<string, unknown>) =>
    writeAudit(db, { action, actor: personActor(by), model, details });

  return {
    get,

    async list(filter: { model?: string }): Promise<ScheduleView[]> {
      const ids: string[] = [];
      let scanned = 0;
      // Temporal's list (its visibility store) may lag a change by a moment; each one listed is then described
      for await (const s of client.schedule.list({ pageSize: 1000 })) {
        if (++scanned > MAX_SCHEDULES_SCANNED) break;
        if (!s.scheduleId.startsWith(SCHEDULE_ID_PREFIX) || s.action?.workflowType !== SCHEDULED_RETRAINING_WORKFLOW) continue;
        if (filter.model && s.typedSearchAttributes?.get(ModelNameKey) !== filter.model) continue;
        ids.push(s.scheduleId.slice(SCHEDULE_ID_PREFIX.length));
      }
      ids.sort();
      const views = await mapBounded(ids.slice(0, MAX_SCHEDULES_LISTED), DESCRIBE_CONCURRENCY, async (id) => {
        try {
          return await get(id);
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) return null; // deleted since it was listed, or not ours
          throw err;
        }
      });
      return views.filter((v): v is ScheduleView => v !== null);
    },

    /** Creates the schedule: its pipeline request under the model's policy, its source checked, as a pipeline start would be. */
    async create(body: ScheduleCreate, rawPipeline: PipelineRequest, by: Principal): Promise<ScheduleView> {
      const spec = await admitPipeline(db, sources, rawPipeline, body.pipeline, 'pipeline.');
      const timing = timingOf(body)!;
      try {
        await client.schedule.create({
          scheduleId: temporalScheduleId(body.id),
          spec: temporalSpec(timing),
          action: action(body.id, spec, timing),
          policies: SCHEDULE_POLICIES,
          typedSearchAttributes: [{ key: ModelNameKey, value: spec.model }],
          memo: { createdBy: { keyId: by.keyId, name: by.name } },
          state: { paused: body.paused, note: body.note },
        });
      } catch (err) {
        if (err instanceof ScheduleAlreadyRunning) throw conflict(`Schedule ${body.id} already exists.`);
        throw refusedSpec(err, timing);
      }
      await audit('schedule.create', by, spec.model, {
        scheduleId: body.id, ...timing, paused: body.paused, note: body.note ?? null, pipeline: shownPipeline(spec),
      });
      return get(body.id);
    },

    /** Replaces what the body names: the timing, the pipeline request (same checks as at creation; same model), the note. */
    async update(id: string, body: ScheduleUpdate, rawPipeline: PipelineRequest | undefined, by: Principal): Promise<ScheduleView> {
      const { d, input, timing: before } = await describe(id);
      let spec = input.spec;
      if (body.pipeline) {
        if (body.pipeline.model !== input.model) {
          throw validationError([{ path: ['pipeline', 'model'], message: `a schedule's model cannot change (it is ${input.model}); delete it and create another` }]);
        }
        spec = await admitPipeline(db, sources, rawPipeline ?? body.pipeline, body.pipeline, 'pipeline.');
      }
      const timing = timingOf(body) ?? before;
      try {
        await handleOf(id).update((current) => ({
          spec: timing ? temporalSpec(timing) : current.spec,
          action: action(id, spec, timing),
          policies: SCHEDULE_POLICIES,
          state: { paused: current.state.paused, note: body.note ?? current.state.note, remainingActions: current.state.remainingActions },
          typedSearchAttributes: current.typedSearchAttributes,
        }));
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw notFound(`Schedule ${id}`);
        throw timing ? refusedSpec(err, timing) : err;
      }
      await audit('schedule.update', by, input.model, {
        scheduleId: id, changed: Object.keys(body), before: before ?? null, after: timing ?? null,
        ...(body.note !== undefined ? { note: body.note, noteBefore: d.state.note ?? null } : {}),
        ...(body.pipeline ? { pipeline: shownPipeline(spec) } : {}),
      });
      return get(id);
    },

    async setPaused(id: string, paused: boolean, by: Principal, note?: string): Promise<ScheduleView> {
      const { input } = await describe(id);
      const text = note ?? `${paused ? 'paused' : 'unpaused'} by ${by.name}`;
      try {
        await (paused ? handleOf(id).pause(text) : handleOf(id).unpause(text));
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw notFound(`Schedule ${id}`);
        throw err;
      }
      await audit(paused ? 'schedule.pause' : 'schedule.unpause', by, input.model, { scheduleId: id, note: text });
      return get(id);
    },

    /**
     * Runs it now, whatever its timing and even while paused (overlap ALLOW_ALL: a person asked). The
     * retraining it asks for still joins one already running for the model.
     */
    async trigger(id: string, by: Principal) {
      const { input } = await describe(id);
      try {
        await handleOf(id).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw notFound(`Schedule ${id}`);
        throw err;
      }
      await audit('schedule.trigger', by, input.model, { scheduleId: id });
      return {
        id, model: input.model, status: 'triggered' as const,
        pipelines: `/v1/pipelines?model=${encodeURIComponent(input.model)}&trigger=schedule`,
      };
    },

    async delete(id: string, by: Principal): Promise<void> {
      const { input, timing } = await describe(id);
      try {
        await handleOf(id).delete();
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) throw notFound(`Schedule ${id}`);
        throw err;
      }
      await audit('schedule.delete', by, input.model, { scheduleId: id, ...(timing ?? {}) });
    },
  };
}
export type ScheduleService = ReturnType<typeof createScheduleService>;
