/** `npm run worker`: the orchestration worker, workflows and CPU activities on the `perennial` task queue. */
import { runPart } from './run-part';

await runPart('worker', { orchestration: true, api: false, training: false });
