import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { and, eq } from 'drizzle-orm';
import { createTrainingQueueActivities } from '../../activities';
import { LocalArtifactStore } from '../../db/artifacts';
import { auditEvents, modelVersions, predictions } from '../../db/schema';
import { SEATTLE_WEATHER, startApiReplica, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { sendTraffic } from '../helpers/traffic';

let t: TestPlatform;
let viewer: string;
let approver: string;
before(async () => {
  t = await startTestPlatform();
  await t.allowUnapproved('weather');
  viewer = await t.createKey('vera', 'viewer');
  approver = await t.createKey('alice', 'approver');
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, training: { epochs: 15, hiddenUnits: [16] } }) });
  await t.waitFor(first.body.id, (p) => p.status === 'completed');
});
after(async () => { await t?.stop(); });

/** analysis thresholds loose everywhere but where a test looks, so only the property under test decides */
const lenient = { minRequests: 20, maxLatencyRatio: 1000, maxPredictionDistance: 1, minLabels: 100_000, maxErrorRateIncrease: 1 };
const production = async () => (await t.api('GET', '/v1/models/weather', { token: viewer })).body;
const versionStatus = async (v: number) => (await production()).versions.find((x: any) => x.version === v).status;

/** a pipeline through its canary, with live traffic until it ends */
async function rollOut(request: Record<string, unknown>, traffic: { feedback?: boolean; onResponse?: (body: any) => void } = {}) {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, ...request }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  let ended: any;
  const watching = t.waitFor(started.body.id, (p) => ['completed', 'rejected', 'failed'].includes(p.status)).then((p) => { ended = p; });
  const report = await sendTraffic(t, { token: viewer, until: () => ended !== undefined, ...traffic });
  await watching;
  return { pipeline: ended, report };
}

test('a canary as good as production is promoted after its steps: it took its share of live traffic, then production', async () => {
  const before = (await production()).productionVersion;
  // the same data and parameters: the same model, so the analysis finds nothing against it
  const { pipeline, report } = await rollOut({ training: { epochs: 15, hiddenUnits: [16] }, canary: { steps: [50], stepDuration: '2s', ...lenient } });
  assert.equal(pipeline.status, 'completed', JSON.stringify(pipeline));
  assert.deepEqual(pipeline.stages.map((s: any) => s.name), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'canary', 'promote']);
  assert.equal(pipeline.servability.servable, true);
  assert.equal(pipeline.canary.outcome, 'promoted');
  assert.equal(pipeline.canary.reason, 'passed');
  const [analysis] = pipeline.canary.analyses;
  assert.ok(analysis.passed && analysis.sufficient, JSON.stringify(analysis));
  assert.ok(analysis.canary.requests >= 20);
  assert.ok(analysis.predictionDistance < 0.2, 'the same model: its answers are distributed as production\'s, up to sampling');
  assert.ok((report.byVersion.get(pipeline.modelVersion) ?? 0) > 0, 'the canary answered live requests');
  const model = await production();
  assert.equal(model.productionVersion, pipeline.modelVersion);
  assert.equal(model.canaryVersion, null);
  assert.equal(await versionStatus(before), 'archived');

  // rolled back: both versions' histories tell it, oldest first
  const rolledBack = await t.api('POST', '/v1/models/weather/rollback', { token: approver, body: { toVersion: before, comment: 'back to the known one' } });
  assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
  const history = async (v: number) => {
    const res = await t.api('GET', `/v1/models/weather/versions/${v}/history`, { token: viewer });
    assert.equal(res.status, 200);
    return res.body.items as { action: string; at: string; details: any }[];
  };
  const life = await history(pipeline.modelVersion);
  const actions = life.map((e) => e.action);
  assert.deepEqual(actions.filter((a, i) => a !== actions[i - 1]), ['version.registered', 'version.servability', 'canary_weight', 'promote', 'version.rolled_back'], actions.join(', '));
  assert.ok(life.filter((e) => e.action === 'canary_weight').some((e) => e.details.weight === 50), 'the canary step at 50% is in its life');
  assert.equal(life.at(-1)!.details.comment, 'back to the known one');
  assert.deepEqual(life.map((e) => e.at), [...life.map((e) => e.at)].sort(), 'oldest first');
  const previous = (await history(before)).map((e) => e.action);
  assert.deepEqual(previous.slice(-2), ['version.archived', 'rollback'], previous.join(', '));
  assert.equal(await versionStatus(before), 'production');

  // RECORD_HISTORY=1: keep this run's histories for the replay test (test/workflows/replay.test.ts)
  if (process.env.RECORD_HISTORY) {
    const dir = path.join(import.meta.dirname, '../fixtures/histories');
    for (const [id, file] of [[pipeline.id, 'weather-canary-promoted.json'], [pipeline.canary.workflowId, 'weather-canary-rollout.json']]) {
      const history = await t.platform.client.workflow.getHandle(id).fetchHistory();
      fs.writeFileSync(path.join(dir, file), historyToJSON(history));
    }
  }
});

