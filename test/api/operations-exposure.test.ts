/**
 * What the operational endpoints give away: /metrics behind its own token, /readyz as booleans, no
 * metric series per invented name, and a pipeline list that shows runs Temporal cannot answer for.
 * The API runs alone (no workers), so a started pipeline stays in flight and cannot be queried.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pipelineRuns } from '../../db/schema';
import { LIVE_STATUS_UNAVAILABLE } from '../../api/pipelines';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

const METRICS_TOKEN = 'metrics-scraper-token-0123456789';
let t: TestPlatform;
let viewer: string;
before(async () => {
  t = await startTestPlatform({ PERENNIAL_METRICS_TOKEN: METRICS_TOKEN }, { api: true, orchestration: false, training: false });
  viewer = await t.createKey('vera', 'viewer');
});
after(async () => { await t?.stop().catch(() => {}); });

const metrics = (authorization?: string) => fetch(`${t.url}/metrics`, { headers: authorization ? { authorization } : {} });

test('/metrics needs the metrics token when PERENNIAL_METRICS_TOKEN is set', async () => {
  for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${t.adminToken}`, `Bearer ${viewer}`, METRICS_TOKEN]) {
    const res = await metrics(authorization);
    assert.equal(res.status, 401, `authorization ${authorization}`);
    const body = await res.json() as { error: { code: string } };
    assert.equal(body.error.code, 'unauthorized');
  }
  const res = await metrics(`Bearer ${METRICS_TOKEN}`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /perennial_http_requests_total/);
});

test('/readyz answers booleans and nothing else (an API-only process runs no Workers to report)', async () => {
  const res = await t.api('GET', '/readyz', { token: null });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { temporal: true, database: true });
});

test('starting a pipeline for an invented model name adds no metric series named after it', async () => {
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'invented-name-xyz' }) });
  assert.equal(started.status, 202);
  const text = await (await metrics(`Bearer ${METRICS_TOKEN}`)).text();
  assert.doesNotMatch(text, /invented-name-xyz/);
  assert.match(text, /^perennial_pipelines_started_total 1$/m);
});

/**
 * A pipeline in flight that no worker can answer for: started (no orchestration worker here, so the
 * workflow exists but cannot answer a query), its start record written as its first activity would.
 */
async function unqueryablePipeline(model: string): Promise<string> {
  const spec = weatherRequest({ model });
  const started = await t.api('POST', '/v1/pipelines', { body: spec });
  assert.equal(started.status, 202);
  const { PipelineRequest } = await import('../../common/pipeline-request');
  await t.database.db.insert(pipelineRuns).values({
    id: started.body.id, runId: started.body.runId, modelName: model, startedBy: 'bootstrap admin', request: PipelineRequest.parse(spec),
  });
  return started.body.id;
}

test('GET /v1/pipelines shows a running pipeline whose live status cannot be read, marked as such', async () => {
  const id = await unqueryablePipeline('unqueryable');
  const list = await t.api('GET', '/v1/pipelines?model=unqueryable', { token: viewer });
  assert.equal(list.status, 200);
  assert.equal(list.body.items.length, 1);
  const [item] = list.body.items;
  assert.equal(item.id, id);
  assert.equal(item.status, 'running');
  assert.equal(item.error, LIVE_STATUS_UNAVAILABLE);
  assert.equal(item.model, 'unqueryable');
});

test('GET /v1/pipelines/:id of a running pipeline no worker can answer for: 200 with what its start record knows, marked live status unavailable', async () => {
  const id = await unqueryablePipeline('unqueryable-one');
  const one = await t.api('GET', `/v1/pipelines/${id}`, { token: viewer });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.id, id);
  assert.equal(one.body.status, 'running');
  assert.equal(one.body.error, LIVE_STATUS_UNAVAILABLE);
  assert.equal(one.body.model, 'unqueryable-one');
  assert.equal(one.body.rules.approval.required, true, 'the rules it runs under, from its start record');
});

test('GET /v1/pipelines refuses a limit above 100', async () => {
  const res = await t.api('GET', '/v1/pipelines?limit=500', { token: viewer });
  assert.equal(res.status, 400);
  assert.equal((await t.api('GET', '/v1/pipelines?limit=100&model=none', { token: viewer })).status, 200);
});

test('GET /v1/pipelines pages through thousands of runs with a cursor, without gaps or repeats; a bad cursor is a 400', async () => {
  const { PipelineRequest } = await import('../../common/pipeline-request');
  const request = PipelineRequest.parse(weatherRequest({ model: 'paged' }));
  const base = Date.now() - 3_600_000;
  // ended runs carry their outcome: listing them asks Temporal nothing
  await t.database.db.insert(pipelineRuns).values(Array.from({ length: 1000 }, (_, i) => ({
    id: `pipeline-paged-${String(i).padStart(4, '0')}`, runId: `run-${i}`, modelName: 'paged', startedBy: 'bootstrap admin', request,
    status: i % 10 === 0 ? 'rejected' as const : 'completed' as const, createdAt: new Date(base + Math.floor(i / 3) * 1000),
    outcome: { id: `pipeline-paged-${String(i).padStart(4, '0')}`, status: i % 10 === 0 ? 'rejected' : 'completed' } as never,
  })));
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { status: number; body: any } = await t.api('GET', `/v1/pipelines?model=paged&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { token: viewer });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    seen.push(...res.body.items.map((p: { id: string }) => p.id));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 10);
  assert.equal(seen.length, 1000);
  assert.equal(new Set(seen).size, 1000, 'no repeats');
  const rejected = await t.api('GET', '/v1/pipelines?model=paged&status=rejected&limit=100', { token: viewer });
  assert.equal(rejected.body.items.length, 100);
  assert.equal(rejected.body.nextCursor, null);
  for (const bad of ['x', 'bm90IGEgY3Vyc29y', '%00', 'a'.repeat(300)]) {
    assert.equal((await t.api('GET', `/v1/pipelines?model=paged&cursor=${bad}`, { token: viewer })).status, 400, bad);
  }
});
