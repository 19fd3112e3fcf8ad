import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config';

test('config has sensible defaults when the environment is empty', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.match(c.dataDir, /\.data$/);
  assert.equal(c.temporal.namespace, 'default');
  assert.equal(c.temporal.address, undefined);
  assert.equal(c.temporal.uiUrl, 'http://localhost:8233');
  assert.deepEqual(c.taskQueues, { orchestration: 'perennial', training: 'perennial-training' });
  assert.equal(c.databaseUrl, undefined, 'PGlite by default');
  assert.equal(c.tfBackend, 'auto');
});

test('a bad environment is one error naming every bad variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', PERENNIAL_TF_BACKEND: 'tpu' }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /PORT/);
    assert.match(err.message, /DATABASE_URL: a postgres:\/\/ URL/);
    assert.match(err.message, /PERENNIAL_TF_BACKEND/);
    return true;
  });
});
