/**
 * Chaos 7: SIGTERM, as a supervisor stops a container, to each part while it works.
 *  - The API under prediction load: requests in flight are answered (a request whose body is still
 *    arriving when the signal lands included), nothing is answered 5xx or cut off, the prediction
 *    log's buffer is written before the process exits, and it exits 0.
 *  - The orchestration worker mid-pipeline and the training worker mid-training: each exits 0, the
 *    trainer having finished its training or handed it back with its checkpoint; new processes take
 *    over and the pipeline completes with one version.
 * Needs PostgreSQL (TEST_DATABASE_URL): the parts are processes of their own.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';
import { databaseUrl, startApi, startPart, type PartProcess } from '../helpers/processes';
import { report, waitAll } from './report';

const LOOPS = 8;
/** enough that the trainer is still at it after the orchestration worker's restart */
const EPOCHS = 600;
const day = { date: '2015-06-01', precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
let t: TestPlatform | undefined;
const parts: PartProcess[] = [];
const skipReason = process.env.TEST_DATABASE_URL ? null : 'needs PostgreSQL (TEST_DATABASE_URL): a second process cannot open an embedded PGlite';

async function start(part: 'worker' | 'trainer') {
  const p = await startPart(t!, part);
  parts.push(p);
  return p;
}

before(async () => {
  if (skipReason) return;
  // the API here answers the test's own calls; the work is done by processes that get the signals
  t = await startTestPlatform({ PERENNIAL_HEARTBEAT_TIMEOUT: '2s' }, { api: true, orchestration: false, training: false });
  await t.allowUnapproved('drain-served', 'drain-trained');
});
after(async () => {
  for (const p of parts) await p.kill();
  await t?.stop();
});

/** the error code a failed fetch carries (ECONNREFUSED, UND_ERR_SOCKET, ...) */
const codeOf = (err: unknown) => {
  const e = err as { cause?: { code?: string }; code?: string; name?: string };
  return e.cause?.code ?? e.code ?? e.name ?? 'error';
};

/** A POST whose body is sent in two halves: `rest()` sends the second and resolves with the answer. */
function halfSentPrediction(url: string, token: string) {
  const body = JSON.stringify({ instances: [day] });
  const cut = body.length >> 1;
  let resolveAnswer!: (a: { status: number; connection?: string; body: any }) => void;
  let rejectAnswer!: (err: Error) => void;
  const answer = new Promise<{ status: number; connection?: string; body: any }>((resolve, reject) => { resolveAnswer = resolve; rejectAnswer = reject; });
  const req = http.request(`${url}/v1/models/drain-served:predict`, {
    method: 'POST', agent: false,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { text += d; });
    res.on('end', () => resolveAnswer({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
  });
  req.on('error', rejectAnswer);
  req.write(body.slice(0, cut));
  return { rest: () => { req.end(body.slice(cut)); return answer; } };
}

test('SIGTERM to the API under prediction load: requests in flight are answered, none fails or is cut off, the log is written before it exits 0', async (tc) => {
  if (skipReason || !t) return tc.skip(skipReason ?? 'no platform');
  await start('worker');
  await start('trainer');
  const first = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ model: 'drain-served', approval: { required: false } }) });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const [served] = await waitAll(t, [first.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(served.status, 'completed', JSON.stringify(served));

  const api = await startApi(t);
  parts.push(api);
  const viewer = await t.createKey('vic', 'viewer', 'vic');

  // keep-alive load from 8 clients, each sending its next request as soon as the last is answered
  const answered: { status: number; ids: string[]; connection: string | null }[] = [];
  const failed: { code: string; afterSignal: boolean }[] = [];
  let signalled = false;
  let loading = true;
  const loops = Array.from({ length: LOOPS }, async () => {
    while (loading) {
      try {
        const res = await fetch(`${api.url}/v1/models/drain-served:predict`, {
          method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [day] }), signal: AbortSignal.timeout(30_000),
        });
        const body: any = await res.json().catch(() => null);
        answered.push({ status: res.status, ids: res.status === 200 ? body.predictionIds : [], connection: res.headers.get('connection') });
      } catch (err) {
        failed.push({ code: codeOf(err), afterSignal: signalled });
        // the listener is gone: what a load balancer would now send elsewhere
        if (signalled) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  while (answered.length < 500) await new Promise((r) => setTimeout(r, 50));

  // one request is mid-body when the signal lands
  const slow = halfSentPrediction(api.url, viewer);
  await new Promise((r) => setTimeout(r, 100));
  const before = answered.length;
  const signalledAt = Date.now();
  signalled = true;
  const exited = api.kill('SIGTERM');
  while (!/draining and stopping/.test(api.output())) await new Promise((r) => setTimeout(r, 10));
  const slowAnswer = await slow.rest();
  const exitCode = await exited;
  const stopMs = Date.now() - signalledAt;
  loading = false;
  await Promise.all(loops);

  assert.equal(exitCode, 0, `the API exits 0 after its drain: ${api.output().slice(-2000)}`);
  assert.match(api.output(), /\[api\] stopped in \d+ ms/);
  assert.equal(slowAnswer.status, 200, `the request in flight at the signal is answered: ${JSON.stringify(slowAnswer.body)}`);
  assert.equal(slowAnswer.connection, 'close', 'and told its connection closes');
  assert.equal(slowAnswer.body.predictionIds.length, 1);
  const non200 = answered.filter((a) => a.status !== 200);
  assert.deepEqual(non200.map((a) => a.status), [], 'every answer is a prediction: no 5xx while draining');
  // after the signal a client may find the listener closed (refused: nothing was sent); a request sent and then cut off is a lost answer
  const lost = failed.filter((f) => f.code !== 'ECONNREFUSED');
  assert.deepEqual(lost, [], 'no request was cut off mid-flight (only refused connections, after the listener closed)');
  assert.ok(failed.every((f) => f.afterSignal), 'nothing failed before the signal');
  const closing = answered.slice(before).filter((a) => a.connection === 'close').length;

  // the log's last rows were written before the exit: every id the clients got is in the table now
  const ids = [...answered.flatMap((a) => a.ids), ...slowAnswer.body.predictionIds];
  const sql = postgres(databaseUrl(t)!, { max: 1, onnotice: () => {} });
  try {
    const present = (await sql`select count(*)::int as n from predictions where id in ${sql(ids)}`)[0].n;
    assert.equal(present, ids.length, 'every prediction answered is in the log');
    report('SIGTERM to the API under prediction load', {
      clients: LOOPS, answered: answered.length + 1, answeredAfterSignal: answered.length - before + 1, toldConnectionClose: closing + 1,
      non2xx: non200.length, cutOff: lost.length, refusedAfterListenerClosed: failed.length, logRows: present, stopMs, exitCode,
    });
  } finally {
    await sql.end();
  }
});

test('SIGTERM to the orchestration worker mid-pipeline and to the trainer mid-training: both exit 0, new ones take over, the pipeline completes once', async (tc) => {
  if (skipReason || !t) return tc.skip(skipReason ?? 'no platform');
  // the first test's workers may still run: a clean pair for this one
  for (const p of parts.splice(0)) await p.kill();
  let worker = await start('worker');
  let trainer = await start('trainer');
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'drain-trained', approval: { required: false }, training: { epochs: EPOCHS, hiddenUnits: [32], checkpointEvery: 5 } }),
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));

  // the trainer goes mid-training: it finishes the epochs within its grace, or hands them back with its checkpoint
  const [seen] = await waitAll(t, [started.body.id], (p) => p.stage === 'train' && p.training?.epoch >= 10 || p.status !== 'running');
  assert.equal(seen.stage, 'train', `still training when the trainer gets the signal: ${JSON.stringify(seen)}`);
  const epochAtSignal = seen.training.epoch;
  let t0 = Date.now();
  assert.equal(await trainer.kill('SIGTERM'), 0, trainer.output().slice(-2000));
  const trainerStopMs = Date.now() - t0;
  trainer = await start('trainer');

  // then the orchestration worker, with the pipeline between its stages; the workflow waits for its next task
  t0 = Date.now();
  assert.equal(await worker.kill('SIGTERM'), 0, worker.output().slice(-2000));
  const workerStopMs = Date.now() - t0;
  worker = await start('worker');

  const [done] = await waitAll(t, [started.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.training.epoch, EPOCHS);
  const resumedFrom = done.training.resumedFromEpoch ?? 0;
  // handed back: the next trainer went on from a checkpoint the first one wrote, not from scratch
  if (resumedFrom) assert.ok(resumedFrom >= 5 && resumedFrom % 5 === 0, `resumed from ${resumedFrom}`);
  const versions = (await t.api('GET', '/v1/models/drain-trained')).body.versions;
  assert.deepEqual(versions.map((v: any) => [v.version, v.status]), [[1, 'production']], 'exactly one version');
  report('SIGTERM to the orchestration worker and the trainer mid-pipeline', {
    runs: 1, completions: 1, versions: versions.length, workerStopMs, trainerStopMs, epochAtSignal,
    training: resumedFrom ? `handed back, resumed from epoch ${resumedFrom}` : 'finished by the stopping trainer',
  });
});

