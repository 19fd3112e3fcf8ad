import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDeploymentActivities } from '../../activities/deployment';
import type { CanarySpec } from '../../common/pipeline-request';
import type { Database } from '../../db/client';
import { feedback, models, predictions } from '../../db/schema';
import { openTestDatabase } from '../helpers/database';

let database: Database;
let analyse: ReturnType<typeof createDeploymentActivities>['analyseCanary'];
before(async () => {
  database = await openTestDatabase();
  analyse = createDeploymentActivities({ db: database.db }).analyseCanary;
});
after(async () => { await database?.close(); });

const spec: CanarySpec = {
  mode: 'split', steps: [50], stepDuration: '1m', minRequests: 20, onInsufficientTraffic: 'rollback',
  maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5, maxPredictionDistance: 0.2, minLabels: 10, maxAccuracyDrop: 0.05,
};
const since = new Date('2026-01-01T00:00:00Z');
const until = new Date('2026-01-01T00:10:00Z');
let seq = 0;

/** a model with production v1 and canary v2, and the prediction log rows a test describes */
async function scenario(model: string, task: 'classification' | 'regression', rows: {
  version: 1 | 2; n: number; label?: string; value?: number; latencyMs?: number; error?: boolean; truth?: string | number; at?: Date;
}[]) {
  await database.db.insert(models).values({ name: model, task, productionVersion: 1, canaryVersion: 2, canaryWeight: 50 });
  for (const r of rows) {
    const batch = Array.from({ length: r.n }, () => ({
      id: `${model}-${++seq}`, modelName: model, version: r.version, role: r.version === 1 ? 'production' as const : 'canary' as const,
      features: {}, output: r.error ? null : r.value !== undefined ? { value: r.value } : { label: r.label ?? '', probabilities: {} }, label: r.label ?? null, value: r.value ?? null, error: r.error ? 'NaN output' : null,
      latencyMs: r.latencyMs ?? 0.3, createdAt: r.at ?? new Date(since.getTime() + 60_000),
    }));
    await database.db.insert(predictions).values(batch);
    if (r.truth !== undefined) {
      await database.db.insert(feedback).values(batch.map((b) => ({
        predictionId: b.id, label: typeof r.truth === 'string' ? r.truth : null, value: typeof r.truth === 'number' ? r.truth : null,
      })));
    }
  }
  return analyse({ model, version: 2, task, since: since.toISOString(), until: until.toISOString(), thresholds: spec });
}

test('a canary like production passes; sub-millisecond latencies are not a regression', async () => {
  const a = await scenario('alike', 'classification', [
    { version: 1, n: 60, label: 'sun', latencyMs: 0.2, truth: 'sun' }, { version: 1, n: 40, label: 'rain', latencyMs: 0.2, truth: 'rain' },
    { version: 2, n: 30, label: 'sun', latencyMs: 0.6, truth: 'sun' }, { version: 2, n: 20, label: 'rain', latencyMs: 0.6, truth: 'rain' },
  ]);
  assert.deepEqual(a.failures, []);
  assert.equal(a.passed, true);
  assert.equal(a.sufficient, true);
  assert.equal(a.canary.requests, 50);
  assert.equal(a.production.requests, 100);
  assert.equal(a.production.version, 1);
  assert.equal(a.latencyRatio, 1, 'both under the 1 ms floor');
  assert.ok(a.predictionDistance! < 0.01);
  assert.equal(a.canary.feedbackScore, 1);
});

test('a canary whose errors rise, whose p95 latency doubles, or whose answers shift is failed, each named', async () => {
  const a = await scenario('worse', 'classification', [
    { version: 1, n: 100, label: 'sun', latencyMs: 4 },
    { version: 2, n: 40, label: 'rain', latencyMs: 9 }, { version: 2, n: 10, error: true },
  ]);
  assert.equal(a.passed, false);
  assert.equal(a.canary.errorRate, 0.2);
  assert.equal(a.failures.length, 3, a.failures.join('\n'));
  assert.match(a.failures[0], /error rate 20\.0%/);
  assert.match(a.failures[1], /p95 latency 9\.00 ms against production's 4\.00 ms/);
  assert.match(a.failures[2], /Jensen-Shannon\) 1\.000/);
});

test('accuracy on feedback is compared once both sides have minLabels labels', async () => {
  const few = await scenario('few-labels', 'classification', [
    { version: 1, n: 30, label: 'sun', truth: 'sun' }, { version: 2, n: 25, label: 'sun' }, { version: 2, n: 5, label: 'sun', truth: 'rain' },
  ]);
  assert.equal(few.passed, true, 'five labels are too few to judge');
  assert.match(few.notes.join(' '), /5 canary and 30 production labels, 10 each needed/);

  const wrong = await scenario('wrong-labels', 'classification', [
    { version: 1, n: 30, label: 'sun', truth: 'sun' }, { version: 2, n: 20, label: 'sun', truth: 'sun' }, { version: 2, n: 10, label: 'sun', truth: 'rain' },
  ]);
  assert.equal(wrong.passed, false);
  assert.equal(wrong.canary.labels, 30);
  assert.ok(Math.abs(wrong.canary.feedbackScore! - 2 / 3) < 1e-9);
  assert.match(wrong.failures[0], /accuracy on feedback 66\.7% against production's 100\.0%/);
});

test('too few canary requests in the window is insufficient, not a failure; rows outside the window do not count', async () => {
  const a = await scenario('quiet', 'classification', [
    { version: 1, n: 50, label: 'sun' }, { version: 2, n: 5, label: 'sun' },
    { version: 2, n: 100, label: 'rain', at: new Date(until.getTime() + 1000) },
  ]);
  assert.equal(a.sufficient, false);
  assert.equal(a.passed, true);
  assert.equal(a.canary.requests, 5);
  assert.match(a.notes[0], /5 canary requests in the window, 20 needed/);
});

test('regression: predicted values are compared in shared bins and MAE on feedback may rise only by maxAccuracyDrop', async () => {
  const a = await scenario('regress', 'regression', [
    { version: 1, n: 30, value: 10, truth: 10.5 }, { version: 1, n: 30, value: 20, truth: 20.5 },
    { version: 2, n: 15, value: 10, truth: 12 }, { version: 2, n: 15, value: 20, truth: 22 },
  ]);
  assert.ok(a.predictionDistance! < 0.01, 'the same values, the same distribution');
  assert.equal(a.production.feedbackScore, 0.5);
  assert.equal(a.canary.feedbackScore, 2);
  assert.equal(a.passed, false);
  assert.match(a.failures[0], /MAE on feedback 2\.000 against production's 0\.5000/);
});
