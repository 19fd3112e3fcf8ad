import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { resolveTemporalCli, TemporalCliNotFound } from '../../scripts/temporal-cli';

test('the Temporal CLI is found (PATH, .tools/ or a pip install into .tools/) and runs', () => {
  const cli = resolveTemporalCli({ log: () => {} });
  const r = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /temporal version/);
});

test('a TEMPORAL_CLI that does not work is one clear error, not a hang', () => {
  assert.throws(() => resolveTemporalCli({ explicit: '/nonexistent/temporal' }),
    (err: Error) => err instanceof TemporalCliNotFound && /TEMPORAL_CLI=\/nonexistent\/temporal is not a working Temporal CLI/.test(err.message));
});
