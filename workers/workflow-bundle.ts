/**
 * The workflow bundle, built once per version of the workflow code and kept under the data directory,
 * so a restart does not pay for webpack again. The key hashes every file in workflows/ and common/ and
 * the activity types they import, and the Temporal SDK version.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from './plugin';

const require = createRequire(import.meta.url);
const quiet: Logger = { info() {}, warn() {}, debug() {}, trace() {}, log() {}, error: (message) => console.error(message) };

function sourceHash(): string {
  const hash = crypto.createHash('sha256');
  const dir = path.dirname(workflowsPath);
  const common = path.resolve(dir, '../common');
  const files = [
    ...fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f)),
    ...fs.readdirSync(common).filter((f) => f.endsWith('.ts')).map((f) => path.join(common, f)),
    path.resolve(dir, '../activities/types.ts'), path.resolve(dir, '../activities/index.ts'),
  ];
  for (const f of files.sort()) hash.update(f).update(fs.readFileSync(f));
  hash.update((require('@temporalio/workflow/package.json') as { version: string }).version);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The bundle's path; `failureConverterPath` (the encrypted-failures converter, when payloads are
 * encrypted) is bundled in, and a bundle with one is kept apart from a bundle without.
 */
export async function cachedWorkflowBundle(dataDir: string, opts: { failureConverterPath?: string } = {}): Promise<string> {
  const variant = opts.failureConverterPath ? `-${crypto.createHash('sha256').update(fs.readFileSync(opts.failureConverterPath)).digest('hex').slice(0, 8)}` : '';
  const file = path.join(dataDir, 'cache', `workflow-bundle-${sourceHash()}${variant}.js`);
  if (fs.existsSync(file)) return file;
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet, failureConverterPath: opts.failureConverterPath });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file);
  return file;
}
