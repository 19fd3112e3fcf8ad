/**
 * Names shared by the workflows, the workers, the API and Temporal itself: task queues, workflow
 * types and ids, search attributes and the error types that cross the workflow boundary.
 * Deterministic, so workflows import it too.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUES = {
  /** workflows and CPU activities */
  orchestration: 'perennial',
  /** train, evaluate and the servability check: GPU machines in production */
  training: 'perennial-training',
} as const;

export const WORKFLOW_TYPES = { pipeline: 'trainingPipeline', canary: 'canaryRollout', webhookDelivery: 'webhookDelivery' } as const;

export const workflowIds = {
  /** a new pipeline; `key` (a hash of an Idempotency-Key) makes a repeated request find the same one */
  pipeline: (model: string, key: string) => `pipeline-${model}-${key}`,
  canary: (model: string, version: number) => `canary-${model}-v${version}`,
  monitor: (model: string) => `monitor-${model}`,
  retrain: (model: string) => `retrain-${model}`,
  /** what a schedule starts; Temporal appends each run's scheduled time */
  scheduled: (scheduleId: string) => `scheduled-${scheduleId}`,
  /** one webhook delivery: the dispatchers of several workers starting it twice start it once */
  webhookDelivery: (deliveryId: string) => `webhook-delivery-${deliveryId}`,
};

/** A schedule's id in Temporal: `schedule-<id>`, the id the API names it by behind the prefix. */
export const SCHEDULE_ID_PREFIX = 'schedule-';
export const temporalScheduleId = (id: string) => `${SCHEDULE_ID_PREFIX}${id}`;

/** Search attributes that make Perennial's workflows findable in the Temporal UI and by the API. */
export const ModelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const PipelineStageKey = defineSearchAttributeKey('PipelineStage', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [ModelNameKey, PipelineStageKey] as const;

/** ApplicationFailure types that cross the workflow boundary; the API maps refusals to HTTP statuses. */
export const ErrorTypes = {
  /** the data cannot be read or used: a validation outcome, never retried */
  dataset: 'DatasetError',
  /** another version's canary holds the model's slot: retried until it ends */
  canarySlotLost: 'CanarySlotLost',
  canarySlotTaken: 'CanarySlotTaken',
  /** 409 */
  notAwaitingApproval: 'NotAwaitingApproval',
  /** 403 */
  roleTooLow: 'RoleTooLow',
  /** 403, code four_eyes */
  fourEyes: 'FourEyes',
  /** 403, code not_an_approver: the policy names who may decide, and this key's owner is not among them */
  notListedApprover: 'NotListedApprover',
  /** 403, code same_approver: this owner has already decided, with this key or another */
  sameApprover: 'SameApprover',
  /** 409 */
  canaryNotRunning: 'CanaryNotRunning',
  /** a webhook delivery that no retry can send: its webhook was deleted, or its address is refused */
  webhookUndeliverable: 'WebhookUndeliverable',
} as const;
