/**
 * The activities, made by factories that receive their dependencies, so tests hand in real ones
 * on a test database. Two groups, for the two task queues.
 */
import type { Client } from '@temporalio/client';
import type { PipelineQueues } from '../common/pipeline-start';
import type { Db } from '../db/client';
import type { BackendPreference } from '../ml/backend';
import type { ArtifactStore } from '../db/artifacts';
import { createDataActivities } from './data';
import type { SourcePolicy } from './source-policy';
import type { WebhookTargetPolicy } from './webhook-target';
import { createDeploymentActivities } from './deployment';
import { createMonitoringActivities } from './monitoring';
import { createNotificationActivities } from './notifications';
import { createRegistryActivities } from './registry';
import { createServabilityActivities } from './servability';
import { createTrainingActivities } from './training';

export interface ActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
  backend: BackendPreference;
  codeVersion: string;
  /** where a dataset may come from, and how much of it */
  sources: SourcePolicy;
  /** starts retrainings and monitors (the monitoring activities) */
  client?: Client;
  /** the queues a retraining's pipeline runs on */
  queues?: PipelineQueues;
  /** where webhook deliveries may go (default: public addresses only) */
  webhooks?: WebhookTargetPolicy;
}

/** Task queue `perennial`: data, registry, audit, deployment, canary analysis, monitoring and webhook deliveries. */
export function createOrchestrationActivities(deps: Pick<ActivityDeps, 'db' | 'artifacts' | 'codeVersion' | 'sources' | 'client' | 'queues' | 'webhooks'>) {
  return {
    ...createDataActivities(deps), ...createRegistryActivities(deps), ...createDeploymentActivities(deps), ...createServabilityActivities(deps),
    ...createMonitoringActivities(deps), ...createNotificationActivities(deps),
  };
}

/** Task queue `perennial-training`: train, evaluate, and check that a model serves as it evaluated. */
export function createTrainingQueueActivities(deps: Pick<ActivityDeps, 'artifacts' | 'backend'>) {
  return createTrainingActivities(deps);
}

export type OrchestrationActivities = ReturnType<typeof createOrchestrationActivities>;
export type TrainingActivities = ReturnType<typeof createTrainingQueueActivities>;
