/** The orchestration worker: workflows and CPU activities on the `perennial` task queue. */
import { runPart } from './run-part';

await runPart('orchestrator', { orchestration: true, api: false, training: false });