test('a canary trained on shuffled labels (gates off) is rolled back by the analysis of labelled feedback', async () => {
  const before = (await production()).productionVersion;
  // the same days, each with another day's weather
  const dir = fs.mkdtempSync(path.join(t.importDir, 'shuffled-'));
  const [header, ...lines] = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const labels = lines.map((l) => l.split(',').at(-1)!);
  let seed = 3;
  for (let i = labels.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const shuffled = path.join(dir, 'seattle-weather-shuffled.csv');
  fs.writeFileSync(shuffled, [header, ...lines.map((l, i) => `${l.split(',').slice(0, -1).join(',')},${labels[i]}`)].join('\n'));

  const { pipeline, report } = await rollOut({
    dataset: { uri: shuffled }, training: { epochs: 15, hiddenUnits: [16] }, gates: { minMetrics: {}, mustBeatProduction: false },
    canary: { steps: [50], stepDuration: '3s', ...lenient, minLabels: 20, maxAccuracyDrop: 0.05 },
  }, { feedback: true });
  assert.equal(pipeline.status, 'rejected', JSON.stringify(pipeline));
  assert.equal(pipeline.reason, 'canary');
  assert.equal(pipeline.canary.outcome, 'rolled_back');
  assert.equal(pipeline.canary.reason, 'analysis');
  const [analysis] = pipeline.canary.analyses;
  assert.equal(analysis.passed, false);
  assert.ok(analysis.failures.some((f: string) => /accuracy on feedback/.test(f)), JSON.stringify(analysis.failures));
  assert.ok(analysis.canary.feedbackScore < analysis.production.feedbackScore);
  assert.ok(report.labelled > 0);

  const model = await production();
  assert.equal(model.productionVersion, before, 'production is untouched');
  assert.equal(model.canaryVersion, null, 'the canary takes no more traffic');
  assert.equal(await versionStatus(pipeline.modelVersion), 'rejected');
  const audit = await t.database.db.select().from(auditEvents)
    .where(and(eq(auditEvents.action, 'canary_rollback'), eq(auditEvents.version, pipeline.modelVersion)));
  assert.equal(audit.length, 1);
  assert.equal((audit[0].details as any).reason, 'analysis');
  const after = await t.api('POST', '/v1/models/weather:predict', { token: viewer, body: { instances: [{ precipitation: 0, temp_max: 20, temp_min: 10, wind: 3 }] } });
  assert.equal(after.body.modelVersion, before);
});

test('a shadow canary sees a mirror of live requests but its answers are never returned', async () => {
  const prod = (await production()).productionVersion;
  const answers: { version: number; at: number }[] = [];
  const { pipeline } = await rollOut(
    { training: { epochs: 15, hiddenUnits: [16], seed: 11 }, canary: { mode: 'shadow', steps: [50], stepDuration: '2s', ...lenient } },
    { onResponse: (body) => answers.push({ version: body.modelVersion, at: Date.now() }) },
  );
  assert.equal(pipeline.status, 'completed', JSON.stringify(pipeline));
  assert.equal(pipeline.canary.mode, 'shadow');
  const promotedAt = Date.parse(pipeline.stages.find((s: any) => s.name === 'promote').startedAt);
  const beforePromotion = answers.filter((a) => a.at < promotedAt);
  assert.ok(beforePromotion.length > 0);
  assert.ok(beforePromotion.every((a) => a.version === prod), 'every answer during the shadow canary came from production');
  assert.ok(answers.filter((a) => a.version === pipeline.modelVersion).every((a) => a.at >= promotedAt), 'the candidate answered only once promoted');
  const shadow = await t.database.db.select().from(predictions)
    .where(and(eq(predictions.version, pipeline.modelVersion), eq(predictions.role, 'shadow')));
  assert.ok(shadow.length >= 20);
  assert.ok(shadow.every((r) => r.shadowOf !== null), 'each shadow answer names the production prediction it mirrors');
  assert.equal((await production()).productionVersion, pipeline.modelVersion, 'then promoted');
});

test('a canary without enough traffic is held up to maxStepDuration, then rolled back, or promoted when the request says so', async () => {
  const prod = (await production()).productionVersion;
  const quiet = { steps: [20], stepDuration: '1s', maxStepDuration: '3s', minRequests: 1000 };
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, canary: quiet }) });
  const held = await t.waitFor(started.body.id, (p) => p.canary?.holding === true || p.status !== 'running');
  assert.equal(held.canary.holding, true, 'the step is held past its duration, waiting for traffic');
  const ended = await t.waitFor(started.body.id, (p) => p.status !== 'running');
  assert.equal(ended.status, 'rejected');
  assert.equal(ended.reason, 'canary');
  assert.equal(ended.canary.reason, 'insufficient_traffic');
  const [analysis] = ended.canary.analyses;
  assert.equal(analysis.sufficient, false);
  assert.ok(Date.parse(analysis.window.until) - Date.parse(analysis.window.since) >= 3000, 'judged over the whole held window');
  assert.equal((await production()).productionVersion, prod);

  const lenientOnTraffic = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ approval: { required: false }, canary: { ...quiet, maxStepDuration: '1s', onInsufficientTraffic: 'promote' } }),
  });
  const promoted = await t.waitFor(lenientOnTraffic.body.id, (p) => p.status !== 'running');
  assert.equal(promoted.status, 'completed', JSON.stringify(promoted));
  assert.equal(promoted.canary.reason, 'passed');
  assert.equal((await production()).productionVersion, promoted.modelVersion);
});

