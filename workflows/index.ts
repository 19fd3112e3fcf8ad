/** Every workflow Perennial runs, and their messages. A team's own worker registers them by re-exporting this module. */
export { canaryRollout, type CanaryInput } from './canary';
export { trainingPipeline } from './pipeline';
export { modelMonitor } from './monitor';
export { retrainModel, scheduledRetraining, SCHEDULED_RETRAINING_WORKFLOW, type ScheduledRetrainingInput } from './retrain';
export * from './monitor-messages';
export { webhookDelivery, type WebhookDeliveryInput } from './webhook-delivery';
export { pruneRecords, PRUNE_WORKFLOW, retentionScheduleId, type PruneInput } from './retention';
export { approveUpdate, rejectUpdate, statusQuery, type DecisionInput } from './pipeline-messages';
export { abortCanaryUpdate, canaryStatusQuery, promoteCanaryUpdate } from './canary-messages';
export type { PipelineInput } from '../common/pipeline-start';
