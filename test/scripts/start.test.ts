/** `npm start` as a user runs it: one command brings the platform up, Ctrl-C takes it down. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../scripts/temporal-dev-server';
import { REPO_ROOT } from '../helpers/platform';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-start-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

test('npm start brings up Temporal, the database, both workers and the API, prints how to use them, and stops on SIGINT', async () => {
  const [api, temporal, ui] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['scripts/start.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env, PERENNIAL_DATA_DIR: dataDir, PORT: String(api), PERENNIAL_TEMPORAL_DEV_PORT: String(temporal),
      PERENNIAL_TEMPORAL_UI_PORT: String(ui), PERENNIAL_ADMIN_TOKEN: '', PERENNIAL_TF_BACKEND: 'wasm',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    // the last line of what it prints once ready (it may arrive in a later chunk than "ready in")
    const timer = setInterval(() => { if (/Ctrl-C stops everything/.test(out)) { clearInterval(timer); resolve(); } }, 100);
    void exited.then((code) => { clearInterval(timer); reject(new Error(`npm start exited with ${code}:\n${out}`)); });
  });

  assert.match(out, new RegExp(`API\\s+http://localhost:${api}`));
  assert.match(out, new RegExp(`Temporal UI\\s+http://localhost:${ui}`));
  assert.match(out, new RegExp(`Console\\s+http://localhost:${api}/ui`));
  const token = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  assert.ok(!out.includes(token), 'the admin token itself is never printed');
  const masked = token.slice(0, 12).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(out, new RegExp(`Admin token\\s+${masked}…\\s+\\(generated now; the whole token is in .*admin-token, mode 0600`));
  assert.equal(fs.statSync(path.join(dataDir, 'admin-token')).mode & 0o777, 0o600);

  const ready = await fetch(`http://localhost:${api}/readyz`);
  assert.equal(ready.status, 200);
  const models = await fetch(`http://localhost:${api}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(models.status, 200);
  assert.deepEqual(await models.json(), { items: [] });
  const ui_ = await fetch(`http://localhost:${ui}/`);
  assert.equal(ui_.status, 200, 'the Temporal Web UI answers');
  assert.ok(fs.existsSync(path.join(dataDir, 'temporal.db')), 'Temporal persists under the data directory');
  assert.ok(fs.existsSync(path.join(dataDir, 'pglite')), 'PGlite lives under the data directory');

  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.match(out, /\[perennial\] stopped/);
});
