/**
 * The approval desk: a pipeline waits, durably and for days if need be, for people's approve or
 * reject Updates under its approval terms (the model's policy applied):
 *
 *   announce the request -> collect decisions -> remind -> escalate -> decide, or time out
 *
 * N distinct owners with the approver role must approve; a rejection by any one of them rejects.
 * The validator refuses a decision that is not allowed before it enters history: nothing awaiting,
 * a role below approver, an owner the terms do not list, an owner who already decided, and
 * four-eyes: the owner of the key that started the pipeline may not decide on it, through any of
 * their keys or through a key they minted. A timeout rejects, or approves where the policy says so.
 */
import { ApplicationFailure, condition, patched, setHandler } from '@temporalio/workflow';
import { isListedApprover, mayDecide } from '../common/actors';
import type { Principal } from '../common/domain';
import { ErrorTypes } from '../common/names';
import type { PipelineInput } from '../common/pipeline-start';
import type { ApprovalDecision, PipelineStatus } from '../common/pipeline-status';
import { msOf } from '../common/durations';
import type { Decision } from '../common/vocabulary';
import { Patches } from './patches';
import { approveUpdate, rejectUpdate, type DecisionInput } from './pipeline-messages';

export interface Verdict {
  decision: Decision;
  /** who decided: the approver whose approval completed the count, or who rejected; absent when the timeout did */
  by?: Principal;
  /** every person who approved, in order (N-of-M) */
  approvedBy?: Principal[];
  comment?: string;
  at: string;
  /** a timeout that approved, as the policy allows */
  approvedOnTimeout?: boolean;
}

/** One person's approval that did not yet complete the count. */
export interface Vote {
  by: Principal;
  comment?: string;
  at: string;
  received: number;
  needed: number;
}

export type ApprovalNotice = 'request' | 'remind' | 'escalate';

/** How the desk keeps what happens: each through an activity, audited. */
export interface DeskRecords {
  /** the final verdict */
  decision(verdict: Verdict): Promise<void>;
  /** an approval that counts towards N but does not yet decide */
  vote(vote: Vote): Promise<void>;
  /** the request for a decision, a reminder, an escalation: each a notification to subscribers */
  notice(kind: ApprovalNotice, details: Record<string, unknown>): Promise<void>;
}

/** the person behind a key; runs started before keys had owners recorded only the key */
const ownerOf = (p: Principal) => p.owner ?? p.keyId;

interface Pending extends DecisionInput { verdict: 'approved' | 'rejected'; at: string; recorded: boolean }

