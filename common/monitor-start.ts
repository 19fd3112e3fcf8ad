/**
 * Starting a model's monitor, or re-targeting the running one: after every promotion (the pipeline's
 * activity) and when a person sets its settings while none runs (the API). Signal-with-start makes
 * the two one step: a monitor that exists takes the new version and settings; else one starts with them.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettingsPatch } from './monitor-settings';
import { ModelNameKey, workflowIds } from './names';
import { MONITOR_WORKFLOW, retargetSignal, type MonitorInput } from '../workflows/monitor-messages';

export async function watchModel(client: Client, taskQueue: string, input: { model: string; version: number; settings: MonitorSettingsPatch }) {
  const workflowId = workflowIds.monitor(input.model);
  const start: MonitorInput = { model: input.model, version: input.version, settings: { ...DEFAULT_MONITOR_SETTINGS, ...input.settings } };
  await client.workflow.signalWithStart(MONITOR_WORKFLOW, {
    taskQueue, workflowId, args: [start],
    signal: retargetSignal, signalArgs: [{ version: input.version, settings: input.settings }],
    typedSearchAttributes: [{ key: ModelNameKey, value: input.model }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return { workflowId };
}
