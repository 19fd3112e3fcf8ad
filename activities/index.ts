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
import { createDeploymentActivities } from './deployment';
import { createMonitoringActivities } from './monitoring';
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
}

/** Task queue `perennial`: data, registry, audit, deployment and canary analysis. */
export function createOrchestrationActivities(deps: Pick<ActivityDeps, 'db' | 'artifacts' | 'codeVersion' | 'sources' | 'client' | 'queues'>) {
  return {
    ...createDataActivities(deps), ...createRegistryActivities(deps), ...createDeploymentActivities(deps), ...createServabilityActivities(deps),
    ...createMonitoringActivities(deps),
  };
}

/** Task queue `perennial-training`: train, evaluate, and check that a model serves as it evaluated. */
export function createTrainingQueueActivities(deps: Pick<ActivityDeps, 'artifacts' | 'backend'>) {
  return createTrainingActivities(deps);
}

export type OrchestrationActivities = ReturnType<typeof createOrchestrationActivities>;
export type TrainingActivities = ReturnType<typeof createTrainingQueueActivities>;
