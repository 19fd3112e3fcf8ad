/**
 * Every route in /openapi.json, hit with what a careless or hostile client sends: random, deeply
 * nested, near-limit, badly encoded and wrong-typed bodies, path parameters and query strings,
 * under several content types and tokens. No answer may be a 5xx, every error has the one error
 * shape, and the platform still answers at the end. The run is bounded by a request count, drawn
 * from a fixed seed, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';

const REQUESTS = 1200;
const SEED = 20_240_611;
const IN_FLIGHT = 4;

let t: TestPlatform;
let viewer: string;
before(async () => {
  t = await startTestPlatform();
  viewer = await t.createKey('fuzz-viewer', 'viewer');
});
after(async () => { await t?.stop().catch(() => {}); });

interface Operation { method: string; path: string; query: string[] }
interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** sent as a stream without Content-Length, as chunked uploads are */
  chunked: boolean;
}

// ---- values ---------------------------------------------------------------------------------

const nasty = ['\u0000', '\ud800', '\udfff', '\u202e', '\u2028', '\ufeff', '\u001b[31m', '\n', '\r\n', '\t', '😀', '👩‍👩‍👧', 'é', '\u0301', '%', '%00', '../..', '..', '/', '\\', '"', "'", '<script>', '${x}', '{{x}}', ':', '?', '#', '&', '='];
const nastyNumbers = ['0', '-1', '1.5', '1e309', '-0', 'NaN', 'Infinity', '99999999999', '2147483648', '2147483647', '9007199254740993', '0x10', ' 1', '1 ', ''];

const char = fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom(...nasty), fc.constantFrom(...nastyNumbers));
const text = fc.oneof(
  { weight: 4, arbitrary: fc.array(char, { maxLength: 12 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.constantFrom(...nastyNumbers) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

/** JSON text nested `depth` levels deep, as arrays, objects or both */
const deepJson = fc.record({ depth: fc.integer({ min: 500, max: 20_000 }), kind: fc.constantFrom('array', 'object', 'mixed') }).map(({ depth, kind }) => {
  if (kind === 'array') return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
});

/** a body just under or over the 1 MiB limit */
const hugeJson = fc.record({ bytes: fc.integer({ min: 900_000, max: 1_100_000 }), kind: fc.constantFrom('string', 'array', 'keys') }).map(({ bytes, kind }) => {
  if (kind === 'string') return JSON.stringify({ items: [{ predictionId: 'x', label: 'y'.repeat(bytes) }], instances: [{ a: 'z'.repeat(bytes) }] });
  if (kind === 'array') return `[${Array.from({ length: Math.floor(bytes / 2) }, () => '1').join(',')}]`;
  return JSON.stringify(Object.fromEntries(Array.from({ length: Math.floor(bytes / 12) }, (_, i) => [`k${i}`, i])));
});

/** a JSON value whose strings may hold NUL, lone surrogates and other trouble */
const { value: jsonish } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, 99999999999, -0),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
}));

/** JSON.stringify writes lone surrogates as escapes, which the server's JSON.parse turns back into them */
const jsonText = (v: unknown) => JSON.stringify(v) ?? 'null';

/** bodies shaped like real requests, with one field replaced by something wrong */
const templates: Record<string, unknown>[] = [
  { model: 'weather', dataset: { uri: 'node_modules/vega-datasets/data/seattle-weather.csv' }, target: 'weather', training: { epochs: 1 } },
  { items: [{ predictionId: 'p1', label: 'rain' }] },
  { instances: [{ precipitation: 0, temp_max: 10, temp_min: 2, wind: 3 }] },
  { name: 'k', role: 'viewer' },
  { comment: 'ok' },
  { toVersion: 1, comment: 'back' },
];
const mutatedTemplate = fc.record({ template: fc.constantFrom(...templates), path: fc.array(text, { minLength: 1, maxLength: 3 }), value: jsonish })
  .map(({ template, path, value }) => {
    const copy = structuredClone(template);
    let at: Record<string, unknown> = copy;
    const keys = [...Object.keys(copy), ...path];
    for (const key of path.slice(0, -1)) {
      const next = at[key];
      at = next && typeof next === 'object' ? next as Record<string, unknown> : (at[key] = {}) as Record<string, unknown>;
    }
    at[fc.sample(fc.constantFrom(...keys), 1)[0] ?? path[path.length - 1]] = value;
    return jsonText(copy);
  });

