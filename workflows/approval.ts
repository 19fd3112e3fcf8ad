/**
 * The approval desk: a pipeline waits, durably and for days if need be, for a person's approve or
 * reject Update. The validator refuses a decision that is not allowed before it enters history:
 * nothing awaiting, a role below approver, or four-eyes: the owner of the key that started the
 * pipeline may not decide on it, through any of their keys or through a key they minted.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { mayDecide } from '../common/actors';
import type { Principal } from '../common/domain';
import { ErrorTypes } from '../common/names';
import type { PipelineInput } from '../common/pipeline-start';
import type { PipelineStatus } from '../common/pipeline-status';
import { msOf } from '../common/durations';
import type { Decision } from '../common/vocabulary';
import { approveUpdate, rejectUpdate, type DecisionInput } from './pipeline-messages';

export interface Verdict {
  decision: Decision;
  /** who decided; absent when the timeout did */
  by?: Principal;
  comment?: string;
  at: string;
}

/** the person behind a key; runs started before keys had owners recorded only the key */
const ownerOf = (p: Principal) => p.owner ?? p.keyId;

export function approvalDesk(input: PipelineInput, status: PipelineStatus) {
  let decided: (DecisionInput & { verdict: 'approved' | 'rejected' }) | undefined;
  let recorded = false;

  const validate = (d: DecisionInput) => {
    if (status.status !== 'awaiting_approval' || decided) {
      throw ApplicationFailure.nonRetryable(
        `Pipeline ${status.id} is not awaiting approval (status: ${status.status}, stage: ${status.stage}).`, ErrorTypes.notAwaitingApproval);
    }
    if (!mayDecide(d.by)) {
      throw ApplicationFailure.nonRetryable(`Role ${d.by.role} may not decide on promotions; approver is needed.`, ErrorTypes.roleTooLow);
    }
    const starter = input.requestedBy && ownerOf(input.requestedBy);
    if (starter && ownerOf(d.by) === starter) {
      throw ApplicationFailure.nonRetryable(`Four-eyes rule: ${starter} started this pipeline and may not decide on it, with any of their keys.`, ErrorTypes.fourEyes);
    }
    if (starter && d.by.mintedBy === starter) {
      throw ApplicationFailure.nonRetryable(`Four-eyes rule: ${starter} started this pipeline and minted the key "${d.by.name}"; another person must decide.`, ErrorTypes.fourEyes);
    }
  };
  // the Update answers once the decision is recorded, with the pipeline as it then stands
  const decide = (verdict: 'approved' | 'rejected') => async (d: DecisionInput) => {
    decided = { ...d, verdict };
    await condition(() => recorded);
    return status;
  };
  setHandler(approveUpdate, decide('approved'), { validator: validate });
  setHandler(rejectUpdate, decide('rejected'), { validator: validate });

  return {
    /** waits for a decision or the timeout, has `record` keep it, and shows it on the status */
    async awaitDecision(record: (verdict: Verdict) => Promise<void>): Promise<Verdict> {
      const { timeout } = input.spec.approval;
      status.status = 'awaiting_approval';
      status.approval.deadline = new Date(Date.now() + msOf(timeout)).toISOString();
      const inTime = await condition(() => decided !== undefined, timeout);
      status.status = 'running';
      const verdict: Verdict = inTime
        ? { decision: decided!.verdict, by: decided!.by, comment: decided!.comment, at: new Date().toISOString() }
        : { decision: 'timed_out', at: new Date().toISOString() };
      await record(verdict);
      Object.assign(status.approval, { decision: verdict.decision, by: verdict.by?.name ?? null, at: verdict.at, comment: verdict.comment ?? null });
      recorded = true;
      return verdict;
    },
  };
}
