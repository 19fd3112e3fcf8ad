/**
 * PerennialPlugin packages Perennial's activities (and, on the orchestration queue, its workflows)
 * for any Temporal Worker, so a platform team that already runs Temporal adds Perennial to its own
 * workers:
 *
 *   Worker.create({ connection, taskQueue: 'perennial', plugins: [new PerennialPlugin({ role: 'orchestration', db, artifacts })] })
 *   Worker.create({ connection, taskQueue: 'perennial-training', plugins: [new PerennialPlugin({ role: 'training', artifacts })] })
 *
 * A worker that bundles its own workflows sets `registerWorkflows: false` and re-exports
 * `perennial/workflows` from its workflows file.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimplePlugin } from '@temporalio/plugin';
import { createOrchestrationActivities, createTrainingQueueActivities } from '../activities';
import { sourcePolicyOf, type SourcePolicy } from '../activities/source-policy';
import type { WebhookTargetPolicy } from '../activities/webhook-target';
import { loadConfig } from '../config';
import type { Client } from '@temporalio/client';
import type { PipelineQueues } from '../common/pipeline-start';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import type { BackendPreference } from '../ml/backend';

export const workflowsPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

export type PerennialPluginOptions =
  | {
    role: 'orchestration'; db: Db; artifacts: ArtifactStore; codeVersion?: string; registerWorkflows?: boolean; workflowBundlePath?: string;
    sources?: SourcePolicy;
    /** lets the monitor start retrainings and a promotion start the model's monitor */
    client?: Client;
    /** the queues a retraining's pipeline runs on (default: perennial and perennial-training) */
    queues?: PipelineQueues;
    /** where webhook deliveries may go (default: PERENNIAL_ALLOW_PRIVATE_WEBHOOKS from the environment) */
    webhooks?: WebhookTargetPolicy;
  }
  | { role: 'training'; artifacts: ArtifactStore; backend?: BackendPreference };

export class PerennialPlugin extends SimplePlugin {
  constructor(options: PerennialPluginOptions) {
    if (options.role === 'training') {
      super({
        name: 'perennial-training',
        activities: createTrainingQueueActivities({ artifacts: options.artifacts, backend: options.backend ?? 'auto' }),
      });
      return;
    }
    const registerWorkflows = options.registerWorkflows ?? true;
    super({
      name: 'perennial',
      activities: createOrchestrationActivities({
        db: options.db, artifacts: options.artifacts, codeVersion: options.codeVersion ?? codeVersion(),
        sources: options.sources ?? sourcePolicyOf(loadConfig()), client: options.client, queues: options.queues,
        webhooks: options.webhooks ?? loadConfig().webhooks,
      }),
      ...(registerWorkflows && options.workflowBundlePath ? { workflowBundle: { codePath: options.workflowBundlePath } } : {}),
      ...(registerWorkflows && !options.workflowBundlePath ? { workflowsPath } : {}),
    });
  }
}

/** The code version recorded on every model version: $PERENNIAL_CODE_VERSION, else package version. */
export function codeVersion(): string {
  if (process.env.PERENNIAL_CODE_VERSION) return process.env.PERENNIAL_CODE_VERSION;
  const require = createRequire(import.meta.url);
  return `perennial@${(require('../package.json') as { version: string }).version}`;
}