/** a pipeline whose canary holds its first step for an hour, for a person to act on */
async function canaryInProgress(steps = [10, 50]) {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, canary: { steps, stepDuration: '1h' } }) });
  return t.waitFor(started.body.id, (p) => p.stage === 'canary' && p.canary?.trafficPercent === steps[0]);
}

test('abort rolls the canary back at once; promoteNow promotes it; both need an approver and a canary in progress', async () => {
  const prod = (await production()).productionVersion;
  const running = await canaryInProgress();
  assert.equal(running.canary.step, 1);
  assert.equal((await production()).canaryVersion, running.modelVersion);
  assert.equal((await t.api('POST', `/v1/pipelines/${running.id}/canary/abort`, { token: viewer })).status, 403);
  const aborted = await t.api('POST', `/v1/pipelines/${running.id}/canary/abort`, { token: approver, body: { comment: 'latency looks off' } });
  assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
  assert.equal(aborted.body.canary.outcome, 'rolled_back');
  assert.equal(aborted.body.canary.reason, 'aborted');
  assert.match(aborted.body.canary.decidedBy, /^alice/);
  const ended = await t.waitFor(running.id, (p) => p.status === 'rejected');
  assert.equal(ended.reason, 'canary');
  assert.equal((await production()).canaryVersion, null);
  assert.equal((await production()).productionVersion, prod);
  assert.equal((await t.api('POST', `/v1/pipelines/${running.id}/canary/abort`, { token: approver })).status, 409);

  const next = await canaryInProgress();
  const promoted = await t.api('POST', `/v1/pipelines/${next.id}/canary/promote`, { token: approver });
  assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
  assert.equal(promoted.body.canary.outcome, 'promoted');
  assert.equal(promoted.body.canary.reason, 'promoted_now');
  await t.waitFor(next.id, (p) => p.status === 'completed');
  const model = await production();
  assert.equal(model.productionVersion, next.modelVersion);
  assert.equal(model.canaryVersion, null);
  assert.equal(await versionStatus(prod), 'archived');
});

test('two canaries of one model take turns: the second waits (and may be aborted while it waits), then runs', async () => {
  const first = await canaryInProgress([10, 50]);
  const startWaiting = async () => {
    const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, canary: { steps: [20], stepDuration: '1h' } }) });
    return t.waitFor(started.body.id, (p) => p.stage === 'canary' && p.canary?.waiting === true);
  };
  const second = await startWaiting();
  assert.equal((await production()).canaryVersion, first.modelVersion, 'the first keeps the canary slot');
  const early = await t.api('POST', `/v1/pipelines/${second.id}/canary/promote`, { token: approver });
  assert.equal(early.status, 409);
  assert.match(early.body.error.message, /waits for another version's canary/);

  const third = await startWaiting();
  const dropped = await t.api('POST', `/v1/pipelines/${third.id}/canary/abort`, { token: approver, body: { comment: 'not needed' } });
  assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
  assert.equal(dropped.body.canary.reason, 'aborted');
  assert.equal((await t.waitFor(third.id, (p) => p.status !== 'running')).reason, 'canary');
  assert.equal(await versionStatus(third.modelVersion), 'rejected');

  assert.equal((await t.api('POST', `/v1/pipelines/${first.id}/canary/abort`, { token: approver })).status, 200);
  const running = await t.waitFor(second.id, (p) => p.canary?.waiting === false && p.canary?.trafficPercent === 20);
  assert.equal(running.canary.step, 1);
  assert.equal((await production()).canaryVersion, second.modelVersion, 'then the second takes it');
  assert.equal((await t.api('POST', `/v1/pipelines/${second.id}/canary/abort`, { token: approver })).status, 200);
  await t.waitFor(second.id, (p) => p.status === 'rejected');
  assert.equal((await production()).canaryVersion, null);
});

