/** A source policy for tests that call the data activities directly: the config's, for a data dir and import roots of the test's own. */
import { sourcePolicyOf, type SourcePolicy } from '../../activities/source-policy';
import { loadConfig } from '../../config';
import { testImportRoots } from './platform';

export function testSourcePolicy(opts: { dataDir: string; roots?: string[]; env?: Record<string, string> }): SourcePolicy {
  return sourcePolicyOf(loadConfig({
    PERENNIAL_DATA_DIR: opts.dataDir, PERENNIAL_IMPORT_ROOTS: testImportRoots(...(opts.roots ?? [])), ...opts.env,
  }));
}