test('SIGTERM to a trainer whose training outlasts its stop grace: it hands the training back and exits 0, the next trainer resumes from the checkpoint', async (tc) => {
  if (skipReason || !t) return tc.skip(skipReason ?? 'no platform');
  for (const p of parts.splice(0)) await p.kill();
  await start('worker');
  const trainer = await startPart(t, 'trainer', { PERENNIAL_TRAINING_STOP_GRACE: '1s' });
  parts.push(trainer);
  await t.allowUnapproved('drain-handed-back');
  const started = await t.api('POST', '/v1/pipelines', {
    body: weatherRequest({ model: 'drain-handed-back', approval: { required: false }, training: { epochs: EPOCHS, hiddenUnits: [32], checkpointEvery: 5 } }),
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const [seen] = await waitAll(t, [started.body.id], (p) => p.stage === 'train' && p.training?.epoch >= 10 || p.status !== 'running');
  assert.equal(seen.stage, 'train', `still training when the trainer gets the signal: ${JSON.stringify(seen)}`);
  const t0 = Date.now();
  assert.equal(await trainer.kill('SIGTERM'), 0, trainer.output().slice(-2000));
  const trainerStopMs = Date.now() - t0;
  const handedBackAt = Date.now();
  await start('trainer');
  const [done] = await waitAll(t, [started.body.id], (p) => !['running', 'awaiting_approval'].includes(p.status));
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(done.training.epoch, EPOCHS);
  assert.ok(done.training.resumedFromEpoch >= 10 && done.training.resumedFromEpoch % 5 === 0,
    `the next trainer went on from the stopping one's checkpoint: resumed from ${done.training.resumedFromEpoch}`);
  const versions = (await t.api('GET', '/v1/models/drain-handed-back')).body.versions;
  assert.deepEqual(versions.map((v: any) => [v.version, v.status]), [[1, 'production']], 'exactly one version');
  report('SIGTERM to a trainer past its stop grace (1 s)', {
    runs: 1, completions: 1, versions: versions.length, epochAtSignal: seen.training.epoch, resumedFromEpoch: done.training.resumedFromEpoch,
    trainerStopMs, pipelineDoneAfterHandBackMs: Date.now() - handedBackAt,
  });
});
