/**
 * When Temporal or the database cannot be reached, the API answers 503 with Retry-After and which
 * one is away, not a 500: an outage of what it stands on is not its bug. Other errors stay 500.
 * (test/chaos/temporal-restart.test.ts sees the same with the real server stopped.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { Hono } from 'hono';
import { handleError } from '../../api/errors';

function appThrowing(err: Error) {
  const app = new Hono();
  app.onError(handleError);
  app.get('/x', () => { throw err; });
  return app;
}

test('Temporal unreachable (gRPC UNAVAILABLE under a ServiceError) is a 503 temporal_unavailable with Retry-After', async () => {
  const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233'), { code: 14, metadata: {} });
  const res = await appThrowing(new ServiceError('Failed to describe workflow', { cause: grpc })).request('/x');
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '5');
  const body = await res.json() as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'temporal_unavailable');
  assert.match(body.error.message, /Temporal cannot be reached, or no worker answered in time; nothing was changed/);
  assert.doesNotMatch(JSON.stringify(body), /7233|ECONNREFUSED/, 'no address or socket error shown');
});

test('the database unreachable is a 503 database_unavailable', async () => {
  const res = await appThrowing(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })).request('/x');
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as any).error.code, 'database_unavailable');
});

test('any other error stays a 500 that shows nothing of it', async () => {
  const res = await appThrowing(new TypeError('cannot read properties of undefined (secret detail)')).request('/x');
  assert.equal(res.status, 500);
  assert.doesNotMatch(await res.text(), /secret detail/);
});
