/** One key cannot take the API from everyone else: a token bucket per key, 429 with Retry-After beyond it. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hono } from 'hono';
import type { AppEnv } from '../../api/auth';
import { ApiError, errorBody } from '../../api/errors';
import { rateLimit } from '../../api/rate-limit';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({ PERENNIAL_RATE_LIMIT: '1', PERENNIAL_RATE_LIMIT_BURST: '3' }, { api: true, orchestration: false, training: false });
});
after(async () => { await t?.stop(); });

test('a key over its rate gets 429 with Retry-After in the error shape; another key is not slowed by it', async () => {
  const busy = await t.createKey('busy', 'viewer');
  const quiet = await t.createKey('quiet', 'viewer');
  const first = [];
  for (let i = 0; i < 3; i++) first.push((await t.api('GET', '/v1/models', { token: busy })).status);
  assert.deepEqual(first, [200, 200, 200], 'a burst of 3 is allowed');
  // 60 at once: more than the bucket could refill in the time they take, however slow the machine
  const answers = await Promise.all(Array.from({ length: 60 }, () => t.api('GET', '/v1/models', { token: busy })));
  const limited = answers.find((a) => a.status === 429);
  assert.ok(limited, 'beyond the burst, more than 1 a second is refused');
  assert.equal(limited.body.error.code, 'rate_limited');
  const raw = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${busy}` } });
  assert.equal(raw.status, 429);
  assert.match(raw.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal((await t.api('GET', '/v1/models', { token: quiet })).status, 200);
});

test('the bucket refills at the configured rate (a clock the test moves)', async () => {
  let now = 0;
  const app = new Hono<AppEnv>();
  app.onError((err, c) => c.json(errorBody((err as ApiError).code, err.message), (err as ApiError).status));
  app.use('*', async (c, next) => { c.set('principal', { keyId: 'k', name: 'k', role: 'viewer', owner: 'k', mintedBy: null }); await next(); });
  app.use('*', rateLimit({ perSecond: 2, burst: 2, now: () => now }));
  app.get('/', (c) => c.text('ok'));
  const status = async () => (await app.request('/')).status;
  assert.deepEqual([await status(), await status(), await status()], [200, 200, 429]);
  now += 500; // one token back
  assert.deepEqual([await status(), await status()], [200, 429]);
  now += 10_000; // never more than the burst
  assert.deepEqual([await status(), await status(), await status()], [200, 200, 429]);
});
