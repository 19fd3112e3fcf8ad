/**
 * Links into the Temporal UI: a workflow run's history, a workflow by id (its runs), a schedule.
 * Pure: the API puts them in its answers, and webhook bodies (db/webhook-outbox.ts) carry them.
 */

/** where the Temporal UI is and which namespace it shows: `config.temporal` has both */
export interface TemporalUi {
  uiUrl: string;
  namespace: string;
}

const namespaceUrl = (ui: TemporalUi) => `${ui.uiUrl}/namespaces/${encodeURIComponent(ui.namespace)}`;

export const workflowUiUrl = (ui: TemporalUi, workflowId: string, runId: string) =>
  `${namespaceUrl(ui)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

/** every run of a workflow id, for when the run is not known */
export const workflowRunsUiUrl = (ui: TemporalUi, workflowId: string) =>
  `${namespaceUrl(ui)}/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId.replace(/["\\]/g, '\\$&')}"`)}`;

export const scheduleUiUrl = (ui: TemporalUi, scheduleId: string) => `${namespaceUrl(ui)}/schedules/${encodeURIComponent(scheduleId)}`;
