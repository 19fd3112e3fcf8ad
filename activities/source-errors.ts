/** What every source reader shares: its two kinds of failure, and the local file it hands on. */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../common/names';

/** a problem with the data itself, or a refused source: retrying cannot help, so the pipeline ends at once */
export const datasetError = (message: string) => ApplicationFailure.nonRetryable(message, ErrorTypes.dataset);
/** a problem reaching the data that may pass: Temporal retries it */
export const transient = (message: string) => ApplicationFailure.retryable(message, 'DatasetSourceUnavailable');

export interface LocalSource {
  file: string;
  /** a name that carries the source's extension, for format inference */
  name: string;
  cleanup(): Promise<void>;
}

export async function tempDir() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'perennial-ingest-'));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}
