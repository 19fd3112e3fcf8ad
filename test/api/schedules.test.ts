/**
 * Recurring retraining on Temporal Schedules, over HTTP: a schedule is created, listed and described
 * (next runs, model, who made it), triggered into a pipeline that says the schedule started it,
 * paused and unpaused, changed and deleted, every change audited; hostile input is a 4xx naming
 * the field. A real Temporal dev server and a real database; nothing mocked.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { auditEvents } from '../../db/schema';
import { ModelNameKey } from '../../common/names';
import { expectJson, SEATTLE_WEATHER, startTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let olivia: string; // operator
let vera: string; // viewer
before(async () => {
  t = await startTestPlatform();
  olivia = await t.createKey('olivia', 'operator');
  vera = await t.createKey('vera', 'viewer');
});
after(async () => { await t?.stop(); });

const MODEL = 'scheduled-weather';
const pipeline = (overrides: Record<string, unknown> = {}) => ({
  model: MODEL, dataset: { uri: SEATTLE_WEATHER }, target: 'weather', training: { epochs: 2, hiddenUnits: [8] }, ...overrides,
});
const nightly = (overrides: Record<string, unknown> = {}) => ({ id: 'weather-nightly', cron: '0 3 * * *', pipeline: pipeline(), ...overrides });

const create = (body: unknown, token = olivia) => t.api('POST', '/v1/schedules', { token, body });
const describe = (id: string, token = vera) => t.api('GET', `/v1/schedules/${id}`, { token });
const auditOf = (action: string, scheduleId: string) => t.database.db.select().from(auditEvents)
  .where(and(eq(auditEvents.action, action as never), eq(auditEvents.modelName, MODEL)))
  .then((rows) => rows.filter((r) => (r.details as { scheduleId?: string }).scheduleId === scheduleId));

/** Polls `read` until `ok` holds: a guard against a hung test, not a timing assertion. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 120_000;
  let last: T;
  do {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  throw new Error(`${what} never happened; last seen: ${JSON.stringify(last)}`);
}

/** A refusal: the status, the error code, the fields details names, and no stack trace. */
function assertRefused(res: { status: number; body: any }, status: number, code: string, field?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  if (field) assert.ok(res.body.error.details.some((d: { field: string }) => d.field === field), `${field} in ${JSON.stringify(res.body.error.details)}`);
  assert.doesNotMatch(JSON.stringify(res.body), /\bat .+\.(ts|js):\d+|stack/i, 'no stack trace');
}

test('a schedule is created, listed and described: its model, its cron, the next five runs in the future, and who created it', async () => {
  const before = Date.now();
  const res = await create(nightly({ note: 'nightly retraining on the newest weather' }));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const created = res.body;
  assert.equal(created.id, 'weather-nightly');
  assert.equal(created.model, MODEL);
  assert.equal(created.cron, '0 3 * * *');
  assert.equal(created.interval, null);
  assert.equal(created.paused, false);
  assert.equal(created.note, 'nightly retraining on the newest weather');
  assert.equal(created.createdBy, 'olivia');
  assert.equal(created.temporalScheduleId, 'schedule-weather-nightly');
  assert.match(created.temporalUiUrl, /\/namespaces\/default\/schedules\/schedule-weather-nightly$/);
  assert.equal(created.pipeline.model, MODEL);
  assert.equal(created.pipeline.training.epochs, 2);
  assert.equal(created.pipeline.approval.required, true, "the model's default policy applied");
  assert.deepEqual(created.recentRuns, []);

  const described = await expectJson(t.clientFor(vera).v1.schedules[':id'].$get({ param: { id: 'weather-nightly' } }), 200);
  assert.equal(described.nextRuns.length, 5);
  const times = described.nextRuns.map((r) => Date.parse(r));
  for (const [i, time] of times.entries()) {
    assert.ok(time > before, `${described.nextRuns[i]} is in the future`);
    assert.ok(i === 0 || time > times[i - 1], 'in order');
    const at = new Date(time);
    assert.deepEqual([at.getUTCHours(), at.getUTCMinutes()], [3, 0], `${described.nextRuns[i]} is at 03:00 UTC`);
  }

  // Temporal's list is its visibility store, which may lag the create by a moment
  const listed = await eventually(() => t.api('GET', '/v1/schedules', { token: vera }),
    (r) => r.status === 200 && r.body.items.some((s: any) => s.id === 'weather-nightly'), 'the schedule listed');
  assert.equal(listed.body.items.find((s: any) => s.id === 'weather-nightly').model, MODEL);
  const byModel = await t.api('GET', `/v1/schedules?model=${MODEL}`, { token: vera });
  assert.ok(byModel.body.items.every((s: any) => s.model === MODEL));
  assert.deepEqual((await t.api('GET', '/v1/schedules?model=no-such-model', { token: vera })).body.items, []);

  // as Temporal holds it: what it starts, where, and how it behaves
  const schedule = await t.platform.client.schedule.getHandle('schedule-weather-nightly').describe();
  assert.equal(schedule.action.workflowType, 'scheduledRetraining');
  assert.equal(schedule.action.taskQueue, t.config.taskQueues.orchestration);
  assert.equal(schedule.action.workflowId, 'scheduled-weather-nightly');
  assert.deepEqual((schedule.action.args as any[])[0].scheduleId, 'weather-nightly');
  assert.deepEqual(schedule.action.searchAttributes, { ModelName: [MODEL] });
  assert.equal(schedule.typedSearchAttributes.get(ModelNameKey), MODEL);
  assert.deepEqual(schedule.policies, { overlap: 'SKIP', catchupWindow: 600_000, pauseOnFailure: true });
  assert.deepEqual((schedule.memo as any).createdBy.name, 'olivia');

  const [event] = await auditOf('schedule.create', 'weather-nightly');
  assert.equal(event.actorName, 'olivia');
  assert.equal((event.details as any).cron, '0 3 * * *');

  assertRefused(await create(nightly()), 409, 'conflict');

  const doc = (await t.api('GET', '/openapi.json', { token: null })).body;
  assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/schedules')).sort(),
    ['/v1/schedules', '/v1/schedules/{id}', '/v1/schedules/{id}/pause', '/v1/schedules/{id}/trigger', '/v1/schedules/{id}/unpause']);
});