export function approvalDesk(input: PipelineInput, status: PipelineStatus) {
  const terms = input.spec.approval;
  // runs started before N-of-M carry none of these: one approval, from anyone with the role
  const needed = terms.approvals ?? 1;
  const approvers = terms.approvers ?? null;
  const counted: Pending[] = [];
  const queue: Pending[] = [];
  let final = false;

  const all = () => [...counted, ...queue];
  /** whether the decisions already taken or waiting to be recorded settle it */
  const settled = () => final || all().some((p) => p.verdict === 'rejected') || all().filter((p) => p.verdict === 'approved').length >= needed;

  const validate = (d: DecisionInput) => {
    if (status.status !== 'awaiting_approval' || settled()) {
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
    if (!isListedApprover(approvers, d.by)) {
      throw ApplicationFailure.nonRetryable(
        `${ownerOf(d.by)} may not decide on this pipeline: its approval terms name ${approvers!.join(', ')}.`, ErrorTypes.notListedApprover);
    }
    if (all().some((p) => ownerOf(p.by) === ownerOf(d.by))) {
      throw ApplicationFailure.nonRetryable(
        `${ownerOf(d.by)} has already decided on this pipeline; ${needed} different people must approve.`, ErrorTypes.sameApprover);
    }
  };
  // the Update answers once the decision is recorded, with the pipeline as it then stands
  const decide = (verdict: 'approved' | 'rejected') => async (d: DecisionInput) => {
    const pending: Pending = { ...d, verdict, at: new Date().toISOString(), recorded: false };
    queue.push(pending);
    await condition(() => pending.recorded);
    return status;
  };
  setHandler(approveUpdate, decide('approved'), { validator: validate });
  setHandler(rejectUpdate, decide('rejected'), { validator: validate });

  const show = (p: Pending): ApprovalDecision => ({ decision: p.verdict, by: p.by.name, owner: ownerOf(p.by), at: p.at, comment: p.comment ?? null });

  return {
    /**
     * Waits for the decisions or the timeout, has `records` keep each, and shows them on the status.
     * `shown` is what the approvers see (metrics, gates, canary limits): kept with each decision.
     */
    async awaitDecision(records: DeskRecords, shown: Record<string, unknown> = {}): Promise<Verdict> {
      // runs started before N-of-M, reminders and escalation replay the single-decision path
      const modern = patched(Patches.approvalPolicy);
      const startedAt = Date.now();
      const deadline = startedAt + msOf(terms.timeout);
      const remindAt = modern && terms.remindAfter ? startedAt + msOf(terms.remindAfter) : Infinity;
      const escalateAt = modern && terms.escalateAfter ? startedAt + msOf(terms.escalateAfter) : Infinity;
      status.approval.deadline = new Date(deadline).toISOString();
      if (modern) {
        Object.assign(status.approval, { needed, received: 0, stillNeeded: needed, approvers, decisions: [], remindedAt: null, escalatedAt: null });
        // recorded (and listed as awaiting) before the status says so: whoever sees it waiting finds it in the list
        await records.notice('request', { needed, approvers, deadline: status.approval.deadline, ...shown });
      }
      status.status = 'awaiting_approval';

      let verdict: Verdict | undefined;
      while (!verdict) {
        const next = Math.min(status.approval.remindedAt ? Infinity : remindAt, status.approval.escalatedAt ? Infinity : escalateAt, deadline);
        if (queue.length === 0 && next > Date.now()) await condition(() => queue.length > 0, next - Date.now());

        while (queue.length && !verdict) {
          const p = queue.shift()!;
          counted.push(p);
          const approvals = counted.filter((c) => c.verdict === 'approved');
          if (p.verdict === 'rejected') {
            verdict = { decision: 'rejected', by: p.by, comment: p.comment, at: p.at };
          } else if (approvals.length >= needed) {
            verdict = { decision: 'approved', by: p.by, approvedBy: approvals.map((a) => a.by), comment: p.comment, at: p.at };
          } else {
            await records.vote({ by: p.by, comment: p.comment, at: p.at, received: approvals.length, needed });
            status.approval.decisions!.push(show(p));
            Object.assign(status.approval, { received: approvals.length, stillNeeded: needed - approvals.length });
            p.recorded = true;
          }
        }
        if (verdict) break;

        const now = Date.now();
        if (now >= deadline) {
          const approves = modern && terms.onTimeout === 'approve';
          verdict = { decision: approves ? 'approved' : 'timed_out', at: new Date().toISOString(), approvedOnTimeout: approves || undefined };
        } else if (now >= remindAt && !status.approval.remindedAt) {
          status.approval.remindedAt = new Date().toISOString();
          await records.notice('remind', { after: terms.remindAfter, received: status.approval.received, needed, deadline: status.approval.deadline, ...shown });
        } else if (now >= escalateAt && !status.approval.escalatedAt) {
          status.approval.escalatedAt = new Date().toISOString();
          await records.notice('escalate', { after: terms.escalateAfter, received: status.approval.received, needed, deadline: status.approval.deadline, ...shown });
        }
      }

      final = true;
      status.status = 'running';
      await records.decision(verdict);
      const last = counted.at(-1);
      if (modern && last && !last.recorded && verdict.by) {
        status.approval.decisions!.push(show(last));
        if (verdict.decision === 'approved') Object.assign(status.approval, { received: needed, stillNeeded: 0 });
      }
      const by = verdict.approvedBy && verdict.approvedBy.length > 1 ? verdict.approvedBy.map((p) => p.name).join(', ') : verdict.by?.name ?? null;
      Object.assign(status.approval, { decision: verdict.decision, by, at: verdict.at, comment: verdict.comment ?? (verdict.approvedOnTimeout ? `approved on timeout after ${terms.timeout}, as the policy allows` : null) });
      for (const p of counted) p.recorded = true;
      return verdict;
    },
  };
}