const body = fc.oneof(
  { weight: 5, arbitrary: jsonish.map(jsonText) },
  { weight: 5, arbitrary: mutatedTemplate },
  { weight: 2, arbitrary: deepJson },
  { weight: 1, arbitrary: hugeJson },
  { weight: 2, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":', '[1,]', 'nul', '\u0000', '{"a":"\\ud800"}', '{"a":"\\u0000"}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}') },
);

const contentType = fc.constantFrom(
  'application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/merge-patch+json',
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'text/markdown', '',
);

/** a path parameter, percent-encoded as a client would, or raw percent sequences no client should send */
const pathValue = fc.oneof(
  { weight: 6, arbitrary: text.map((s) => encodeURIComponent(s.toWellFormed())) },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%ED%A0%80', '%FF', '%', '%0A%0DFAKE', '%2F..%2F..', '%25', '%C0%AF', 'weather', '1', '0', '-1', '99999999999') },
);

const queryString = (declared: string[]) => fc.array(
  fc.record({ key: fc.oneof(fc.constantFrom(...(declared.length ? declared : ['q'])), text), value: fc.oneof(text, fc.constantFrom(...nastyNumbers)) }),
  { maxLength: 4 },
).map((pairs) => pairs.map(({ key, value }) => `${encodeURIComponent(key.toWellFormed())}=${encodeURIComponent(value.toWellFormed())}`).join('&'));

const headerValue = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_.:/;=,'.split('')), maxLength: 300 });

function requestFor(operations: Operation[], url: string, tokens: string[]) {
  return fc.record({
    operation: fc.constantFrom(...operations),
    method: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') }),
    params: fc.array(pathValue, { minLength: 4, maxLength: 4 }),
    query: fc.constantFrom(...operations).chain((o) => queryString(o.query)),
    withQuery: fc.boolean(),
    body: fc.option(body, { freq: 4 }),
    contentType,
    token: fc.constantFrom(...tokens),
    accept: fc.constantFrom('application/json', 'text/markdown', '*/*', ''),
    extraHeaders: fc.record({ 'idempotency-key': headerValue, 'x-entity-key': headerValue }, { requiredKeys: [] }),
    chunked: fc.boolean(),
  }).map((r): FuzzRequest => {
    let i = 0;
    const path = r.operation.path.replace(/\{[^}]+\}/g, () => r.params[i++]);
    const method = r.method ?? r.operation.method;
    const headers: Record<string, string> = { ...r.extraHeaders };
    if (r.token) headers.authorization = `Bearer ${r.token}`;
    if (r.accept) headers.accept = r.accept;
    const canHaveBody = method !== 'GET' && method !== 'HEAD' && r.body !== null;
    if (canHaveBody && r.contentType) headers['content-type'] = r.contentType;
    return {
      method, url: `${url}${path}${r.withQuery && r.query ? `?${r.query}` : ''}`, headers,
      body: canHaveBody ? r.body! : undefined, chunked: canHaveBody && r.chunked,
    };
  });
}

async function send(req: FuzzRequest): Promise<{ status: number; text: string; contentType: string }> {
  const body = req.body === undefined ? undefined
    : req.chunked ? new Blob([req.body as string]).stream()
      : req.body;
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body, ...(req.chunked ? { duplex: 'half' } : {}) } as RequestInit);
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

function errorShapeProblem(status: number, text: string, contentType: string, method: string): string | null {
  if (status < 400) return null;
  if (method === 'HEAD') return null; // no body to read
  if (!/json/.test(contentType)) return `content-type ${contentType}`;
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.error?.code !== 'string' || typeof parsed?.error?.message !== 'string') return 'not {"error": {"code", "message"}}';
    return null;
  } catch {
    return 'not JSON';
  }
}

test(`${REQUESTS} fuzzed requests over every documented route: no 5xx, every error in the error shape, and the API still answers`, async () => {
  const doc = (await t.api('GET', '/openapi.json', { token: null })).body;
  const operations: Operation[] = Object.entries<Record<string, { parameters?: { name: string; in: string }[] }>>(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(), path, query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
    })));
  assert.ok(operations.length >= 15, `the document lists ${operations.length} operations`);
  operations.push({ method: 'GET', path: '/metrics', query: [] }, { method: 'GET', path: '/readyz', query: [] }, { method: 'GET', path: '/v1/{x}/{y}', query: [] });

  const tokens = [t.adminToken, t.adminToken, t.adminToken, viewer, viewer, '', 'garbage-token'];
  const requests = fc.sample(requestFor(operations, t.url, tokens), { numRuns: REQUESTS, seed: SEED });
  const failures: string[] = [];
  let sent = 0;
  let serverErrors = 0;
  let refusedUploads = 0;
  const statuses = new Map<number, number>();
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const req = requests[next++];
      const res = await send(req).catch((err: Error) => ({ status: 0, text: `${err.message}: ${(err.cause as Error)?.message}`, contentType: '' }));
      sent++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) serverErrors++;
      // an upload refused past the limit may see the socket close before it has sent everything: HTTP allows it
      const overLimit = req.body !== undefined && Buffer.byteLength(req.body) > t.config.maxBodyBytes;
      if (res.status === 0 && overLimit) { refusedUploads++; continue; }
      const problem = res.status >= 500 || res.status === 0 ? `status ${res.status}` : errorShapeProblem(res.status, res.text, res.contentType, req.method);
      if (problem) {
        const shown = typeof req.body === 'string' ? `${req.body.length} chars ${req.chunked ? 'chunked' : ''}: ${req.body.slice(0, 100)}` : '';
        failures.push(`${problem}: ${req.method} ${req.url.slice(t.url.length, t.url.length + 160)} [${req.headers['content-type'] ?? ''}] ${shown} -> ${res.text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));

  console.log(`fuzz: ${sent} requests sent, ${serverErrors} answered 5xx, ${refusedUploads} over-limit uploads cut off; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  if (process.env.FUZZ_FAILURES) (await import('node:fs')).writeFileSync(process.env.FUZZ_FAILURES, failures.join('\n'));
  assert.deepEqual(failures.slice(0, 15), [], `${failures.length} bad answers`);
  assert.equal(serverErrors, 0);
  assert.equal((await t.api('GET', '/healthz', { token: null })).status, 200);
  assert.equal((await t.api('GET', '/v1/models', { token: viewer })).status, 200);
});
