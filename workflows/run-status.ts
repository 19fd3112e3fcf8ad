/**
 * A pipeline's account of itself: the status document its query answers (and the API shows), the
 * stage it is in (also the PipelineStage search attribute, so the Temporal UI can find it), and its
 * end, recorded in the database.
 */
import { setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ModelNameKey, PipelineStageKey } from '../common/names';
import { initialStatus, type PipelineInput } from '../common/pipeline-start';
import type { PipelineStatus, StageRecord } from '../common/pipeline-status';
import type { PipelineStatusName, RejectionReason, StageName } from '../common/vocabulary';
import { statusQuery } from './pipeline-messages';

export interface RunStatus {
  status: PipelineStatus;
  /** runs one stage: shown as running, then completed or failed, with its times */
  stage<T>(name: StageName, work: () => Promise<T>): Promise<T>;
  /** the pipeline's end: shown, and recorded by `record` */
  finish(outcome: PipelineStatusName, reason?: RejectionReason | null): Promise<PipelineStatus>;
}

export function trackRun(input: PipelineInput, record: (status: PipelineStatus) => Promise<void>): RunStatus {
  const { workflowId, runId } = workflowInfo();
  const status = initialStatus({
    id: workflowId, runId, model: input.spec.model, task: input.spec.task, approvalRequired: input.spec.approval.required,
    startedBy: input.requestedBy?.name, startedByOwner: input.requestedBy?.owner ?? null, trigger: input.trigger ?? null, startedAt: new Date(),
  });
  setHandler(statusQuery, () => status);
  upsertSearchAttributes([{ key: ModelNameKey, value: input.spec.model }]);

  return {
    status,
    async stage(name, work) {
      status.stage = name;
      const entry: StageRecord = { name, status: 'running', startedAt: new Date().toISOString(), endedAt: null };
      status.stages.push(entry);
      upsertSearchAttributes([{ key: PipelineStageKey, value: name }]);
      try {
        const result = await work();
        Object.assign(entry, { status: 'completed', endedAt: new Date().toISOString() });
        return result;
      } catch (err) {
        Object.assign(entry, { status: 'failed', endedAt: new Date().toISOString() });
        throw err;
      }
    },
    async finish(outcome, reason = null) {
      status.status = outcome;
      status.reason = reason;
      if (outcome === 'completed') status.stage = 'done';
      status.endedAt = new Date().toISOString();
      upsertSearchAttributes([{ key: PipelineStageKey, value: status.stage }]);
      await record(status);
      return status;
    },
  };
}
