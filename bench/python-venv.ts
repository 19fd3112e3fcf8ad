/** The Python peers' virtual environments under .tools/: created once, refilled whenever their pinned requirements change. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** the venv's python, after `pip install -r requirements` (skipped when the same file was installed last time) */
export function ensureVenv(venv: string, requirements: string): string {
  const python = path.join(venv, 'bin/python');
  const stamp = path.join(venv, `.${path.basename(requirements)}`);
  const wanted = fs.readFileSync(requirements, 'utf8');
  const log: SpawnSyncOptions = { stdio: ['ignore', 2, 2] }; // progress to stderr: stdout is the table
  if (!fs.existsSync(python)) {
    console.error(`creating ${path.relative(root, venv)} (once)`);
    const r = spawnSync('python3', ['-m', 'venv', venv], log);
    if (r.status !== 0) throw new Error('python3 -m venv failed: it needs Python 3 and its venv module (Debian: python3-venv)');
  }
  if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== wanted) {
    console.error(`installing ${path.relative(root, requirements)} into ${path.relative(root, venv)}`);
    const r = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], log);
    if (r.status !== 0) throw new Error(`pip install -r ${path.relative(root, requirements)} failed`);
    fs.writeFileSync(stamp, wanted);
  }
  return python;
}
