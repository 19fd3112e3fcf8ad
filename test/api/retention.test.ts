/**
 * The prediction log's retention on a real platform: the platform keeps a Temporal Schedule for it,
 * and its workflow removes predictions (and their feedback) older than PERENNIAL_PREDICTION_RETENTION,
 * keeps the rest, and audits the count. The audit log itself is never pruned.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eq, inArray } from 'drizzle-orm';
import { auditEvents, feedback, predictions } from '../../db/schema';
import { PRUNE_WORKFLOW, retentionScheduleId } from '../../workflows/retention';
import { loadConfig } from '../../config';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => { t = await startTestPlatform({ PERENNIAL_PREDICTION_RETENTION: '30d' }); });
after(() => t?.stop());

const DAY = 24 * 60 * 60 * 1000;
const row = (id: string, ageDays: number) => ({
  id, modelName: 'kept-or-not', version: 1, role: 'production' as const, features: { wind: 3 }, output: { value: 1 }, value: 1,
  latencyMs: 1, createdAt: new Date(Date.now() - ageDays * DAY),
});

test('the platform keeps a Temporal Schedule that prunes the prediction log every 6 hours', async () => {
  const d = await t.platform.client.schedule.getHandle(retentionScheduleId(t.config.taskQueues.orchestration)).describe();
  assert.equal(d.action.type, 'startWorkflow');
  assert.equal(d.action.workflowType, PRUNE_WORKFLOW);
  assert.equal(d.spec.intervals?.[0]?.every, 6 * 60 * 60 * 1000);
  assert.equal(d.policies.overlap, 'SKIP');
});

test('predictions older than the retention go with their feedback; newer ones and the audit log stay', async () => {
  const { db } = t.database;
  await db.insert(predictions).values([row('old-1', 40), row('old-2', 31), row('new-1', 29), row('new-2', 0)]);
  await db.insert(feedback).values([{ predictionId: 'old-1', value: 2 }, { predictionId: 'new-1', value: 2 }]);
  const result = await t.platform.client.workflow.execute(PRUNE_WORKFLOW, {
    taskQueue: t.config.taskQueues.orchestration, workflowId: `prune-${Date.now()}`, args: [{ predictionRetention: t.config.predictionRetention }],
  });
  assert.deepEqual(result, { predictions: 2 });
  const left = await db.select({ id: predictions.id }).from(predictions).where(inArray(predictions.id, ['old-1', 'old-2', 'new-1', 'new-2']));
  assert.deepEqual(left.map((r) => r.id).sort(), ['new-1', 'new-2']);
  assert.deepEqual((await db.select({ id: feedback.predictionId }).from(feedback)).map((r) => r.id), ['new-1']);
  const [audit] = await db.select().from(auditEvents).where(eq(auditEvents.action, 'predictions.prune'));
  assert.deepEqual(audit.details, { predictions: 2, olderThan: '30d' });
  assert.equal(audit.actorName, 'system:retention');
  // nothing older is left: a second run removes nothing and audits nothing
  assert.deepEqual(await t.platform.client.workflow.execute(PRUNE_WORKFLOW, {
    taskQueue: t.config.taskQueues.orchestration, workflowId: `prune-again-${Date.now()}`, args: [{ predictionRetention: '30d' }],
  }), { predictions: 0 });
});

test('a retention that is not a duration is refused at start, naming the setting', () => {
  assert.throws(() => loadConfig({ PERENNIAL_PREDICTION_RETENTION: 'half a year' }), /PERENNIAL_PREDICTION_RETENTION/);
});
