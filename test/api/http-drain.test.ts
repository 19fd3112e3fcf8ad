import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createDrainableServer } from '../../api/http-drain';

/** a server whose answers wait for `release()` */
async function serverWithHeldAnswers() {
  const held: (() => void)[] = [];
  const d = createDrainableServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(() => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); }));
  });
  await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', r));
  const port = (d.server.address() as AddressInfo).port;
  return { d, port, held, release: () => { for (const f of held.splice(0)) f(); } };
}

function post(port: number, agent: http.Agent) {
  return new Promise<{ status: number; connection?: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

test('a drain answers the request in flight, tells it the connection closes, and ends once every connection is closed', async () => {
  const { d, port, held, release } = await serverWithHeldAnswers();
  const agent = new http.Agent({ keepAlive: true });
  const before = post(port, agent);
  while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
  release();
  assert.equal((await before).connection, 'keep-alive', 'before the drain, connections are kept alive');

  const inFlight = post(port, agent); // on the kept-alive connection
  while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
  const drained = d.drain(5_000);
  assert.equal(d.draining, true);
  release();
  const answer = await inFlight;
  assert.equal(answer.status, 200);
  assert.equal(answer.connection, 'close');
  await drained;
  await assert.rejects(post(port, new http.Agent()), /ECONNREFUSED/, 'new connections are refused once draining');
  agent.destroy();
});

test('a drain closes the idle connections and cuts one still busy after its grace, then ends', async () => {
  const { d, port, held } = await serverWithHeldAnswers();
  const idleAgent = new http.Agent({ keepAlive: true });
  const idle = post(port, idleAgent);
  while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
  held.shift()!();
  await idle;
  const stuck = post(port, new http.Agent()).catch((err: Error) => err);
  while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
  await d.drain(1_500); // never answered: cut after 1.5 s
  const cut = await stuck;
  assert.ok(cut instanceof Error && /socket hang up|ECONNRESET/.test(cut.message), String(cut));
  idleAgent.destroy();
});