test('triggering a schedule starts a pipeline that says the schedule started it, which waits for approval as the policy requires', async () => {
  const triggered = await t.api('POST', '/v1/schedules/weather-nightly/trigger', { token: olivia });
  assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
  assert.equal(triggered.body.status, 'triggered');

  const listed = await eventually(() => t.api('GET', `/v1/pipelines?model=${MODEL}&trigger=schedule`, { token: vera }),
    (r) => r.status === 200 && r.body.items.length > 0, 'the scheduled pipeline');
  const [run] = listed.body.items;
  assert.equal(run.model, MODEL);
  assert.deepEqual(run.trigger, { kind: 'schedule', by: 'schedule:weather-nightly', scheduleId: 'weather-nightly' });
  assert.deepEqual((await t.api('GET', `/v1/pipelines?model=${MODEL}&trigger=api`, { token: vera })).body.items, []);

  const waiting = await t.waitFor(run.id, (p) => p.status !== 'running');
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(waiting.trigger.scheduleId, 'weather-nightly');
  assert.equal(waiting.rules.approval.required, true);

  const described = (await describe('weather-nightly')).body;
  assert.equal(described.recentRuns.length, 1);
  assert.match(described.recentRuns[0].workflowId, /^scheduled-weather-nightly-/);
  assert.ok(described.recentRuns[0].runId);
  assert.equal((await auditOf('schedule.trigger', 'weather-nightly')).length, 1);

  assert.equal((await t.api('POST', `/v1/pipelines/${run.id}/cancel`, { token: olivia })).status, 202);
});

test('a paused schedule says so, with its note, and has no next runs until it is unpaused', async () => {
  const paused = await t.api('POST', '/v1/schedules/weather-nightly/pause', { token: olivia, body: { note: 'data source migrating' } });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.paused, true);
  assert.equal(paused.body.note, 'data source migrating');
  assert.deepEqual(paused.body.nextRuns, []);
  assert.equal((await describe('weather-nightly')).body.paused, true);

  const unpaused = await t.api('POST', '/v1/schedules/weather-nightly/unpause', { token: olivia });
  assert.equal(unpaused.status, 200, JSON.stringify(unpaused.body));
  assert.equal(unpaused.body.paused, false);
  assert.equal(unpaused.body.note, 'unpaused by olivia');
  assert.equal(unpaused.body.nextRuns.length, 5);

  assert.deepEqual((await auditOf('schedule.pause', 'weather-nightly')).map((e) => (e.details as any).note), ['data source migrating']);
  assert.equal((await auditOf('schedule.unpause', 'weather-nightly')).length, 1);
});

