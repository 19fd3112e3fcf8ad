/**
 * `npm run trainer`: the training worker, train and evaluate on the `perennial-training` task queue, with the best
 * TensorFlow.js backend present (PERENNIAL_TF_BACKEND) and PERENNIAL_TRAINING_SLOTS activity slots.
 */
import { runPart } from './run-part';

await runPart('trainer', { training: true, api: false, orchestration: false });
