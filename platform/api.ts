/** `npm run api`: the API server on its own (production: behind a load balancer, as many replicas as needed). */
import { runPart } from './run-part';

await runPart('api', { api: true, orchestration: false, training: false });
