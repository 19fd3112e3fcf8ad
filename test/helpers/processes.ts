/**
 * Real Perennial processes for the chaos scenarios and the worker tests: `npm run api|worker|trainer` as their own
 * process groups, on the test platform's Temporal, database and task queues, killed with real signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Database } from '../../db/client';
import { freePort } from '../../scripts/temporal-dev-server';
import { REPO_ROOT, type TestPlatform } from './platform';

export interface PartProcess {
  child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  /** ends the process group with `signal` and waits for it to exit; the exit code or signal */
  kill(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** the PostgreSQL URL of the test platform's database, or null on PGlite (one process only) */
export const databaseUrl = (t: TestPlatform) => (t.database as Database & { url?: string }).url ?? null;

export async function startPart(t: TestPlatform, part: 'api' | 'worker' | 'trainer', env: Record<string, string> = {}): Promise<PartProcess> {
  const url = databaseUrl(t);
  // the trainer needs no database: the others cannot share an embedded PGlite
  if (!url && part !== 'trainer') throw new Error('a second process needs a PostgreSQL server (TEST_DATABASE_URL)');
  // node itself, as the images run it: the signals reach the part, and its exit code is the process's
  const child = spawn(process.execPath, ['--import', 'tsx', `platform/${part}.ts`], {
    cwd: REPO_ROOT,
    env: {
      ...process.env, TEMPORAL_ADDRESS: t.temporalAddress, ...(url ? { DATABASE_URL: url } : {}), PERENNIAL_DATA_DIR: t.dataDir,
      PERENNIAL_TASK_QUEUE: t.config.taskQueues.orchestration, PERENNIAL_TRAINING_TASK_QUEUE: t.config.taskQueues.training,
      PERENNIAL_ADMIN_TOKEN: t.adminToken, PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'warn', HOST: '127.0.0.1',
      PERENNIAL_IMPORT_ROOTS: t.config.sources.importRoots.join(':'), PERENNIAL_RATE_LIMIT: '0', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, killed as one
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => { if (new RegExp(`\\[${part}\\] running`).test(out)) { clearInterval(timer); resolve(); } }, 50);
    child.once('exit', (code) => { clearInterval(timer); reject(new Error(`${part} exited (${code}): ${out}`)); });
  });
  return {
    child,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      const exited = new Promise<number | string | null>((r) => child.once('exit', (code, sig) => r(code ?? sig)));
      try { process.kill(-child.pid!, signal); } catch { /* already gone */ }
      return exited;
    },
  };
}

/** an API process on a port of its own: its URL with the part */
export async function startApi(t: TestPlatform, port?: number) {
  const p = port ?? await freePort();
  const part = await startPart(t, 'api', { PORT: String(p) });
  return { ...part, port: p, url: `http://127.0.0.1:${p}` };
}
