/** Links into the Temporal UI that the API puts in its answers: a workflow run's history, a schedule. */
import type { Config } from '../config';

const namespaceUrl = (config: Config) => `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;

export const workflowUiUrl = (config: Config, workflowId: string, runId: string) =>
  `${namespaceUrl(config)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

export const scheduleUiUrl = (config: Config, scheduleId: string) => `${namespaceUrl(config)}/schedules/${encodeURIComponent(scheduleId)}`;
