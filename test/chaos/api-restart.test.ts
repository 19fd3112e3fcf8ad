/**
 * Chaos 2: the API process is killed with SIGKILL while a pipeline awaits approval, and started
 * again: the pipeline is still waiting, and the approval given through the new process completes it.
 * Needs PostgreSQL (TEST_DATABASE_URL): a second process cannot share an embedded PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiClient, startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { databaseUrl, startApi, type PartProcess } from '../helpers/processes';
import { report, waitAll } from './report';

let t: TestPlatform;
const parts: PartProcess[] = [];

before(async () => { t = await startTestPlatform(); });
after(async () => {
  for (const p of parts) await p.kill();
  await t?.stop();
});

test('SIGKILL to the API while a pipeline awaits approval: started again, it takes the approval and the pipeline completes', async (tc) => {
  if (!databaseUrl(t)) return tc.skip('needs PostgreSQL (TEST_DATABASE_URL): a second process cannot open an embedded PGlite');
  const first = await startApi(t);
  parts.push(first);
  const viaFirst = apiClient(first.url, t.adminToken);
  const approver = await t.createKey('ann', 'approver', 'ann');
  const operator = await t.createKey('olaf', 'operator', 'olaf'); // four eyes: the starter is not the approver
  const started = await viaFirst('POST', '/v1/pipelines', { token: operator, body: weatherRequest({ model: 'api-killed' }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const [waiting] = await waitAll({ api: viaFirst }, [started.body.id], (p) => p.status !== 'running');
  assert.equal(waiting.status, 'awaiting_approval');

  const killed = await first.kill('SIGKILL');
  assert.equal(killed, 'SIGKILL');
  const t0 = Date.now();
  const second = await startApi(t, first.port); // the same address, as a restarted container has
  parts.push(second);
  const restartMs = Date.now() - t0;
  const viaSecond = apiClient(second.url, t.adminToken);
  const still = await viaSecond('GET', `/v1/pipelines/${started.body.id}`);
  assert.equal(still.body.status, 'awaiting_approval', 'nothing was lost with the process');

  const approved = await viaSecond('POST', `/v1/pipelines/${started.body.id}/approve`, { token: approver, body: { comment: 'after the crash' } });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const [done] = await waitAll({ api: viaSecond }, [started.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'completed');
  const model = await viaSecond('GET', '/v1/models/api-killed');
  assert.deepEqual(model.body.versions.map((v: any) => [v.version, v.status, v.approvedBy]), [[1, 'production', 'ann']]);
  report('SIGKILL the API while a pipeline awaits approval', { runs: 1, completions: 1, versions: model.body.versions.length, apiRestartMs: restartMs });
});
