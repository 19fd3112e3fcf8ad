/** How the workflows call their activities: timeouts and retries, one named set per kind of work. */
import type { ActivityOptions } from '@temporalio/workflow';
import { ErrorTypes, TASK_QUEUES } from '../common/names';

/** bad data is a validation outcome: retrying cannot mend it */
const neverRetried = [ErrorTypes.dataset];

/** registry, pipeline records, audit and validation: database work, idempotent, retried a few times */
export const recordkeeping: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: neverRetried },
};

/** reading a dataset from its source: a source that is down gets a few tries; bad data gets none */
export const ingesting: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  retry: { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: neverRetried },
};

/**
 * Training on the training workers' own queue. The train activity heartbeats (while it loads, and
 * each epoch): a worker silent for `heartbeatTimeout` is replaced by one that resumes from its last
 * checkpoint. Only activities that heartbeat get a heartbeat timeout.
 */
export const training = (taskQueue: string = TASK_QUEUES.training, heartbeatTimeout = '2 minutes'): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout,
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: neverRetried },
});

/** evaluation and the servability check on the training queue: long, and they do not heartbeat */
export const evaluating = (taskQueue: string = TASK_QUEUES.training): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '12 hours',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: neverRetried },
});

/** a decision or a promotion: it has happened, so it is recorded however long the database is away */
export const committing: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: neverRetried },
};

/** a canary's weight and analysis: short, and retried while the database is away for a while */
export const deploying: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 30 },
};

/** taking a canary's traffic away: a safety action, retried until it is done */
export const compensating: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/** waiting for another version's canary of the model to end: retried, durably, with backoff */
export const waitingForCanarySlot: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * one webhook delivery: a receiver that is down is tried again with backoff (1 s, 2 s, 4 s ... at
 * most 10 minutes apart) for 24 hours; each attempt gets 15 s (the request itself 10 s)
 */
export const notifying: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: [ErrorTypes.webhookUndeliverable] },
};
