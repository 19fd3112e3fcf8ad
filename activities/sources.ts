/**
 * Where a dataset comes from, once the source policy has allowed it: a local file (read where it
 * is), http(s):// (streamed to disk, never held whole in memory) or sql://<name> (rows streamed to
 * NDJSON). Each becomes a local file to hash. `dataset://` versions are in the registry already.
 */
import fs from 'node:fs/promises';
import { redactUri } from '../common/source-uri';
import type { DatasetSpec } from '../common/pipeline-request';
import { fromHttp, type VetTarget } from './http-source';
import { datasetError, type LocalSource } from './source-errors';
import { confineLocalFile, planSource, SourceRefused, type SourcePolicy } from './source-policy';
import { fromSql } from './sql-source';

export { datasetError, type LocalSource } from './source-errors';

/** The policy's plan for a spec, its refusal as a dataset error (a validation rejection). */
export async function plannedSource(spec: DatasetSpec, policy: SourcePolicy) {
  try {
    return await planSource(spec, policy);
  } catch (err) {
    if (err instanceof SourceRefused) throw datasetError(err.message);
    throw err;
  }
}

export async function fetchSource(spec: DatasetSpec, policy: SourcePolicy, opts: { vet?: VetTarget } = {}): Promise<LocalSource> {
  const plan = await plannedSource(spec, policy);
  switch (plan.kind) {
    case 'http': return fromHttp(spec.uri, policy, opts.vet);
    case 'sql': return fromSql(plan, spec.query!, policy);
    case 'file': return fromFile(plan.path, redactUri(spec.uri), policy);
    case 'dataset': throw new Error('a dataset:// source is read from the registry, not fetched');
  }
}

/** A local file, confined again now that it must exist: the file read is the resolved path that was checked. */
async function fromFile(planned: string, shown: string, policy: SourcePolicy): Promise<LocalSource> {
  let stat;
  try {
    stat = await fs.stat(planned);
  } catch {
    throw datasetError(`Dataset not found: ${shown}`);
  }
  if (!stat.isFile()) throw datasetError(`Dataset is not a file: ${shown}`);
  // the path may have changed since it was planned: check where it leads now
  const file = await confineLocalFile(planned, policy).catch((err: Error) => { throw datasetError(err.message); });
  if (stat.size > policy.maxBytes) throw datasetError(`${shown} is ${stat.size} bytes, more than ${policy.maxBytes} (PERENNIAL_MAX_SOURCE_BYTES).`);
  return { file, name: file, cleanup: async () => {} };
}