test('an update changes the cron and keeps the pipeline; an interval then replaces the cron; a new pipeline keeps the model', async () => {
  const changed = await t.api('PUT', '/v1/schedules/weather-nightly', { token: olivia, body: { cron: '30 4 * * 1-5' } });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.cron, '30 4 * * 1-5');
  assert.equal(changed.body.pipeline.training.epochs, 2, 'the pipeline is kept');
  for (const run of changed.body.nextRuns) {
    const at = new Date(run);
    assert.deepEqual([at.getUTCHours(), at.getUTCMinutes()], [4, 30], run);
    assert.ok(at.getUTCDay() >= 1 && at.getUTCDay() <= 5, `${run} is a weekday`);
  }
  assert.equal((await describe('weather-nightly')).body.cron, '30 4 * * 1-5');

  const hourly = await t.api('PUT', '/v1/schedules/weather-nightly', { token: olivia, body: { interval: '6h', pipeline: pipeline({ training: { epochs: 3 } }) } });
  assert.equal(hourly.status, 200, JSON.stringify(hourly.body));
  assert.equal(hourly.body.cron, null);
  assert.equal(hourly.body.interval, '6h');
  assert.equal(hourly.body.pipeline.training.epochs, 3);
  const gaps = hourly.body.nextRuns.slice(1).map((r: string, i: number) => Date.parse(r) - Date.parse(hourly.body.nextRuns[i]));
  assert.deepEqual(gaps, [6, 6, 6, 6].map((h) => h * 3_600_000));

  const moved = await t.api('PUT', '/v1/schedules/weather-nightly', { token: olivia, body: { pipeline: pipeline({ model: 'another-model' }) } });
  assertRefused(moved, 400, 'invalid_request', 'pipeline.model');

  const updates = await auditOf('schedule.update', 'weather-nightly');
  assert.deepEqual(updates.map((e) => [(e.details as any).before, (e.details as any).after]), [
    [{ cron: '0 3 * * *' }, { cron: '30 4 * * 1-5' }],
    [{ cron: '30 4 * * 1-5' }, { interval: '6h' }],
  ]);
});

test("a schedule's dataset URI is shown without the credentials in it, in the API and in the audit log", async () => {
  const uri = 'https://data.example.com/weather.csv?token=s3cr3t-token&X-Amz-Signature=s3cr3t-signature&part=2';
  const res = await create({ id: 'signed-url', interval: '24h', paused: true, pipeline: pipeline({ dataset: { uri, format: 'csv' } }) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.paused, true);
  assert.equal(res.body.interval, '24h');
  assert.doesNotMatch(JSON.stringify(res.body), /s3cr3t/);
  assert.match(res.body.pipeline.dataset.uri, /token=REDACTED/);
  assert.match(res.body.pipeline.dataset.uri, /part=2/);
  assert.doesNotMatch(JSON.stringify((await describe('signed-url')).body), /s3cr3t/);
  assert.doesNotMatch(JSON.stringify(await auditOf('schedule.create', 'signed-url')), /s3cr3t/);
  assert.equal((await t.api('DELETE', '/v1/schedules/signed-url', { token: olivia })).status, 204);
});

test('a deleted schedule is gone: 404 on describe, change, trigger, pause and delete, and it is no longer listed', async () => {
  const deleted = await t.api('DELETE', '/v1/schedules/weather-nightly', { token: olivia });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.body, '');
  assertRefused(await describe('weather-nightly'), 404, 'not_found');
  assertRefused(await t.api('PUT', '/v1/schedules/weather-nightly', { token: olivia, body: { cron: '0 1 * * *' } }), 404, 'not_found');
  assertRefused(await t.api('POST', '/v1/schedules/weather-nightly/trigger', { token: olivia }), 404, 'not_found');
  assertRefused(await t.api('POST', '/v1/schedules/weather-nightly/pause', { token: olivia }), 404, 'not_found');
  assertRefused(await t.api('DELETE', '/v1/schedules/weather-nightly', { token: olivia }), 404, 'not_found');
  await eventually(() => t.api('GET', '/v1/schedules', { token: vera }),
    (r) => r.status === 200 && !r.body.items.some((s: any) => s.id === 'weather-nightly'), 'the schedule gone from the list');
  assert.equal((await auditOf('schedule.delete', 'weather-nightly')).length, 1);
});

