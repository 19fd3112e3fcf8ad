/**
 * Chaos 6: 10,000 predictions over two API replicas while a promotion and then a rollback happen.
 * Nothing is answered 5xx; each prediction is answered by exactly one version, and logged as that
 * version; and on each replica, once it has answered with the new version, no request sent to it
 * afterwards is answered by the old one.
 * Needs PostgreSQL (TEST_DATABASE_URL): the replicas are processes of their own, told of deployment
 * changes by NOTIFY.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { databaseUrl, startApi, type PartProcess } from '../helpers/processes';
import { weatherDays } from '../helpers/traffic';
import { report, waitAll } from './report';

const PREDICTIONS = Number(process.env.CHAOS_SWITCH_PREDICTIONS ?? 10_000);
const CLIENTS_PER_REPLICA = 4;
const MODEL = 'switched';
let t: TestPlatform | undefined;
const parts: PartProcess[] = [];
const skipReason = process.env.TEST_DATABASE_URL ? null : 'needs PostgreSQL (TEST_DATABASE_URL): a second process cannot open an embedded PGlite';

before(async () => {
  if (skipReason) return;
  t = await startTestPlatform();
});
after(async () => {
  for (const p of parts) await p.kill();
  await t?.stop();
});

interface Answer { replica: number; sentAt: number; receivedAt: number; status: number; version: number | null; ids: string[] }

/**
 * On one replica, from the first answer by `to` (received at s), every request sent after s is
 * answered by `to`: the answers that break it. `answers` are those of one phase, on one replica.
 */
function oldAfterSwitch(answers: Answer[], to: number) {
  const first = answers.filter((a) => a.version === to).sort((a, b) => a.receivedAt - b.receivedAt)[0];
  if (!first) return { switchedAt: null, stale: [] as Answer[] };
  return { switchedAt: first.receivedAt, stale: answers.filter((a) => a.sentAt > first.receivedAt && a.version !== to) };
}

