/**
 * The approval desk under a model's approval terms, on a real Temporal server with mocked
 * activities: N-of-M approvals from distinct owners, listed approvers and groups, the request,
 * reminder and escalation notices in order, and what a timeout decides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approveUpdate, rejectUpdate } from '../../workflows';
import { people, personActor, pipelineSpec, pipelineStatus, refusal, systemActor, untilPipeline, workflowEnv, type Principal } from '../helpers/workflow-env';

/** Ada's second key: another key, the same person */
const adaAgain: Principal = { keyId: 'key-ada-2', name: 'Ada (laptop)', role: 'approver', owner: 'ada', mintedBy: 'root' };
/** an approver in the risk group */
const rita: Principal = { keyId: 'key-rita', name: 'Rita', role: 'approver', owner: 'rita', mintedBy: 'root', groups: ['risk'] };

test('two approvals from two different people promote; the first is shown as received with one still needed', async (t) => {
  const env = await workflowEnv(t, { orchestration: { registerCandidate: async () => ({ version: 4 }) } });
  const handle = await env.startPipeline(pipelineSpec({ approval: { approvals: 2 } }));
  const waiting = await untilPipeline(handle, 'awaiting_approval');
  assert.equal(waiting.approval.needed, 2);
  assert.equal(waiting.approval.stillNeeded, 2);

  const afterFirst = await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver, comment: 'metrics fine' }] });
  assert.equal(afterFirst.status, 'awaiting_approval', 'one approval of two does not decide');
  assert.equal(afterFirst.approval.decision, null);
  assert.equal(afterFirst.approval.received, 1);
  assert.equal(afterFirst.approval.stillNeeded, 1);
  assert.deepEqual(afterFirst.approval.decisions!.map((d) => [d.decision, d.by, d.owner, d.comment]), [['approved', 'Ada', 'ada', 'metrics fine']]);

  const afterSecond = await handle.executeUpdate(approveUpdate, { args: [{ by: people.secondApprover, comment: 'agreed' }] });
  assert.equal(afterSecond.approval.decision, 'approved');
  assert.equal(afterSecond.approval.by, 'Ada, Grace');
  assert.equal(afterSecond.approval.stillNeeded, 0);
  assert.deepEqual(afterSecond.approval.decisions!.map((d) => d.owner), ['ada', 'grace']);

  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.deepEqual(env.callsOf('recordApprovalNotice').map((n) => n.kind), ['request']);
  const [vote] = env.callsOf('recordApprovalVote');
  assert.deepEqual([vote.by.owner, vote.received, vote.needed, vote.comment], ['ada', 1, 2, 'metrics fine']);
  assert.deepEqual((vote.shown as { metrics: unknown }).metrics, { accuracy: 0.8 }, 'each decision keeps the metrics the approver was shown');
  const [decision] = env.callsOf('recordDecision');
  assert.equal(decision.approvedBy, 'Ada, Grace');
  assert.deepEqual((decision.details as { approvers: unknown }).approvers, [personActor(people.approver), personActor(people.secondApprover)]);
  assert.deepEqual(env.callsOf('promoteVersion').map((p) => p.actor), [personActor(people.secondApprover)]);
});

test('the same owner cannot count twice, through another of their keys', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ approval: { approvals: 2 } }));
  await untilPipeline(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });

  for (const by of [people.approver, adaAgain]) {
    const refused = await refusal(handle.executeUpdate(approveUpdate, { args: [{ by }] }));
    assert.equal(refused.type, 'SameApprover');
    assert.match(refused.message, /ada has already decided on this pipeline; 2 different people must approve/);
  }
  const still = await pipelineStatus(handle);
  assert.equal(still.status, 'awaiting_approval');
  assert.equal(still.approval.received, 1);
  assert.equal(env.callsOf('recordApprovalVote').length, 1);
});

test('one rejection rejects, whatever approvals came before it', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ approval: { approvals: 3 } }));
  await untilPipeline(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  const after = await handle.executeUpdate(rejectUpdate, { args: [{ by: people.secondApprover, comment: 'fails on winter days' }] });
  assert.equal(after.approval.decision, 'rejected');
  assert.equal(after.approval.by, 'Grace');

  const result = await handle.result();
  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'approval');
  assert.deepEqual(env.callsOf('recordDecision').map((d) => [d.decision, d.by?.owner, d.comment]), [['rejected', 'grace', 'fails on winter days']]);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('only the listed approvers decide: an owner by name or a member of a listed group; anyone else is refused', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ approval: { approvals: 2, approvers: ['grace', 'group:risk'] } }));
  await untilPipeline(handle, 'awaiting_approval');

  const refused = await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] }));
  assert.equal(refused.type, 'NotListedApprover');
  assert.match(refused.message, /ada may not decide on this pipeline: its approval terms name grace, group:risk/);

  await handle.executeUpdate(approveUpdate, { args: [{ by: rita }] });
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.secondApprover }] });
  assert.equal((await handle.result()).status, 'completed');
});

test('a pipeline nobody decides on asks, is reminded, is escalated and then times out, in that order', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ approval: { remindAfter: '1s', escalateAfter: '2s', timeout: '3s' } }));
  const result = await handle.result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'approval_timeout');
  const order = env.calls.map((c) => c.name).filter((n) => n === 'recordApprovalNotice' || n === 'recordDecision');
  assert.deepEqual(order, ['recordApprovalNotice', 'recordApprovalNotice', 'recordApprovalNotice', 'recordDecision']);
  assert.deepEqual(env.callsOf('recordApprovalNotice').map((n) => n.kind), ['request', 'remind', 'escalate']);
  assert.equal(env.callsOf('recordDecision')[0].decision, 'timed_out');
  assert.ok(result.approval.remindedAt && result.approval.escalatedAt, 'the status shows when it was reminded and escalated');
  assert.ok(result.approval.remindedAt < result.approval.escalatedAt);
});

test('a timeout approves where the terms say onTimeout: approve, and the promotion is the system\'s', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ approval: { timeout: '1s', onTimeout: 'approve' } }));
  const result = await handle.result();

  assert.equal(result.status, 'completed');
  assert.equal(result.approval.decision, 'approved');
  assert.match(result.approval.comment!, /approved on timeout after 1s, as the policy allows/);
  const [decision] = env.callsOf('recordDecision');
  assert.equal(decision.approvedOnTimeout, true);
  assert.deepEqual(env.callsOf('promoteVersion').map((p) => p.actor), [systemActor('approval-timeout')]);
});
