/**
 * The loop closed, end to end on a real Temporal server and database: a model trained on Seattle's
 * weather (vega-datasets' weather.csv: three of every four Seattle days) is watched once in production;
 * the held-out Seattle days raise no drift; New York's days do, and the monitor starts exactly one retraining, which
 * waits for approval like any pipeline. Also: pause/resume, settings, new-data arrivals deduplicated
 * by hash, a restart of the whole platform, and bad input on every new route.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { inArray } from 'drizzle-orm';
import { driftReferences } from '../../db/schema';
import { startPlatform } from '../../platform/platform';
import { apiClient, REPO_ROOT, SEATTLE_WEATHER, startTestPlatform, type TestPlatform } from '../helpers/platform';

const WEATHER = path.join(REPO_ROOT, 'node_modules/vega-datasets/data/weather.csv');
const MODEL = 'weather-watch';
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];

interface Day { location: string; year: number; instance: Record<string, number>; label: string; line: string }

function days(): { header: string; rows: Day[] } {
  const [header, ...lines] = fs.readFileSync(WEATHER, 'utf8').trim().split('\n');
  const rows = lines.map((line) => {
    const [location, date, precipitation, tempMax, tempMin, wind, weather] = line.split(',');
    return {
      location, year: Number(date.slice(0, 4)), line, label: weather,
      instance: { precipitation: Number(precipitation), temp_max: Number(tempMax), temp_min: Number(tempMin), wind: Number(wind) },
    };
  });
  return { header, rows };
}

let t: TestPlatform;
let operator: string;
let approver: string;
let viewer: string;
const { header, rows } = days();
// every fourth Seattle day is held out of training and served later: the same weather, no drift
const seattle = rows.filter((d) => d.location === 'Seattle');
const heldOut = seattle.filter((_, i) => i % 4 === 0);
const newYork2015 = rows.filter((d) => d.location === 'New York' && d.year === 2015);

const writeCsv = (name: string, selected: Day[]) => {
  const file = path.join(t.importDir, name);
  fs.writeFileSync(file, [header, ...selected.map((d) => d.line)].join('\n') + '\n');
  return file;
};

async function predict(selected: Day[]) {
  for (let i = 0; i < selected.length; i += 50) {
    const res = await t.api('POST', `/v1/models/${MODEL}:predict`, { token: viewer, body: { instances: selected.slice(i, i + 50).map((d) => d.instance) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
}

/** Polls a GET until `until` holds: a guard against a hung test, not a timing assertion. */
async function eventually<T = any>(route: string, until: (body: any, status: number) => boolean, api = t.api): Promise<T> {
  const deadline = Date.now() + 120_000;
  let last: any;
  while (Date.now() < deadline) {
    const res = await api('GET', route, { token: viewer });
    last = res;
    if (until(res.body, res.status)) return res.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${route} never reached the expected state; last: ${JSON.stringify(last)}`);
}

const retrainings = async () => (await t.api('GET', `/v1/pipelines?model=${MODEL}&limit=100`, { token: viewer })).body.items
  .filter((p: any) => p.id !== firstPipeline);
let firstPipeline: string;
let trainingFile: string;

before(async () => {
  t = await startTestPlatform();
  operator = await t.createKey('olga', 'operator');
  approver = await t.createKey('alice', 'approver');
  viewer = await t.createKey('vic', 'viewer');
  const train = trainingFile = writeCsv('seattle-training.csv', seattle.filter((_, i) => i % 4 !== 0));
  const started = await t.api('POST', '/v1/pipelines', {
    token: operator,
    body: {
      model: MODEL, dataset: { uri: train }, target: 'weather', features: FEATURES, training: { epochs: 20, seed: 3 },
      // checks only when asked in this test: an hour-long interval never fires while it runs
      monitor: { interval: '1h', window: '30d', minRows: 100, minLabels: 30 },
    },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  firstPipeline = started.body.id;
  await t.waitFor(firstPipeline, (p) => p.status === 'awaiting_approval', operator);
  assert.equal((await t.api('POST', `/v1/pipelines/${firstPipeline}/approve`, { token: approver, body: {} })).status, 200);
  await t.waitFor(firstPipeline, (p) => p.status === 'completed', operator);
});
after(() => t?.stop());

test('a promotion starts the model\'s monitor on the new version, with the pipeline\'s monitor settings', async () => {
  const monitor = await eventually(`/v1/models/${MODEL}/monitor`, (_b, status) => status === 200);
  assert.equal(monitor.state, 'watching');
  assert.equal(monitor.version, 1);
  assert.equal(monitor.workflowId, `monitor-${MODEL}`);
  assert.match(monitor.temporalUiUrl, /monitor-weather-watch/);
  assert.deepEqual({ interval: monitor.settings.interval, window: monitor.settings.window, minRows: monitor.settings.minRows },
    { interval: '1h', window: '30d', minRows: 100 });
  assert.equal(monitor.settings.retrainOnDrift, true);
  assert.ok(Date.parse(monitor.nextCheck) > Date.now() - 60_000);
});

test('a model trained on the same file, features and target as another takes its drift reference as it is; other features get one of their own', async () => {
  await t.allowUnapproved(`${MODEL}-twin`, `${MODEL}-other`);
  const start = async (model: string, features: string[]) => {
    const res = await t.api('POST', '/v1/pipelines', {
      token: operator, body: { model, dataset: { uri: trainingFile }, target: 'weather', features, training: { epochs: 2 }, approval: { required: false } },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const ids = [await start(`${MODEL}-twin`, FEATURES), await start(`${MODEL}-other`, ['precipitation', 'wind'])];
  for (const id of ids) assert.equal((await t.waitFor(id, (p) => p.status !== 'running')).status, 'completed');
  const refs = await t.database.db.select().from(driftReferences).where(inArray(driftReferences.modelName, [MODEL, `${MODEL}-twin`, `${MODEL}-other`]));
  const keyOf = (model: string) => refs.find((r) => r.modelName === model && r.version === 1)?.artifactKey;
  assert.ok(keyOf(MODEL) && keyOf(`${MODEL}-twin`) && keyOf(`${MODEL}-other`), `each promoted version has its reference: ${JSON.stringify(refs)}`);
  assert.equal(keyOf(`${MODEL}-twin`), keyOf(MODEL), 'the same bytes, features and target: one reference');
  assert.notEqual(keyOf(`${MODEL}-other`), keyOf(MODEL), 'other features: another reference');
  assert.deepEqual(refs.map((r) => r.rows), [1095, 1095, 1095], 'each reference has every training row');
});

test('a window with too few predictions is reported as such and judged on nothing', async () => {
  await predict(heldOut.slice(0, 10));
  const res = await t.api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.action, 'too_few_rows');
  assert.equal(res.body.rows, 10);
  assert.equal(res.body.datasetDrift, false);
  assert.match(res.body.reason, /needs 100/);
});

test('held-out Seattle days with their labels: no drift, no retraining, accuracy on the labels reported', async () => {
  const ids: { id: string; label: string }[] = [];
  for (let i = 0; i < 300; i += 50) {
    const batch = heldOut.slice(10 + i, 10 + i + 50);
    const res = await t.api('POST', `/v1/models/${MODEL}:predict`, { token: viewer, body: { instances: batch.map((d) => d.instance) } });
    res.body.predictionIds.forEach((id: string, k: number) => ids.push({ id, label: batch[k].label }));
  }
  const fb = await t.api('POST', '/v1/feedback', { token: viewer, body: { items: ids.map((x) => ({ predictionId: x.id, label: x.label })) } });
  assert.equal(fb.status, 202, JSON.stringify(fb.body));

  const res = await t.api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const report = res.body;
  console.log(`held-out Seattle days: ${report.features.map((f: any) => `${f.name} ${f.statistic.toFixed(3)}/${f.threshold.toFixed(3)}`).join('; ')}; performance ${JSON.stringify(report.performance)}; estimated ${JSON.stringify(report.estimated)}`);
  assert.equal(report.rows, 310);
  assert.equal(report.datasetDrift, false);
  assert.equal(report.action, 'none');
  assert.equal(report.pipelineId, null);
  assert.deepEqual(report.features.map((f: any) => f.name), FEATURES);
  for (const f of report.features) {
    assert.equal(f.kind, 'numeric');
    assert.equal(f.test, 'wasserstein');
    assert.ok(Number.isFinite(f.ks.pValue) && Number.isFinite(f.psi) && Number.isFinite(f.wasserstein));
  }
  assert.equal(report.reference.rows, 1095);
  assert.match(report.reference.datasetHash, /^[0-9a-f]{64}$/);
  assert.equal(report.calibration.windowRows, 310);
  // the model's answers against its own answers on its held-out rows: the same model on the same weather
  assert.equal(report.prediction.test, 'jensenShannon');
  assert.equal(report.prediction.drifted, false, JSON.stringify(report.prediction));
  assert.equal(report.performance.labels, 300);
  assert.ok(report.performance.accuracy > 0.5 && report.performance.accuracy <= 1);
  assert.ok(report.performance.expected > 0.5);
  // the label-free estimate (CBPE on the version's held-out answers) is close to what the labels say
  assert.equal(report.estimated.method, 'cbpe');
  assert.equal(report.estimated.rows, 310);
  assert.ok(report.estimated.lower <= report.estimated.accuracy && report.estimated.accuracy <= report.estimated.upper);
  assert.ok(Math.abs(report.estimated.accuracy - report.performance.accuracy) < 0.1, JSON.stringify(report.estimated));
  assert.deepEqual(await retrainings(), []);

  const list = await t.api('GET', `/v1/models/${MODEL}/drift?limit=5`, { token: viewer });
  assert.equal(list.status, 200);
  assert.equal(list.body.items[0].id, report.id);
  assert.equal(list.body.items[1].action, 'too_few_rows');
  assert.equal((await t.api('GET', `/v1/models/${MODEL}/drift/${report.id}`, { token: viewer })).body.datasetDrift, false);
});

test('paused, the monitor judges a check it is asked for but acts on nothing; resumed, it watches again', async () => {
  const paused = await t.api('POST', `/v1/models/${MODEL}/monitor/pause`, { token: operator });
  assert.equal(paused.status, 200);
  assert.equal(paused.body.state, 'paused');
  assert.equal(paused.body.nextCheck, null);
  const report = (await t.api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator })).body;
  assert.equal(report.action, 'paused');
  const resumed = await t.api('POST', `/v1/models/${MODEL}/monitor/resume`, { token: operator });
  assert.equal(resumed.body.state, 'watching');
  assert.ok(resumed.body.nextCheck);
});

test('New York\'s days: the monitor reports drift and starts exactly one retraining, checked twice in a row, ordered by a person and fired by a schedule at once', async () => {
  // the window is New York's traffic alone: a 10 s pause after Seattle's, then a window reaching 8 s before New York's
  // first request, so the check may start up to 8 s after the window is set (a busy machine) and still hold every
  // New York row and no Seattle row
  await new Promise((r) => setTimeout(r, 10_000));
  const newYorkStart = Date.now();
  await predict(newYork2015.slice(0, 300));
  const window = `${Math.ceil((Date.now() - newYorkStart) / 1000) + 8}s`;
  const narrowed = await t.api('PUT', `/v1/models/${MODEL}/monitor`, { token: operator, body: { window } });
  assert.equal(narrowed.status, 200);
  // a change names what it changes: the pipeline's other settings stay
  assert.deepEqual([narrowed.body.settings.window, narrowed.body.settings.minRows, narrowed.body.settings.minLabels], [window, 100, 30]);

  const first = (await t.api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator })).body;
  assert.equal(first.rows, 300, 'the window holds New York\'s days only');
  console.log(`New York 2015: drifted ${first.features.filter((f: any) => f.drifted).map((f: any) => f.name).join(', ')}; share ${first.driftShare}; action ${first.action}`);
  assert.equal(first.datasetDrift, true);
  assert.ok(first.features.some((f: any) => f.name === 'temp_max' && f.drifted));
  assert.equal(first.prediction.drifted, true, 'New York\'s days are answered differently');
  assert.equal(first.action, 'retraining_started');
  assert.match(first.pipelineId, /^pipeline-weather-watch-r[0-9a-f]{32}$/);
  assert.match(first.reason, /dataset drift/);

  const second = (await t.api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator })).body;
  assert.equal(second.datasetDrift, true);
  assert.equal(second.action, 'cooldown');
  const ordered = await t.api('POST', `/v1/models/${MODEL}/retrain`, { token: operator });
  assert.equal(ordered.status, 202);
  assert.deepEqual(ordered.body, { pipelineId: first.pipelineId, started: false });
  // a schedule firing at the same time joins the same retraining too
  const schedule = await t.api('POST', '/v1/schedules', {
    token: operator, body: { id: 'weather-watch-nightly', cron: '0 3 * * *', pipeline: { model: MODEL, dataset: { uri: SEATTLE_WEATHER }, target: 'weather' } },
  });
  assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
  assert.equal((await t.api('POST', '/v1/schedules/weather-watch-nightly/trigger', { token: operator })).status, 202);
  const fired = await eventually('/v1/schedules/weather-watch-nightly', (b) => b.recentRuns?.length === 1);
  const scheduled = await t.platform.client.workflow.getHandle(fired.recentRuns[0].workflowId).result();
  assert.deepEqual({ pipelineId: scheduled.pipelineId, started: scheduled.started }, { pipelineId: first.pipelineId, started: false });
  assert.equal((await t.api('DELETE', '/v1/schedules/weather-watch-nightly', { token: operator })).status, 204);

  const retraining = await t.waitFor(first.pipelineId, (p) => p.status === 'awaiting_approval', operator);
  assert.deepEqual(retraining.trigger, { kind: 'drift', by: `monitor-${MODEL}`, reportId: first.id });
  const all = await retrainings();
  assert.equal(all.length, 1, JSON.stringify(all.map((p: any) => p.id)));
  assert.equal(all[0].id, first.pipelineId);
  // it goes through the same approval as any pipeline: the approver turns this one down
  assert.equal((await t.api('POST', `/v1/pipelines/${first.pipelineId}/reject`, { token: approver, body: { comment: 'not now' } })).status, 200);
  await t.waitFor(first.pipelineId, (p) => p.status === 'rejected', operator);
});

test('new data arriving starts a retraining on it once: the same bytes again find the same pipeline', async () => {
  const file = writeCsv('seattle-2015.csv', rows.filter((d) => d.location === 'Seattle'));
  const first = await t.api('POST', `/v1/models/${MODEL}/arrivals`, { token: operator, body: { uri: file } });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.equal(first.body.started, true);
  const again = await t.api('POST', `/v1/models/${MODEL}/arrivals`, { token: operator, body: { uri: file } });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.pipelineId, first.body.pipelineId);
  assert.equal(again.body.datasetHash, first.body.datasetHash);
  const p = await t.waitFor(first.body.pipelineId, (x) => x.status === 'awaiting_approval', operator);
  assert.equal(p.dataset.hash, first.body.datasetHash);
  await t.api('POST', `/v1/pipelines/${first.body.pipelineId}/reject`, { token: approver, body: {} });
  await t.waitFor(first.body.pipelineId, (x) => x.status === 'rejected', operator);
  const later = await t.api('POST', `/v1/models/${MODEL}/arrivals`, { token: operator, body: { uri: file } });
  assert.equal(later.status, 200);
  assert.equal(later.body.pipelineId, first.body.pipelineId);
});

test('bad input on the monitoring routes is a 4xx naming the problem; acting needs an operator', async () => {
  const bad = async (method: string, route: string, body: unknown, status: number, token = operator) => {
    const res = await t.api(method, route, { token, body });
    assert.equal(res.status, status, `${method} ${route} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.error?.message && !/\n\s+at /.test(res.body.error.message), JSON.stringify(res.body));
    return res.body;
  };
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { interval: 'soon' }, 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { interval: '0s' }, 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { driftShare: 2 }, 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { tests: 'bayes' }, 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { cron: '* * * * *' }, 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, ['interval'], 400);
  await bad('PUT', `/v1/models/${MODEL}/monitor`, { minRows: 5 }, 403, viewer);
  await bad('POST', `/v1/models/${MODEL}/monitor/check`, undefined, 403, viewer);
  await bad('POST', `/v1/models/${MODEL}/retrain`, undefined, 403, viewer);
  await bad('GET', '/v1/models/nobody/monitor', undefined, 404);
  await bad('POST', '/v1/models/nobody/retrain', undefined, 404);
  await bad('GET', `/v1/models/${MODEL}/drift?limit=0`, undefined, 400);
  await bad('GET', `/v1/models/${MODEL}/drift/nope`, undefined, 404);
  await bad('GET', '/v1/models/bad%20name/drift', undefined, 400);
  const refused = await bad('POST', `/v1/models/${MODEL}/arrivals`, { uri: '/etc/passwd' }, 400);
  assert.equal(refused.error.code, 'source_refused');
  assert.doesNotMatch(JSON.stringify(refused), /root:/);
  await bad('POST', `/v1/models/${MODEL}/arrivals`, { uri: 'http://169.254.169.254/latest' }, 400);
  await bad('POST', `/v1/models/${MODEL}/arrivals`, { uri: 'x', extra: 1 }, 400);
  await bad('POST', `/v1/models/${MODEL}/arrivals`, {}, 400);
  await bad('POST', `/v1/models/${MODEL}/arrivals`, { uri: writeCsv('empty.csv', []) }, 400);
});

test('the monitor survives a restart of the whole platform: same state, and it checks again with the new workers', async () => {
  const before = (await t.api('GET', `/v1/models/${MODEL}/monitor`, { token: viewer })).body;
  await t.platform.stop();
  const platform = await startPlatform(t.config, { temporalAddress: t.temporalAddress, database: t.database, log: () => {} });
  try {
    const api = apiClient(platform.apiUrl!, t.adminToken);
    const afterRestart = await eventually(`/v1/models/${MODEL}/monitor`, (_b, s) => s === 200, api);
    assert.equal(afterRestart.checks, before.checks);
    assert.equal(afterRestart.lastReportId, before.lastReportId);
    assert.deepEqual(afterRestart.settings, before.settings);
    const report = await api('POST', `/v1/models/${MODEL}/monitor/check`, { token: operator });
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.equal(report.body.version, 1);
  } finally {
    // the last test: the platform started here is the one the file stops
    t.platform = platform;
  }
});