test('hostile input is refused with a 4xx naming the field and no stack trace, and creates nothing', async (ctx) => {
  const cases: [string, unknown, number, string, string?][] = [
    ['bad id characters', nightly({ id: 'Weather Nightly!' }), 400, 'invalid_request', 'id'],
    ['an id too long', nightly({ id: 'a'.repeat(64) }), 400, 'invalid_request', 'id'],
    ['an id with a path in it', nightly({ id: '../pipelines' }), 400, 'invalid_request', 'id'],
    ['cron junk', nightly({ cron: 'every night at three' }), 400, 'invalid_request', 'cron'],
    ['cron out of range', nightly({ cron: '99 3 * * *' }), 400, 'invalid_request', 'cron'],
    ['cron with six fields', nightly({ cron: '0 0 3 * * *' }), 400, 'invalid_request', 'cron'],
    ['cron with a line break', nightly({ cron: '0 3 * * *\n0 4 * * *' }), 400, 'invalid_request', 'cron'],
    ['cron not a string', nightly({ cron: 3 }), 400, 'invalid_request', 'cron'],
    ['both cron and interval', nightly({ interval: '24h' }), 400, 'invalid_request', 'interval'],
    ['neither cron nor interval', nightly({ cron: undefined }), 400, 'invalid_request', 'cron'],
    ['an interval below 1m', nightly({ cron: undefined, interval: '30s' }), 400, 'invalid_request', 'interval'],
    ['an interval that is no duration', nightly({ cron: undefined, interval: 'daily' }), 400, 'invalid_request', 'interval'],
    ['an interval beyond a year', nightly({ cron: undefined, interval: '400d' }), 400, 'invalid_request', 'interval'],
    ['an unknown field', nightly({ retries: 3 }), 400, 'invalid_request', 'retries'],
    ['an unknown pipeline field', nightly({ pipeline: pipeline({ surprise: true }) }), 400, 'invalid_request', 'pipeline.surprise'],
    ['no pipeline', nightly({ pipeline: undefined }), 400, 'invalid_request', 'pipeline'],
    ['a bad model name', nightly({ pipeline: pipeline({ model: 'a/b' }) }), 400, 'invalid_request', 'pipeline.model'],
    ['a dataset outside the import roots', nightly({ pipeline: pipeline({ dataset: { uri: '/etc/passwd', format: 'csv' } }) }),
      400, 'source_refused', 'pipeline.dataset.uri'],
    ['a dataset in the data directory', nightly({ pipeline: pipeline({ dataset: { uri: `${t.dataDir}/perennial.db` } }) }),
      400, 'source_refused', 'pipeline.dataset.uri'],
    ['credentials in the dataset URL', nightly({ pipeline: pipeline({ dataset: { uri: 'https://u:p@data.example.com/w.csv' } }) }),
      400, 'source_refused', 'pipeline.dataset.uri'],
    ["a pipeline that loosens the model's policy", nightly({ pipeline: pipeline({ approval: { required: false } }) }),
      403, 'policy', 'pipeline.approval.required'],
    ['a note with a NUL', nightly({ note: 'a\u0000b' }), 400, 'invalid_request', 'note'],
  ];
  for (const [what, body, status, code, field] of cases) {
    await ctx.test(what, async () => assertRefused(await create(body), status, code, field));
  }
  assertRefused(await create(nightly({ id: 'viewer-made' }), vera), 403, 'forbidden');
  assertRefused(await t.api('POST', '/v1/schedules', { token: olivia, body: '{"id": "x", "cron": ' }), 400, 'invalid_request');
  assertRefused(await describe('weather-nightly'), 404, 'not_found');
  assertRefused(await describe('no-such-schedule'), 404, 'not_found');
  assertRefused(await describe('Not%20A%20Slug'), 400, 'invalid_request', 'id');
  assertRefused(await t.api('GET', '/v1/pipelines?trigger=cron', { token: vera }), 400, 'invalid_request', 'trigger');

  // a change is held to the same rules
  assert.equal((await create(nightly({ id: 'weather-weekly', cron: '0 5 * * 0' }))).status, 201);
  const put = (body: unknown) => t.api('PUT', '/v1/schedules/weather-weekly', { token: olivia, body });
  assertRefused(await put({ cron: '0 5 * * 0', interval: '7d' }), 400, 'invalid_request', 'interval');
  assertRefused(await put({ cron: '61 * * * *' }), 400, 'invalid_request', 'cron');
  assertRefused(await put({ interval: '59s' }), 400, 'invalid_request', 'interval');
  assertRefused(await put({}), 400, 'invalid_request');
  assertRefused(await put({ paused: true }), 400, 'invalid_request', 'paused');
  assertRefused(await put({ pipeline: pipeline({ dataset: { uri: '/etc/passwd', format: 'csv' } }) }), 400, 'source_refused', 'pipeline.dataset.uri');
  assertRefused(await put({ pipeline: pipeline({ approval: { required: false } }) }), 403, 'policy', 'pipeline.approval.required');
  assertRefused(await t.api('PUT', '/v1/schedules/weather-weekly', { token: vera, body: { cron: '0 6 * * 0' } }), 403, 'forbidden');
  assertRefused(await t.api('POST', '/v1/schedules/weather-weekly/trigger', { token: vera }), 403, 'forbidden');
  assertRefused(await t.api('DELETE', '/v1/schedules/weather-weekly', { token: vera }), 403, 'forbidden');
  const unchanged = (await describe('weather-weekly')).body;
  assert.equal(unchanged.cron, '0 5 * * 0');
  assert.equal(unchanged.pipeline.dataset.uri, SEATTLE_WEATHER);

  const listed = (await t.api('GET', '/v1/schedules', { token: vera })).body.items.map((s: any) => s.id);
  assert.ok(!listed.includes('viewer-made') && !listed.includes('a'.repeat(64)), JSON.stringify(listed));
  assert.equal((await t.api('DELETE', '/v1/schedules/weather-weekly', { token: olivia })).status, 204);
});
