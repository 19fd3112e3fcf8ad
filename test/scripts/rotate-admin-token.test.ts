/** `npm run rotate-admin-token`: a new token in the data directory's file, shown only masked. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readOrCreateAdminToken } from '../../scripts/admin-token-file';
import { REPO_ROOT } from '../helpers/platform';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-rotate-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function rotate(env: Record<string, string> = {}) {
  const { PERENNIAL_ADMIN_TOKEN: _, ...rest } = process.env;
  return spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/rotate-admin-token.ts'], {
    cwd: REPO_ROOT, env: { ...rest, PERENNIAL_DATA_DIR: dataDir, ...env }, encoding: 'utf8',
  });
}

test('rotating writes a new token to the 0600 file, prints it masked and says a restart applies it', () => {
  const first = readOrCreateAdminToken(dataDir);
  assert.equal(first.generated, true);
  const res = rotate();
  assert.equal(res.status, 0, res.stderr);
  const rotated = fs.readFileSync(first.file, 'utf8').trim();
  assert.notEqual(rotated, first.token);
  assert.equal(fs.statSync(first.file).mode & 0o777, 0o600);
  assert.ok(!res.stdout.includes(rotated), 'the new token itself is not printed');
  assert.ok(res.stdout.includes(`${rotated.slice(0, 12)}…`), res.stdout);
  assert.match(res.stdout, /restart/);
  assert.equal(readOrCreateAdminToken(dataDir).generated, false, 'the next start reads the rotated token');
});

test('rotating refuses when the token comes from PERENNIAL_ADMIN_TOKEN, and leaves the file alone', () => {
  const before = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8');
  const res = rotate({ PERENNIAL_ADMIN_TOKEN: 'from-the-environment-0123456789' });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /PERENNIAL_ADMIN_TOKEN is set/);
  assert.doesNotMatch(res.stderr + res.stdout, /from-the-environment/);
  assert.equal(fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8'), before);
});
