/** The API key cache: how long a key is trusted without the database, and that a revocation is not undone by a lookup in flight. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { authenticate, createAuthenticator, createKeyCache, hashToken, KEY_STALE_MAX_MS, type AppEnv } from '../../api/auth';
import { handleError } from '../../api/errors';
import type { Principal } from '../../common/domain';
import type { Db } from '../../db/client';

const alice: Principal = { keyId: 'key_alice', name: 'alice', role: 'viewer', owner: 'alice', mintedBy: null };

/** a clock the test moves by hand */
function manualClock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('a key seen before is served stale while the database is down, but only for a bounded time', () => {
  const clock = manualClock();
  const cache = createKeyCache(5_000, { now: clock.now });
  cache.set('h', alice, cache.generation());
  clock.advance(10_000);
  assert.equal(cache.get('h'), undefined, 'past the fresh window');
  assert.deepEqual(cache.stale('h'), alice, 'still usable while the database is down');
  clock.advance(KEY_STALE_MAX_MS);
  assert.equal(cache.stale('h'), undefined, 'too old to trust without the database');
});

test('a lookup that began before a revocation does not cache the key it read', () => {
  const cache = createKeyCache();
  const before = cache.generation();
  cache.forget('key_alice');
  cache.set('h', alice, before);
  assert.equal(cache.get('h'), undefined);
  assert.equal(cache.stale('h'), undefined);
  cache.set('h', alice, cache.generation());
  assert.deepEqual(cache.get('h'), alice, 'a lookup begun after the revocation caches as usual');
});

/** a database whose key lookups the test answers one by one, or fails */
function scriptedDb() {
  const pending: { resolve(rows: unknown[]): void; reject(err: Error): void }[] = [];
  let reads = 0;
  const db = {
    select: () => ({ from: () => ({ where: () => { reads++; return new Promise((resolve, reject) => pending.push({ resolve, reject })); } }) }),
  } as unknown as Db;
  return { db, pending, reads: () => reads };
}

const row = { id: alice.keyId, name: alice.name, role: alice.role, owner: alice.owner, mintedBy: null };

function appWith(db: Db, cache: ReturnType<typeof createKeyCache>) {
  const app = new Hono<AppEnv>();
  app.onError(handleError);
  app.use('*', authenticate(createAuthenticator(db, undefined, cache)));
  app.get('/whoami', (c) => c.json(c.get('principal')));
  return app;
}

test('a request that read a key row just before its revocation leaves nothing cached: the next request reads the database again', async () => {
  const { db, pending, reads } = scriptedDb();
  const cache = createKeyCache();
  const app = appWith(db, cache);
  const headers = { authorization: 'Bearer alice-token' };

  const inFlight = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  assert.equal(pending.length, 1, 'the first request is reading the key row');
  cache.forget(alice.keyId); // the revocation commits meanwhile
  pending.shift()!.resolve([row]);
  assert.equal((await inFlight).status, 200, 'that request was authenticated before the revocation');

  const next = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  assert.equal(reads(), 2, 'the key was not re-cached: the database is asked again');
  pending.shift()!.resolve([]); // revoked
  assert.equal((await next).status, 401);
  assert.equal(cache.stale(hashToken('alice-token')), undefined);
});

test('with the database down, a key never seen is a 503 that names no address', async () => {
  const { db, pending } = scriptedDb();
  const app = appWith(db, createKeyCache());
  const res = app.request('/whoami', { headers: { authorization: 'Bearer unknown-token' } });
  await new Promise((r) => setImmediate(r));
  pending.shift()!.reject(new Error('connect ECONNREFUSED 172.18.0.3:5432'));
  const answer = await res;
  assert.equal(answer.status, 503);
  assert.doesNotMatch(await answer.text(), /172\.18|ECONNREFUSED/);
});

test('fifty requests that arrive while a key is not cached read its row once, and all are answered', async () => {
  const { db, pending, reads } = scriptedDb();
  const app = appWith(db, createKeyCache());
  const headers = { authorization: 'Bearer alice-token' };
  const all = Array.from({ length: 50 }, () => app.request('/whoami', { headers }));
  await new Promise((r) => setImmediate(r));
  assert.equal(reads(), 1, 'one read of the key row, not fifty');
  pending.shift()!.resolve([row]);
  const answers = await Promise.all(all);
  assert.deepEqual(answers.map((a) => a.status), Array(50).fill(200));
  assert.equal(((await (await app.request('/whoami', { headers })).json()) as Principal).keyId, alice.keyId, 'and the key is cached after it');
  assert.equal(reads(), 1);
});

test('a request after a revocation does not wait for a read of the key begun before it', async () => {
  const { db, pending, reads } = scriptedDb();
  const cache = createKeyCache();
  const app = appWith(db, cache);
  const headers = { authorization: 'Bearer alice-token' };
  const before = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  cache.forget(alice.keyId);
  const after = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  assert.equal(reads(), 2, 'the request after the revocation reads the key row itself');
  pending.shift()!.resolve([row]);
  pending.shift()!.resolve([]); // the revocation has committed
  assert.equal((await before).status, 200);
  assert.equal((await after).status, 401);
});

test('a failed read of a key is not shared with the requests that come after it', async () => {
  const { db, pending, reads } = scriptedDb();
  const app = appWith(db, createKeyCache());
  const headers = { authorization: 'Bearer alice-token' };
  const first = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  pending.shift()!.reject(new Error('connection refused'));
  assert.equal((await first).status, 503, 'the database did not answer and the key was never seen');
  const second = app.request('/whoami', { headers });
  await new Promise((r) => setImmediate(r));
  assert.equal(reads(), 2, 'the next request reads again');
  pending.shift()!.resolve([row]);
  assert.equal((await second).status, 200);
});
