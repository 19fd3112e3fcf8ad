/** Every workflow Perennial runs. A team's own worker registers them by re-exporting this module. */
export { canaryRollout } from './canary';
export { trainingPipeline } from './pipeline';
export { abortCanaryUpdate, approveUpdate, canaryStatusQuery, promoteCanaryUpdate, rejectUpdate, statusQuery } from './definitions';
