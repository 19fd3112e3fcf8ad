/**
 * modelMonitor: one per model in production (`monitor-<model>`), for as long as it is in production.
 *
 *   every interval (or when asked):  measure the window -> decide -> (start or join a retraining) -> record the report
 *
 * Drift beyond the policy or a drop in labelled accuracy starts `retrain-<model>` (a second trigger
 * joins the running one); the cooldown keeps a flapping monitor from retraining again at once.
 * With `watch`, the training source is read again each interval and new bytes start a retraining.
 * Paused, it checks only when asked and acts on nothing. It continues as new when Temporal suggests
 * it, carrying its settings and state, so it can watch for years.
 */
import {
  allHandlersFinished, ApplicationFailure, condition, continueAsNew, isCancellation, proxyActivities, setHandler, uuid4, workflowInfo,
} from '@temporalio/workflow';
import { failureMessage } from './failures';
import type { OrchestrationActivities } from '../activities';
import type { DriftReport, MonitorSettings } from '../common/monitor-settings';
import { msOf } from '../common/durations';
import type { PipelineTrigger } from '../common/pipeline-request';
import { ingesting, recordkeeping } from './activity-options';
import { continueAsNewDue } from './continue-as-new';
import {
  checkNowUpdate, monitorStatusQuery, pauseUpdate, resumeUpdate, retargetSignal, settingsUpdate, stopSignal,
  type MonitorInput, type MonitorState, type MonitorView,
} from './monitor-messages';

export async function modelMonitor(input: MonitorInput): Promise<void> {
  const monitoring = proxyActivities<OrchestrationActivities>(recordkeeping);
  const source = proxyActivities<OrchestrationActivities>(ingesting);
  const { model } = input;
  let version = input.version;
  let settings: MonitorSettings = input.settings;
  const state: MonitorState = input.state ?? {
    paused: false, lastCheck: null, lastReportId: null, lastAction: null, lastRetrainingAt: null, checks: 0,
  };
  let stopped = false;
  let changed = false;
  // one check at a time, whether the timer or a person asked: each waits for the one before it
  let lastCheck: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lastCheck.then(fn);
    lastCheck = run.catch(() => undefined);
    return run;
  };

  // a monitor's first check comes at a random point of the second half of its first interval, so
  // monitors started together (a restore, a migration) do not all check at the same moment
  const firstCheckFraction = 0.5 + Math.random() / 2;
  const nextCheckAt = () => {
    if (state.paused) return null;
    return state.lastCheck
      ? Date.parse(state.lastCheck) + msOf(settings.interval)
      : workflowStart() + Math.round(msOf(settings.interval) * firstCheckFraction);
  };
  const view = (): MonitorView => {
    const next = nextCheckAt();
    return { ...state, model, version, settings, state: state.paused ? 'paused' : 'watching', nextCheck: next === null ? null : new Date(next).toISOString() };
  };

  /** Starts a retraining unless the cooldown holds it back; what the check did about it. */
  async function retrain(trigger: PipelineTrigger): Promise<Pick<DriftReport, 'action' | 'pipelineId'>> {
    const now = Date.now();
    if (state.lastRetrainingAt && now - Date.parse(state.lastRetrainingAt) < msOf(settings.cooldown)) return { action: 'cooldown', pipelineId: null };
    const r = await monitoring.requestRetraining({ model, trigger });
    if (r.started) state.lastRetrainingAt = new Date(now).toISOString();
    return { action: r.started ? 'retraining_started' : 'retraining_running', pipelineId: r.pipelineId };
  }

  const check = () => oneAtATime(async (): Promise<DriftReport> => {
      const reportId = uuid4();
      const { report, judged } = await monitoring.measureDrift({ reportId, model, version, settings, windowEnd: new Date(Date.now()).toISOString() });
      const by = workflowInfo().workflowId;
      const drop = report.performance?.drop ?? null;
      if (!judged) report.action = 'too_few_rows';
      else if (state.paused) report.action = 'paused';
      else if (report.datasetDrift && settings.retrainOnDrift) {
        report.reason = `dataset drift: ${Math.round(report.driftShare * 100)}% of features drifted (policy: ${Math.round(settings.driftShare * 100)}%)`;
        Object.assign(report, await retrain({ kind: 'drift', by, reportId }));
      } else if (drop !== null && settings.retrainOnPerformanceDrop !== null && drop >= settings.retrainOnPerformanceDrop) {
        report.reason = `accuracy on ${report.performance!.labels} labels fell ${drop.toFixed(3)} below evaluation (policy: ${settings.retrainOnPerformanceDrop})`;
        Object.assign(report, await retrain({ kind: 'performance', by, reportId }));
      }
      if (judged && !state.paused && settings.watch && report.action === 'none') await watchSource(report);
      await monitoring.recordDriftReport(report);
      Object.assign(state, { lastCheck: report.windowEnd, lastReportId: report.id, lastAction: report.action, checks: state.checks + 1 });
      return report;
  });

  /** New bytes at the training source start a retraining on them; the same bytes never do. */
  async function watchSource(report: DriftReport) {
    const dataset = await monitoring.productionSource({ model, version });
    if (!dataset) return;
    const read = await source.ingestDataset(dataset);
    if (!(await monitoring.sourceHasNewData({ model, version, hash: read.hash })).fresh) return;
    report.reason = `new data at the training source (${read.hash.slice(0, 12)})`;
    const r = await monitoring.requestRetraining({
      model, trigger: { kind: 'arrival', by: workflowInfo().workflowId, datasetHash: read.hash }, datasetUri: `dataset://${read.hash}`,
    });
    Object.assign(report, { action: r.started ? 'retraining_started' : 'retraining_running', pipelineId: r.pipelineId });
  }

  setHandler(monitorStatusQuery, view);
  setHandler(checkNowUpdate, check);
  setHandler(pauseUpdate, () => {
    state.paused = true;
    changed = true;
    return view();
  });
  setHandler(resumeUpdate, () => {
    state.paused = false;
    changed = true;
    return view();
  });
  setHandler(settingsUpdate, (patch) => {
    settings = { ...settings, ...patch };
    changed = true;
    return view();
  }, {
    validator: (patch) => {
      if (typeof patch !== 'object' || patch === null) throw ApplicationFailure.nonRetryable('settings must be an object', 'InvalidSettings');
    },
  });
  setHandler(retargetSignal, ({ version: v, settings: patch }) => {
    version = v;
    settings = { ...settings, ...(patch ?? {}) };
    changed = true;
  });
  setHandler(stopSignal, () => {
    stopped = true;
  });

  for (;;) {
    const next = nextCheckAt();
    // woken by a message, by a history long enough to continue as new (checks a person asked for add to it), or by the timer
    const woken = () => stopped || changed || continueAsNewDue(input);
    let due = false;
    if (next === null) await condition(woken);
    else due = !(await condition(woken, Math.max(1, next - Date.now())));
    if (stopped) break;
    changed = false;
    // a check that fails (its activities out of retries) is recorded on the monitor, which keeps watching
    if (due) {
      await check().then(() => { state.lastError = null; }, (err) => {
        if (isCancellation(err)) throw err;
        Object.assign(state, { lastError: failureMessage(err), lastCheck: new Date(Date.now()).toISOString(), failedChecks: (state.failedChecks ?? 0) + 1 });
      });
    }
    if (continueAsNewDue(input)) {
      await condition(allHandlersFinished);
      if (!stopped) await continueAsNew<typeof modelMonitor>({ ...input, version, settings, state });
    }
  }
  await condition(allHandlersFinished);
}

function workflowStart(): number {
  return workflowInfo().runStartTime.getTime();
}
