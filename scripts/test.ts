/**
 * `npm test`: one Temporal dev server (in memory) and one workflow bundle for the whole run, then
 * node's test runner over every test/**\/*.test.ts (or the files given as arguments).
 * `npm run test:chaos` (`--chaos`): the chaos scenarios in test/chaos, one file at a time (they kill
 * and restart real processes, and load the machine); never part of `npm test`.
 * Database: the PostgreSQL server in TEST_DATABASE_URL (a fresh database per test file), else PGlite.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { resolveTemporalCli } from './temporal-cli';
import { startTemporalDevServer } from './temporal-dev-server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findTests(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'chaos' && dir === path.join(root, 'test') ? [] : findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  }).sort();
}

async function main() {
  const chaos = process.argv.includes('--chaos');
  const args = process.argv.slice(2).filter((a) => a !== '--chaos');
  const files = args.length ? args : chaos ? findTests(path.join(root, 'test', 'chaos')) : findTests(path.join(root, 'test'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-test-run-'));
  const cli = resolveTemporalCli();
  const server = await startTemporalDevServer({ cli, headless: true, logFile: path.join(tmp, 'temporal.log') });
  const bundlePath = await cachedWorkflowBundle(tmp);
  console.log(`Temporal dev server ${server.address}; database: ${process.env.TEST_DATABASE_URL ? 'PostgreSQL (TEST_DATABASE_URL)' : 'PGlite'}; ${files.length} test files`);

  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter', 'spec', ...(chaos ? ['--test-concurrency=1'] : []), ...files], {
    stdio: 'inherit',
    env: { ...process.env, PERENNIAL_TEST_TEMPORAL_ADDRESS: server.address, PERENNIAL_TEST_WORKFLOW_BUNDLE: bundlePath },
  });
  const exitCode = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(exitCode);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