test(`${PREDICTIONS} predictions over two replicas across a promotion and a rollback: no 5xx, one version each, none answered by the old version after a replica switched`, async (tc) => {
  if (skipReason || !t) return tc.skip(skipReason ?? 'no platform');
  await t.allowUnapproved(MODEL);
  const v1 = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: MODEL, approval: { required: false } }) });
  assert.equal(v1.status, 202, JSON.stringify(v1.body));
  assert.equal((await waitAll(t, [v1.body.id], (p) => p.status !== 'running'))[0].status, 'completed');
  // version 2 waits for a person: the promotion comes when the approver says so, under load
  await t.setPolicy(MODEL, { approval: { required: true } });
  const operator = await t.createKey('otto', 'operator', 'otto');
  const approver = await t.createKey('ada', 'approver', 'ada');
  const v2 = await t.api('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: MODEL, training: { epochs: 8, hiddenUnits: [16] } }) });
  assert.equal(v2.status, 202, JSON.stringify(v2.body));
  assert.equal((await waitAll(t, [v2.body.id], (p) => p.status !== 'running'))[0].status, 'awaiting_approval');

  const replicas = [await startApi(t), await startApi(t)];
  parts.push(...replicas);
  const viewer = await t.createKey('vlad', 'viewer', 'vlad');
  const days = weatherDays();

  const answers: Answer[] = [];
  const failures: string[] = [];
  let sent = 0;
  const loops = replicas.flatMap((r, replica) => Array.from({ length: CLIENTS_PER_REPLICA }, async () => {
    while (sent < PREDICTIONS) {
      const instance = days[sent++ % days.length].instance;
      const sentAt = performance.now();
      try {
        const res = await fetch(`${r.url}/v1/models/${MODEL}:predict`, {
          method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [instance] }), signal: AbortSignal.timeout(30_000),
        });
        const body: any = await res.json().catch(() => null);
        answers.push({ replica, sentAt, receivedAt: performance.now(), status: res.status, version: body?.modelVersion ?? null, ids: body?.predictionIds ?? [] });
      } catch (err) {
        failures.push(`replica ${replica}: ${(err as Error).message}`);
      }
    }
  }));
  const until = async (n: number) => { while (answers.length + failures.length < n && sent < PREDICTIONS) await new Promise((r) => setTimeout(r, 5)); };

  // the promotion: approved at 30 % of the load, the workflow promotes version 2
  await until(PREDICTIONS * 0.3);
  const approvedAt = performance.now();
  const approved = await t.api('POST', `/v1/pipelines/${v2.body.id}/approve`, { token: approver, body: { comment: 'under load' } });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  // the rollback once both replicas answer with version 2 (a guard keeps a broken switch from hanging the test)
  const guard = Date.now() + 120_000;
  while (![0, 1].every((r) => answers.some((a) => a.replica === r && a.version === 2 && a.sentAt > approvedAt)) && Date.now() < guard && sent < PREDICTIONS) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await until(PREDICTIONS * 0.65);
  const rolledBackAt = performance.now();
  const rolledBack = await t.api('POST', `/v1/models/${MODEL}/rollback`, { token: approver, body: { toVersion: 1, comment: 'under load' } });
  assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
  await Promise.all(loops);

  assert.deepEqual(failures, [], 'every request was answered');
  assert.equal(answers.length, PREDICTIONS);
  const non200 = answers.filter((a) => a.status !== 200);
  assert.deepEqual(non200.slice(0, 5).map((a) => `${a.status} from replica ${a.replica}`), [], 'no answer but 200');
  assert.ok(answers.every((a) => (a.version === 1 || a.version === 2) && a.ids.length === 1), 'each prediction names one version and one id');

  const figures: Record<string, unknown> = {};
  for (const replica of [0, 1]) {
    const mine = answers.filter((a) => a.replica === replica);
    assert.deepEqual(mine.filter((a) => a.sentAt < approvedAt && a.version !== 1).length, 0, `replica ${replica}: version 1 until the approval`);
    const promotion = oldAfterSwitch(mine.filter((a) => a.sentAt >= approvedAt && a.sentAt < rolledBackAt), 2);
    const rollback = oldAfterSwitch(mine.filter((a) => a.sentAt >= rolledBackAt), 1);
    assert.ok(promotion.switchedAt !== null, `replica ${replica} switched to version 2`);
    assert.ok(rollback.switchedAt !== null, `replica ${replica} switched back to version 1`);
    assert.deepEqual(promotion.stale.length, 0, `replica ${replica}: no request sent after its first version-2 answer was answered by version 1`);
    assert.deepEqual(rollback.stale.length, 0, `replica ${replica}: no request sent after its first answer since the rollback by version 1 was answered by version 2`);
    figures[`replica${replica}`] = {
      answered: mine.length, promotionMs: Math.round(promotion.switchedAt! - approvedAt), rollbackMs: Math.round(rollback.switchedAt! - rolledBackAt),
    };
  }

  // the log agrees: one row per prediction, under the version that answered it
  await new Promise((r) => setTimeout(r, 1_000)); // the replicas write their log in batches, every 200 ms
  const sql = postgres(databaseUrl(t)!, { max: 1, onnotice: () => {} });
  try {
    const byId = new Map(answers.map((a) => [a.ids[0], a.version]));
    let rows: { id: string; version: number }[] = [];
    const deadline = Date.now() + 30_000; // a guard, not a timing assertion
    while (Date.now() < deadline) {
      rows = [...await sql<{ id: string; version: number }[]>`select id, version from predictions where model_name = ${MODEL}`];
      if (rows.length >= byId.size) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(rows.length, PREDICTIONS, 'one log row per prediction');
    const disagree = rows.filter((r) => byId.get(r.id) !== r.version);
    assert.deepEqual(disagree.slice(0, 5), [], 'each row names the version that answered');
    const versions = (await t.api('GET', `/v1/models/${MODEL}`)).body;
    assert.equal(versions.productionVersion, 1, 'version 1 is in production again');
    report('predictions across a promotion and a rollback on two replicas', {
      predictions: answers.length, non2xx: non200.length, failed: failures.length, byVersion: { 1: answers.filter((a) => a.version === 1).length, 2: answers.filter((a) => a.version === 2).length },
      staleAfterSwitch: 0, logRows: rows.length, ...figures,
    });
  } finally {
    await sql.end();
  }
});
