/**
 * Chaos 5: fifty pipelines of one model started at once. Every one ends; the versions they register
 * are unique and gapless (1..50); exactly one is in production, and the audit log has one promotion
 * per version that was promoted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { auditEvents, modelVersions } from '../../db/schema';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { report, waitAll } from './report';

const PIPELINES = Number(process.env.CHAOS_PIPELINES ?? 50);
let t: TestPlatform;

before(async () => {
  t = await startTestPlatform({ PERENNIAL_TRAINING_SLOTS: '2', PERENNIAL_RATE_LIMIT: '0' });
  await t.allowUnapproved('crowded');
});
after(async () => { await t?.stop(); });

test(`${PIPELINES} pipelines of one model at once all end, with versions 1..${PIPELINES} unique and gapless and one in production`, async () => {
  const t0 = Date.now();
  const started = await Promise.all(Array.from({ length: PIPELINES }, (_, i) => t.api('POST', '/v1/pipelines', {
    // cache off and a seed each: every pipeline trains its own candidate (one epoch)
    body: weatherRequest({ model: 'crowded', training: { epochs: 1, hiddenUnits: [8], seed: i + 1, cache: false }, approval: { required: false } }),
  })));
  assert.deepEqual(started.map((s) => s.status), started.map(() => 202), JSON.stringify(started.find((s) => s.status !== 202)?.body));
  const ended = await waitAll(t, started.map((s) => s.body.id), (p) => !['running', 'awaiting_approval'].includes(p.status));
  const seconds = (Date.now() - t0) / 1000;

  const completed = ended.filter((p) => p.status === 'completed').length;
  assert.equal(completed, PIPELINES, JSON.stringify(ended.filter((p) => p.status !== 'completed').map((p) => [p.status, p.error ?? p.reason])));

  const versions = await t.database.db.select({ version: modelVersions.version, status: modelVersions.status, pipelineId: modelVersions.pipelineId })
    .from(modelVersions).where(eq(modelVersions.modelName, 'crowded')).orderBy(modelVersions.version);
  assert.deepEqual(versions.map((v) => v.version), Array.from({ length: PIPELINES }, (_, i) => i + 1), 'unique and gapless');
  assert.equal(new Set(versions.map((v) => v.pipelineId)).size, PIPELINES, 'one version per pipeline');
  const production = versions.filter((v) => v.status === 'production');
  assert.equal(production.length, 1, 'exactly one production version');
  const model = await t.api('GET', '/v1/models/crowded');
  assert.equal(model.body.productionVersion, production[0].version);

  const promotions = await t.database.db.select({ version: auditEvents.version }).from(auditEvents)
    .where(and(eq(auditEvents.modelName, 'crowded'), eq(auditEvents.action, 'promote')));
  assert.equal(new Set(promotions.map((p) => p.version)).size, promotions.length, 'no version promoted twice');
  report('50 pipelines of one model at once', {
    pipelines: PIPELINES, completed, versions: versions.length, duplicates: versions.length - new Set(versions.map((v) => v.version)).size,
    production: production.length, promotions: promotions.length, seconds: Number(seconds.toFixed(1)), perMinute: Number((PIPELINES / seconds * 60).toFixed(1)),
  });
});
