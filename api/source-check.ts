/** The source policy at the API: what a request's dataset names is refused with a 400 before a pipeline starts. */
import { storedVersion } from '../activities/dataset-ingest';
import { planSource, RULES, SourceRefused, type SourcePolicy } from '../activities/source-policy';
import type { DatasetSpec } from '../common/pipeline-request';
import type { Db } from '../db/client';
import { ApiError } from './errors';

export async function checkDatasetSource(spec: DatasetSpec, policy: SourcePolicy, db: Db): Promise<void> {
  let plan;
  try {
    plan = await planSource(spec, policy);
  } catch (err) {
    if (err instanceof SourceRefused) throw new ApiError(400, 'source_refused', err.message, [{ field: 'dataset.uri', message: err.message }]);
    throw err;
  }
  if (plan.kind === 'dataset' && !(await storedVersion(db, plan.hash))) {
    throw new ApiError(400, 'unknown_dataset', `dataset.uri: ${RULES.unknownDataset}`, [{ field: 'dataset.uri', message: RULES.unknownDataset }]);
  }
}
