import assert from 'node:assert/strict';
import path from 'node:path';
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

test('dataset source settings: import roots resolved against the working directory, SQL sources parsed by name', () => {
  const c = loadConfig({ PERENNIAL_SQL_SOURCES: 'warehouse=postgres://r:pw@db:5432/dw, crm-2=postgresql://r@crm/crm' });
  assert.deepEqual(c.sources.importRoots, [path.resolve('datasets'), path.resolve('node_modules/vega-datasets/data')]);
  assert.equal(c.sources.allowPrivateAddresses, false);
  assert.equal(c.sources.maxBytes, 1024 ** 3);
  assert.equal(c.maxUploadBytes, 1024 ** 3);
  assert.equal(c.sources.maxRows, 10_000_000);
  assert.equal(c.sources.statementTimeoutMs, 60_000);
  assert.equal(c.duckdbMemoryLimit, '2GB');
  assert.deepEqual(c.sources.sql, { warehouse: 'postgres://r:pw@db:5432/dw', 'crm-2': 'postgresql://r@crm/crm' });
  assert.deepEqual(loadConfig({ PERENNIAL_IMPORT_ROOTS: '' }).sources.importRoots, [], 'empty: no local files');
});

test('a bad SQL source entry names the entry, never its URL', () => {
  assert.throws(() => loadConfig({ PERENNIAL_SQL_SOURCES: 'Bad Name=postgres://u:Secr3t@h/db' }), (err: Error) => {
    assert.match(err.message, /PERENNIAL_SQL_SOURCES: each entry is name=postgres:\/\/\.\.\./);
    assert.doesNotMatch(err.message, /Secr3t/);
    return true;
  });
  assert.throws(() => loadConfig({ PERENNIAL_SQL_SOURCES: 'dw=mysql://u:Secr3t@h/db' }), (err: Error) => /dw: a postgres:\/\/ URL/.test(err.message) && !/Secr3t/.test(err.message));
});

test('payload encryption: off by default; a key must be base64 of 32 bytes, and no message shows it', () => {
  assert.equal(loadConfig({}).codec, undefined);
  const key = Buffer.alloc(32, 9).toString('base64');
  const on = loadConfig({ PERENNIAL_CODEC_KEY: key });
  assert.equal(on.codec?.current?.id, 'default');
  assert.equal(on.codec?.current?.key.export().toString('base64'), key);
  assert.equal(JSON.stringify(on.codec).includes(key), false, 'a printed config shows no key');

  const rotated = loadConfig({ PERENNIAL_CODEC_KEY: key, PERENNIAL_CODEC_KEY_ID: 'k2', PERENNIAL_CODEC_OLD_KEYS: `k1=${Buffer.alloc(32, 1).toString('base64')}` });
  assert.deepEqual([...rotated.codec!.readable.keys()].sort(), ['k1', 'k2']);

  const short = Buffer.alloc(16, 3).toString('base64');
  const secretish = 'this-is-my-password-not-base64!!';
  const cases: [Record<string, string>, RegExp][] = [
    [{ PERENNIAL_CODEC_KEY: short }, /PERENNIAL_CODEC_KEY: must be base64 of exactly 32 bytes/],
    [{ PERENNIAL_CODEC_KEY: secretish }, /PERENNIAL_CODEC_KEY: must be base64 of exactly 32 bytes/],
    [{ PERENNIAL_CODEC_KEY: key, PERENNIAL_CODEC_KEY_ID: 'a b' }, /PERENNIAL_CODEC_KEY_ID/],
    [{ PERENNIAL_CODEC_KEY: key, PERENNIAL_CODEC_OLD_KEYS: `k1=${short}` }, /PERENNIAL_CODEC_OLD_KEYS: k1: must be base64 of exactly 32 bytes/],
    [{ PERENNIAL_CODEC_KEY: key, PERENNIAL_CODEC_OLD_KEYS: key }, /PERENNIAL_CODEC_OLD_KEYS: each entry is id=base64/],
    [{ PERENNIAL_CODEC_KEY: key, PERENNIAL_CODEC_OLD_KEYS: `default=${key}` }, /default is the current key's id/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      for (const secret of [key, short, secretish]) assert.ok(!err.message.includes(secret), 'the key is never in the message');
      return true;
    });
  }
});