test('an API restart during a canary loses neither the weights nor the canary', async () => {
  const running = await canaryInProgress([30, 60]);
  const replica = await startApiReplica(t);
  const before = await replica.api('GET', '/v1/models/weather', { token: viewer });
  assert.equal(before.body.canaryTrafficPercent, 30);
  await replica.stop();

  const restarted = await startApiReplica(t);
  try {
    const model = (await restarted.api('GET', '/v1/models/weather', { token: viewer })).body;
    assert.equal(model.canaryVersion, running.modelVersion);
    assert.equal(model.canaryTrafficPercent, 30);
    const seen = new Set<number>();
    for (let k = 0; k < 40; k++) {
      const res = await restarted.api('POST', '/v1/models/weather:predict', {
        token: viewer, headers: { 'x-entity-key': `customer-${k}` }, body: { instances: [{ precipitation: 0, temp_max: 20, temp_min: 10, wind: 3 }] },
      });
      seen.add(res.body.modelVersion);
    }
    assert.ok(seen.has(running.modelVersion) && seen.size === 2, `the restarted API splits traffic: ${[...seen]}`);
    const status = await restarted.api('GET', `/v1/pipelines/${running.id}`, { token: viewer });
    assert.equal(status.body.canary.trafficPercent, 30);
    const aborted = await restarted.api('POST', `/v1/pipelines/${running.id}/canary/abort`, { token: approver });
    assert.equal(aborted.status, 200);
    await t.waitFor(running.id, (p) => p.status === 'rejected');
  } finally {
    await restarted.stop();
  }
});

test('a model bundle changed while its pipeline awaits approval is caught after the decision, before any traffic; the check itself names a bundle that answers differently or does not load', async () => {
  const prod = (await production()).productionVersion;
  const operator = await t.createKey('olivia (operator)', 'operator');
  const started = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ training: { epochs: 5, hiddenUnits: [16], seed: 99 }, canary: { steps: [10] } }) });
  const waiting = await t.waitFor(started.body.id, (p) => p.status === 'awaiting_approval');
  assert.equal(waiting.servability.servable, true, 'checked before the approval request');
  assert.match(waiting.servability.bundleSha256, /^[0-9a-f]{64}$/);
  const [v] = await t.database.db.select().from(modelVersions)
    .where(and(eq(modelVersions.modelName, 'weather'), eq(modelVersions.version, waiting.modelVersion)));
  // the same number of bytes, other values: it loads, but it is not the model that was evaluated
  const weights = path.join(t.config.artifactsDir, v.artifactKey, 'weights.bin');
  const size = fs.statSync(weights).size;
  fs.writeFileSync(weights, Buffer.from(new Float32Array(size / 4).map((_, i) => Math.sin(i)).buffer));
  await t.api('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver });
  const ended = await t.waitFor(started.body.id, (p) => p.status === 'rejected');
  assert.equal(ended.reason, 'servability');
  assert.equal(ended.servability.servable, false);
  assert.match(ended.servability.problem, /^the stored model bundle changed after its servability check \(sha256 [0-9a-f]{12}… when checked, [0-9a-f]{12}… now\)$/);
  assert.ok(!ended.stages.some((s: any) => s.name === 'canary'), 'it never took traffic');
  assert.equal(await versionStatus(waiting.modelVersion), 'rejected');
  assert.equal((await production()).productionVersion, prod);
  assert.equal((await production()).canaryVersion, null);

  // the check on that bundle: it answers the evaluation's held-out rows differently
  const activities = createTrainingQueueActivities({ artifacts: new LocalArtifactStore(t.config.artifactsDir), backend: 'wasm' });
  const differs = await activities.checkServability({ artifactKey: v.artifactKey, sampleKey: `${v.artifactKey}/serving-sample.json` });
  assert.equal(differs.servable, false);
  assert.match(differs.problem!, /differently from evaluation/);
  // and a bundle that does not load at all (truncated weights) is said to be so
  fs.truncateSync(weights, 100);
  const check = await activities.checkServability({ artifactKey: v.artifactKey });
  assert.equal(check.servable, false);
  assert.match(check.problem!, /could not be loaded/);
});
