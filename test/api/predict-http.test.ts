/**
 * Predictions over HTTP take their own path (api/routes/predict.ts `predictListener`), before the
 * router: these check that it keeps every promise the router's middleware makes for other routes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startTestPlatform, weatherRequest, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
let viewer: string;
before(async () => {
  // a low rate, so the 429 can be met; each test below that sends several requests uses its own key
  t = await startTestPlatform({ PERENNIAL_RATE_LIMIT: '5', PERENNIAL_RATE_LIMIT_BURST: '5' });
  await t.allowUnapproved('weather');
  viewer = await t.createKey('vera', 'viewer');
  const started = await t.api('POST', '/v1/pipelines', { body: weatherRequest({ approval: { required: false }, training: { epochs: 5, hiddenUnits: [8] } }) });
  await t.waitFor(started.body.id, (p) => p.status === 'completed');
});
after(async () => { await t?.stop(); });

const day = { precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 };
const body = JSON.stringify({ instances: [day] });

/** raw HTTP/1.1 on one socket: what the server wrote back for each request, in order */
async function onOneSocket(requests: string[]): Promise<string> {
  const { port } = new URL(t.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  let received = '';
  socket.on('data', (d) => { received += d; });
  await new Promise((r) => socket.once('connect', r));
  for (const r of requests) {
    const before = (received.match(/HTTP\/1\.1 /g) ?? []).length;
    socket.write(r);
    // the next request only after this one's answer has begun
    while ((received.match(/HTTP\/1\.1 /g) ?? []).length === before && !socket.destroyed) await new Promise((res) => setTimeout(res, 10));
  }
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
  return received;
}

const predictRequest = (token: string | null, payload = body) => `POST /v1/models/weather:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n`
  + `${token ? `authorization: Bearer ${token}\r\n` : ''}content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;

test('a prediction over HTTP is JSON with nosniff, and /metrics counts it under the predict route', async () => {
  const res = await fetch(`${t.url}/v1/models/weather:predict?ignored=1`, {
    method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const answer = await res.json() as any;
  assert.equal(answer.modelVersion, 1);
  assert.equal(answer.predictionIds.length, 1);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  assert.match(metrics, /perennial_http_requests_total\{method="POST",route="\/v1\/models\/:target\{\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]\*:predict\}",status="200"\} \d+/);
});

test('refused before its body is read (no token), a prediction leaves the connection serving the next request', async () => {
  const received = await onOneSocket([predictRequest(null), predictRequest(viewer)]);
  const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['401', '200'], received);
  assert.match(received, /"code":"unauthorized"/);
});

test('a key over its rate gets 429 with Retry-After from predict too, in the error shape', async () => {
  const busy = await t.createKey('busy', 'viewer');
  // forty at once: far more than the burst of five, whatever the machine's speed
  const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${t.url}/v1/models/weather:predict`, {
    method: 'POST', headers: { authorization: `Bearer ${busy}`, 'content-type': 'application/json' }, body,
  })));
  const limited = answers.find((r) => r.status === 429);
  assert.ok(limited, `no 429 among ${answers.map((r) => r.status).join(',')}`);
  assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal((await limited.json() as any).error.code, 'rate_limited');
});

test('a body over the limit, a body that is not JSON and a client gone mid-body: named errors, and the server keeps answering', async () => {
  const token = await t.createKey('edgy', 'viewer');
  const huge = JSON.stringify({ instances: Array.from({ length: 9000 }, () => ({ ...day, note: 'x'.repeat(200) })) });
  const tooLarge = await fetch(`${t.url}/v1/models/weather:predict`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: huge,
  });
  assert.equal(tooLarge.status, 413);
  assert.equal((await tooLarge.json() as any).error.code, 'payload_too_large');

  const notJson = await onOneSocket([predictRequest(token, '{"instances": [')]);
  assert.match(notJson, /HTTP\/1\.1 400/);
  assert.match(notJson, /The body is not valid JSON/);

  // promises 1,000 bytes, sends 10, hangs up
  const { port } = new URL(t.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /v1/models/weather:predict HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-length: 1000\r\n\r\n{"instance`);
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();

  const after = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${t.url}/v1/models/weather:predict`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    }, (res) => { res.resume(); resolve(res.statusCode!); });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(after, 200);
});
