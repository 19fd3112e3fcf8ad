/** Every workflow Perennial runs. A team's own worker registers them by re-exporting this module. */
export { trainingPipeline } from './pipeline';
export { approveUpdate, rejectUpdate, statusQuery } from './definitions';
