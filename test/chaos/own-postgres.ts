/**
 * A PostgreSQL cluster of a chaos scenario's own (initdb into a temporary folder, postgres on a free
 * port), so that the scenario can stop and start the database without touching anyone else's.
 * Needs the PostgreSQL 15 binaries (Debian's apt package); as root, it runs them as `postgres`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/temporal-dev-server';

const BIN = process.env.PERENNIAL_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const PASSWORD = 'perennial-chaos';

/** whether initdb and postgres are there to run */
export const ownPostgresAvailable = () => ['initdb', 'postgres', 'pg_isready'].every((b) => fs.existsSync(path.join(BIN, b)));

const asRoot = process.getuid?.() === 0;
/** the command as the cluster's owner: `postgres` when we are root (postgres refuses to run as root) */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

export interface OwnPostgres {
  port: number;
  /** the server's URL, its `postgres` database */
  url: string;
  /** stops the server (fast shutdown: open connections are cut) and waits until it has exited */
  stop(): Promise<void>;
  /** starts it again on the same port and data directory and waits until it accepts connections */
  start(): Promise<void>;
  /** stops it and removes the data directory */
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-chaos-pg-'));
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, PASSWORD);
  if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const [cmd, args] = asOwner(path.join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=md5', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync']);
  const init = spawnSync(cmd, args, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  let out = '';

  async function start() {
    const [c, a] = asOwner(path.join(BIN, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']);
    child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { out += d; });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${out}`);
      if (spawnSync(path.join(BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']).status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`postgres did not accept connections in 30 s: ${out}`);
  }

  async function stop() {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    // SIGINT to the postmaster (its pid from postmaster.pid, runuser being its parent) is a fast shutdown
    let pid = 0;
    try { pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { /* not written yet */ }
    try { if (pid > 0) process.kill(pid, 'SIGINT'); else c.kill('SIGINT'); } catch { c.kill('SIGINT'); }
    await exited;
    child = null;
  }

  await start();
  return {
    port,
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
