/**
 * Chaos 4: PostgreSQL itself goes away for 20 s, mid-pipeline and under prediction traffic, and
 * comes back on the same address. The scenario runs a cluster of its own (initdb into a temporary
 * folder, a free port), so stopping it touches no one else's database.
 * Needs PostgreSQL (TEST_DATABASE_URL, as the other chaos files) and its binaries (/usr/lib/postgresql/15/bin).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { apiClient, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { ownPostgresAvailable, startOwnPostgres, type OwnPostgres } from './own-postgres';
import { databaseUrl, startApi, type PartProcess } from '../helpers/processes';
import { report, waitAll } from './report';

const OUTAGE_MS = 20_000;
const LOOPS = 4;
const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };

let pg: OwnPostgres | undefined;
let t: TestPlatform | undefined;
const parts: PartProcess[] = [];
const skipReason = !process.env.TEST_DATABASE_URL ? 'needs PostgreSQL (TEST_DATABASE_URL): a second process cannot open an embedded PGlite'
  : !ownPostgresAvailable() ? 'needs the PostgreSQL binaries (/usr/lib/postgresql/15/bin) to run a cluster of its own' : null;

before(async () => {
  if (skipReason) return;
  pg = await startOwnPostgres();
  // the platform's database (a fresh one, migrated) on this scenario's own server
  process.env.TEST_DATABASE_URL = pg.url;
  t = await startTestPlatform();
});
after(async () => {
  for (const p of parts) await p.kill();
  await pg?.start().catch(() => {}); // a failed run may have left it stopped: the platform's cleanup needs it
  await t?.stop();
  await pg?.destroy();
});

interface Answer { at: number; ms: number; status: number | string; ids: string[] }

test('PostgreSQL stopped for 20 s mid-pipeline and under prediction traffic: the pipeline completes, predictions keep being answered, the log catches up, no duplicate rows', async (tc) => {
  if (skipReason || !t || !pg) return tc.skip(skipReason ?? 'no platform');
  assert.equal(databaseUrl(t)?.includes(`:${pg.port}/`), true, 'the platform is on the scenario\'s own cluster');

  // a model in production, served by an API process of its own
  await t.allowUnapproved('outage-served', 'outage-trained');
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'outage-served', approval: { required: false } }) });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const [served] = await waitAll(t, [first.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(served.status, 'completed', JSON.stringify(served));
  const api = await startApi(t);
  parts.push(api);
  const viaApi = apiClient(api.url, t.adminToken);
  const viewer = await t.createKey('vera', 'viewer', 'vera');
  // the key is seen (and cached) by the API process before the database goes away
  const warm = await viaApi('POST', '/v1/models/outage-served:predict', { token: viewer, body: { instances: [day] } });
  assert.equal(warm.status, 200, JSON.stringify(warm.body));

  // steady prediction load
  const answers: Answer[] = [{ at: Date.now(), ms: 0, status: 200, ids: warm.body.predictionIds }];
  let loading = true;
  const loops = Array.from({ length: LOOPS }, async () => {
    while (loading) {
      const at = Date.now();
      try {
        const res = await fetch(`${api.url}/v1/models/outage-served:predict`, {
          method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [day] }), signal: AbortSignal.timeout(30_000),
        });
        const body: any = await res.json().catch(() => null);
        answers.push({ at, ms: Date.now() - at, status: res.status, ids: res.status === 200 ? body.predictionIds : [] });
      } catch (err) {
        answers.push({ at, ms: Date.now() - at, status: (err as Error).name, ids: [] });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  // a second pipeline; the database goes away once it trains
  const second = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'outage-trained', approval: { required: false }, training: { epochs: 30, hiddenUnits: [16] } }) });
  assert.equal(second.status, 202, JSON.stringify(second.body));
  const [training] = await waitAll(t, [second.body.id], (p) => p.status !== 'running' || ['train', 'evaluate', 'servability', 'promote'].includes(p.stage));
  const stageAtStop = `${training.status}/${training.stage}`;

  const stopAt = Date.now();
  await pg.stop();
  await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - stopAt)));
  await pg.start();
  const backAt = Date.now();
  const outageMs = backAt - stopAt;

  const [done] = await waitAll(t, [second.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  const recoveryMs = Date.now() - backAt;
  await new Promise((r) => setTimeout(r, 2_000)); // load goes on a little with the database back
  loading = false;
  await Promise.all(loops);

  // the pipeline completed, once
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const sql = postgres(databaseUrl(t)!, { max: 1, onnotice: () => {} });
  try {
    const versions = await sql`select version, status, pipeline_id from model_versions where model_name = 'outage-trained' order by version`;
    assert.deepEqual(versions.map((v) => [v.version, v.status, v.pipeline_id]), [[1, 'production', second.body.id]], 'exactly one new version, in production');
    const all = await sql`select model_name, version, count(*)::int as n from model_versions group by 1, 2 having count(*) > 1`;
    assert.deepEqual([...all], [], 'versions are unique');
    const audit = await sql`select action, version, count(*)::int as n from audit_events where pipeline_id = ${second.body.id} group by 1, 2 order by 1`;
    assert.ok(audit.length > 0, 'the pipeline left audit rows');
    const repeated = audit.filter((a) => a.n > 1);
    assert.deepEqual([...repeated], [], `no audit row written twice for the pipeline's events: ${JSON.stringify([...audit])}`);
    const runs = await sql`select count(*)::int as n from pipeline_runs where id = ${second.body.id}`;
    assert.equal(runs[0].n, 1);

    // predictions were answered throughout
    const during = answers.filter((a) => a.at >= stopAt && a.at < backAt);
    const failed = answers.filter((a) => a.status !== 200);
    const answered = answers.filter((a) => a.status === 200);
    const ids = answered.flatMap((a) => a.ids);
    assert.ok(during.length > 0, 'the load ran during the outage');
    assert.deepEqual(failed.map((a) => `${a.status} at +${a.at - stopAt} ms after ${a.ms} ms`), [], 'every prediction answered 200, the outage included');

    // answered from the caches, not after a reconnect backoff (postgres.js waits up to 20 s by default)
    const slow = during.filter((a) => a.ms > 5_000);
    assert.deepEqual(slow.map((a) => `${a.ms} ms at +${a.at - stopAt} ms`), [], 'no prediction waited on the database during the outage');

    // the log catches up: every returned id written, or counted as dropped
    const dropped = async () => {
      const text = await (await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${t!.adminToken}` } })).text();
      const line = text.split('\n').find((l) => l.startsWith('perennial_prediction_log_dropped_total'));
      return line ? Number(line.trim().split(/\s+/).pop()) : 0;
    };
    let written = 0;
    const deadline = Date.now() + 60_000; // a guard, not a timing assertion
    while (Date.now() < deadline) {
      written = (await sql`select count(*)::int as n from predictions where model_name = 'outage-served'`)[0].n;
      if (written + await dropped() >= ids.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const droppedRows = await dropped();
    const present = (await sql`select count(*)::int as n from predictions where id in ${sql(ids)}`)[0].n;
    assert.equal(droppedRows, 0, 'the outage stayed within the buffer\'s bound: nothing dropped');
    assert.equal(written, ids.length, 'one row per answered prediction');
    assert.equal(present, ids.length, 'every returned prediction id is in the log');

    report('PostgreSQL stopped for 20 s mid-pipeline and under prediction traffic', {
      outageS: Math.round(outageMs / 100) / 10, stageAtStop, predictionsAnswered: answered.length, answeredDuringOutage: during.filter((a) => a.status === 200).length,
      non2xx: failed.length, slowestDuringOutageMs: Math.max(0, ...during.map((a) => a.ms)), slowAnswersOver1s: answers.filter((a) => a.ms > 1_000).length, rowsWritten: written, rowsAnswered: ids.length, dropped: droppedRows, pipelineRecoveryMs: recoveryMs, versions: versions.length,
    });
  } finally {
    await sql.end();
  }
});
