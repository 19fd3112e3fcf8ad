/** The API server on its own (production: behind a load balancer, as many replicas as needed). */
import { runPart } from '../workers/run-part';

await runPart('api', { api: true, orchestration: false, training: false });
