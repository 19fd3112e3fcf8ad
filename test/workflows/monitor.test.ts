/**
 * modelMonitor, the real workflow code on a real Temporal server, with mocked activities: what a
 * check decides (drift, a performance drop, the cooldown, a retraining already running, new data),
 * pause and settings, re-targeting on promotion, the interval timer, and continue-as-new carrying
 * everything across the boundary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_MONITOR_SETTINGS, type DriftReport, type MonitorSettings } from '../../common/monitor-settings';
import {
  checkNowUpdate, monitorStatusQuery, MONITOR_WORKFLOW, pauseUpdate, resumeUpdate, retargetSignal, settingsUpdate, stopSignal,
  type MonitorInput,
} from '../../workflows';
import { driftReport, suffix, until, workflowEnv, type WorkflowEnv } from '../helpers/workflow-env';

const hour = { ...DEFAULT_MONITOR_SETTINGS, interval: '1h' } satisfies MonitorSettings;

async function startMonitor(env: WorkflowEnv, input: Partial<MonitorInput> = {}): Promise<WorkflowHandle> {
  const model = input.model ?? `wf-monitor-${suffix()}`;
  return env.client.workflow.start(MONITOR_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId: `monitor-${model}`, args: [{ model, version: 1, settings: hour, ...input } satisfies MonitorInput],
  });
}
const check = (h: WorkflowHandle) => h.executeUpdate(checkNowUpdate) as Promise<DriftReport>;
const drifted = { datasetDrift: true, driftShare: 0.75 };

test('drift checked twice in a row starts exactly one retraining: the second check is held back by the cooldown', async (t) => {
  const env = await workflowEnv(t, { orchestration: { async measureDrift(input) { return { judged: true, report: driftReport(input, drifted) }; } } });
  const h = await startMonitor(env);
  const first = await check(h);
  assert.equal(first.action, 'retraining_started');
  assert.equal(first.pipelineId, `pipeline-${h.workflowId.slice('monitor-'.length)}-r1`);
  assert.match(first.reason!, /dataset drift: 75% of features drifted \(policy: 50%\)/);
  const second = await check(h);
  assert.equal(second.action, 'cooldown');
  assert.equal(second.pipelineId, null);
  const requests = env.callsOf('requestRetraining');
  assert.equal(requests.length, 1);
  assert.deepEqual(requests[0].trigger, { kind: 'drift', by: h.workflowId, reportId: first.id });
  assert.deepEqual(env.callsOf('recordDriftReport').map((r) => r.action), ['retraining_started', 'cooldown']);
  const status = await h.query(monitorStatusQuery);
  assert.equal(status.checks, 2);
  assert.equal(status.lastAction, 'cooldown');
  assert.ok(status.lastRetrainingAt);
});

test('a retraining already running is joined, not repeated; with retrainOnDrift off, drift is only reported', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: {
      async measureDrift(input) { return { judged: true, report: driftReport(input, drifted) }; },
      async requestRetraining(input) { return { pipelineId: `pipeline-${input.model}-running`, started: false }; },
    },
  });
  const h = await startMonitor(env);
  const joined = await check(h);
  assert.equal(joined.action, 'retraining_running');
  assert.match(joined.pipelineId!, /-running$/);
  // joining starts no cooldown: the next drift asks again (and joins again)
  assert.equal((await check(h)).action, 'retraining_running');
  await h.executeUpdate(settingsUpdate, { args: [{ retrainOnDrift: false }] });
  const reported = await check(h);
  assert.equal(reported.datasetDrift, true);
  assert.equal(reported.action, 'none');
  assert.equal(env.callsOf('requestRetraining').length, 2);
});

test('accuracy on labels falling past retrainOnPerformanceDrop starts a retraining marked "performance"; a smaller drop does not', async (t) => {
  let drop = 0.02;
  const env = await workflowEnv(t, {
    orchestration: {
      async measureDrift(input) {
        return { judged: true, report: driftReport(input, { performance: { labels: 200, accuracy: 0.8 - drop, expected: 0.8, drop } }) };
      },
    },
  });
  const h = await startMonitor(env);
  assert.equal((await check(h)).action, 'none');
  drop = 0.1;
  const report = await check(h);
  assert.equal(report.action, 'retraining_started');
  assert.match(report.reason!, /accuracy on 200 labels fell 0\.100 below evaluation \(policy: 0\.05\)/);
  assert.equal(env.callsOf('requestRetraining')[0].trigger.kind, 'performance');
});

test('too few rows, or paused: the check is recorded and nothing is started', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: { async measureDrift(input) { return { judged: input.settings.minRows <= 10, report: driftReport(input, drifted) }; } },
  });
  const h = await startMonitor(env);
  assert.equal((await check(h)).action, 'too_few_rows');
  const paused = await h.executeUpdate(pauseUpdate);
  assert.equal(paused.state, 'paused');
  assert.equal(paused.nextCheck, null);
  await h.executeUpdate(settingsUpdate, { args: [{ minRows: 10 }] });
  assert.equal((await check(h)).action, 'paused');
  assert.equal((await h.executeUpdate(resumeUpdate)).state, 'watching');
  assert.equal(env.callsOf('requestRetraining').length, 0);
});

test('with watch on, new bytes at the training source start one retraining on them; the same bytes do not', async (t) => {
  let fresh = true;
  const env = await workflowEnv(t, {
    orchestration: {
      async productionSource() { return { uri: 'weather.csv' }; },
      async sourceHasNewData() { return { fresh }; },
    },
  });
  const h = await startMonitor(env, { settings: { ...hour, watch: true } });
  const report = await check(h);
  assert.equal(report.action, 'retraining_started');
  const [request] = env.callsOf('requestRetraining');
  assert.equal(request.trigger.kind, 'arrival');
  assert.equal(request.trigger.datasetHash, 'a'.repeat(64));
  assert.equal(request.datasetUri, `dataset://${'a'.repeat(64)}`);
  fresh = false;
  assert.equal((await check(h)).action, 'none');
  assert.equal(env.callsOf('requestRetraining').length, 1);
});

test('the interval timer checks by itself; a promotion re-targets the monitor and merges its settings; stop ends it', async (t) => {
  const env = await workflowEnv(t);
  const h = await startMonitor(env, { settings: { ...hour, interval: '1s' } });
  await until(async () => env.callsOf('measureDrift').length, (n) => n >= 2, 'two timed checks');
  await h.signal(retargetSignal, { version: 2, settings: { interval: '1h', minRows: 50 } });
  const status = await until(() => h.query(monitorStatusQuery), (s) => s.version === 2, 'the new version');
  assert.equal(status.settings.interval, '1h');
  assert.equal(status.settings.minRows, 50);
  assert.equal(status.settings.window, DEFAULT_MONITOR_SETTINGS.window);
  assert.equal((await check(h)).version, 2);
  await h.signal(stopSignal);
  await h.result();
});

test('a scheduled check that fails is recorded on the monitor, which keeps watching and checks again', async (t) => {
  let failing = true;
  const env = await workflowEnv(t, {
    orchestration: {
      async measureDrift(input) {
        if (failing) throw ApplicationFailure.nonRetryable('artifact not found: datasets/x.csv', 'Missing');
        return { judged: true, report: driftReport(input) };
      },
    },
  });
  const h = await startMonitor(env, { settings: { ...hour, interval: '1s' } });
  const failed = await until(() => h.query(monitorStatusQuery), (s) => (s.failedChecks ?? 0) >= 1, 'a failed check');
  assert.match(failed.lastError!, /artifact not found/);
  failing = false;
  const recovered = await until(() => h.query(monitorStatusQuery), (s) => s.checks >= 1, 'a check after the failure');
  assert.equal(recovered.lastError, null);
  assert.equal((await h.describe()).status.name, 'RUNNING');
});

test('continue-as-new carries the settings, the pause, the count and the last report: nothing is lost', async (t) => {
  const env = await workflowEnv(t);
  // a tiny history limit forces continue-as-new every few checks
  const h = await startMonitor(env, { maxHistoryEvents: 40 });
  const firstRunId = (await h.describe()).runId;
  await h.executeUpdate(settingsUpdate, { args: [{ minRows: 123, cooldown: '2h' }] });
  await h.executeUpdate(pauseUpdate);
  let last: DriftReport | undefined;
  for (let i = 0; i < 12; i++) last = await env.client.workflow.getHandle(h.workflowId).executeUpdate(checkNowUpdate);
  const latest = env.client.workflow.getHandle(h.workflowId);
  const status = await until(() => latest.query(monitorStatusQuery), (s) => s.checks === 12, 'twelve checks');
  assert.notEqual((await latest.describe()).runId, firstRunId, 'the monitor continued as new');
  assert.equal(status.state, 'paused');
  assert.equal(status.settings.minRows, 123);
  assert.equal(status.settings.cooldown, '2h');
  assert.equal(status.lastReportId, last!.id);
  assert.equal(status.lastAction, 'paused');
  assert.equal(env.callsOf('recordDriftReport').length, 12);
});
