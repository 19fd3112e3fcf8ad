/**
 * The activities, made by factories that receive their dependencies, so tests hand in real ones
 * on a test database. Two groups, for the two task queues.
 */
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
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
  return ridingOutDatabaseOutages(deps.db, {
    ...createDataActivities(deps), ...createRegistryActivities(deps), ...createDeploymentActivities(deps), ...createServabilityActivities(deps),
    ...createMonitoringActivities(deps), ...createNotificationActivities(deps),
  });
}

/** how long an attempt that failed on an unreachable database waits for it before it gives its failure to Temporal */
const OUTAGE_WAIT_MS = 50_000;

/**
 * Each activity, so that an attempt that failed because the database is unreachable waits (at most
 * OUTAGE_WAIT_MS, within the shortest start-to-close timeout) for it to come back before failing: a
 * database restart then costs an activity one attempt, not all of them within a few seconds of backoff.
 * Any other failure is handed on at once.
 */
function ridingOutDatabaseOutages<T extends Record<string, (...args: any[]) => Promise<any>>>(db: Db, activities: T): T {
  const reachable = async () => { try { await db.execute(sql`select 1`); return true; } catch { return false; } };
  const wrapped: Record<string, (...args: any[]) => Promise<any>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: any[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if ((err as { nonRetryable?: boolean })?.nonRetryable !== true && !(await reachable())) {
          const deadline = Date.now() + OUTAGE_WAIT_MS;
          while (Date.now() < deadline && !(await reachable())) await new Promise((r) => setTimeout(r, 1_000));
        }
        throw err;
      }
    };
  }
  return wrapped as T;
}

/** Task queue `perennial-training`: train, evaluate, and check that a model serves as it evaluated. */
export function createTrainingQueueActivities(deps: Pick<ActivityDeps, 'artifacts' | 'backend'>) {
  return createTrainingActivities(deps);
}

export type OrchestrationActivities = ReturnType<typeof createOrchestrationActivities>;
export type TrainingActivities = ReturnType<typeof createTrainingQueueActivities>;
