/**
 * trainingPipeline, the real workflow code on a real Temporal server, with mocked activities:
 * every way it can end, the approval Updates and their validators, cancellation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { approveUpdate, rejectUpdate } from '../../workflows';
import {
  acceptedUpdates, baseTrainingMocks, canaryAnalysis, gate, people, personActor, pipelineSpec, pipelineStatus, refusal, systemActor, until, untilPipeline,
  workflowEnv,
} from '../helpers/workflow-env';

const stageNames = (s: { stages: { name: string }[] }) => s.stages.map((x) => x.name);
const production = (model: string) => ({ model, version: 1, artifactKey: `models/${model}/v1` });

test('an approver approves a pipeline awaiting approval: it completes and the version is promoted in their name', async (t) => {
  const env = await workflowEnv(t, { orchestration: { registerCandidate: async () => ({ version: 3 }) } });
  const spec = pipelineSpec();
  const handle = await env.startPipeline(spec, { requestedBy: people.requester });

  const waiting = await untilPipeline(handle, 'awaiting_approval');
  assert.equal(waiting.stage, 'approval');
  assert.equal(waiting.modelVersion, 3);
  assert.deepEqual(waiting.metrics, { accuracy: 0.8 });
  assert.ok(waiting.approval.deadline, 'the deadline is shown while it waits');
  assert.equal(env.callsOf('promoteVersion').length, 0);

  const afterDecision = await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver, comment: 'looks good' }] });
  assert.equal(afterDecision.approval.decision, 'approved');
  assert.equal(afterDecision.approval.by, 'Ada');
  assert.equal(afterDecision.approval.comment, 'looks good');

  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.equal(result.stage, 'done');
  assert.equal(result.reason, null);
  assert.equal(result.startedBy, 'Otto');
  assert.deepEqual(stageNames(result), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'approval', 'promote']);
  assert.ok(result.stages.every((s) => s.status === 'completed'));
  assert.deepEqual(result.servability, { servable: true, instances: 20 });
  assert.equal(result.canary, null);

  assert.deepEqual(env.callsOf('recordPipelineStart').map((c) => [c.model, c.startedBy]), [[spec.model, people.requester.keyId]]);
  assert.deepEqual(env.callsOf('recordDecision').map((c) => [c.decision, c.by, c.comment, c.version]), [['approved', people.approver, 'looks good', 3]]);
  assert.deepEqual(env.callsOf('promoteVersion'), [{ pipelineId: handle.workflowId, runId: result.runId, model: spec.model, version: 3, actor: personActor(people.approver) }]);
  assert.deepEqual(env.callsOf('recordPipelineOutcome').map((c) => [c.status, c.reason]), [['completed', undefined]]);
  const [train] = env.callsOf('trainModel');
  assert.equal(train.model, spec.model);
  assert.deepEqual(train.features.map((f) => f.name), ['temp', 'wind'], 'trained on the features validation chose');
});

test('a failing validation report rejects the pipeline for validation, before any training', async (t) => {
  const anomaly = { kind: 'missing_target', column: 'weather', severity: 'error' as const, message: 'the target column weather is missing' };
  const env = await workflowEnv(t, {
    orchestration: {
      validateDataset: async () => ({
        passed: false, anomalies: [anomaly], reference: { contract: null, previous: null }, task: 'classification', features: [],
      }),
    },
  });
  const result = await (await env.startPipeline(pipelineSpec())).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'validation');
  assert.equal(result.stage, 'validate');
  assert.deepEqual(result.validation?.anomalies, [anomaly]);
  assert.deepEqual(stageNames(result), ['ingest', 'validate']);
  assert.equal(env.callsOf('trainModel').length, 0);
  assert.deepEqual(env.callsOf('recordPipelineOutcome').map((c) => [c.status, c.reason]), [['rejected', 'validation']]);
});

test('a DatasetError from ingest rejects for validation with its message as the anomaly, without retries', async (t) => {
  const message = 'Dataset is empty (0 bytes): weather.csv';
  const env = await workflowEnv(t, {
    orchestration: { ingestDataset: async () => { throw ApplicationFailure.nonRetryable(message, 'DatasetError'); } },
  });
  const result = await (await env.startPipeline(pipelineSpec())).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'validation');
  assert.equal(result.error, null);
  assert.deepEqual(result.validation, { passed: false, anomalies: [{ kind: 'unreadable', severity: 'error', message }] });
  assert.deepEqual(result.stages.map((s) => [s.name, s.status]), [['ingest', 'failed']]);
  assert.equal(env.callsOf('ingestDataset').length, 1, 'bad data gets no second try');
  assert.equal(env.callsOf('validateDataset').length, 0);
  assert.deepEqual(env.callsOf('recordPipelineOutcome').map((c) => [c.status, c.reason]), [['rejected', 'validation']]);
});

test('metrics below the quality gates reject the version for gates, before approval', async (t) => {
  const env = await workflowEnv(t, { orchestration: { registerCandidate: async () => ({ version: 4 }) } });
  const spec = pipelineSpec({ gates: { minMetrics: { accuracy: 0.9 } } });
  const result = await (await env.startPipeline(spec)).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'gates');
  assert.equal(result.gates?.passed, false);
  assert.deepEqual(result.gates?.failures, ['accuracy 0.8000 is below the minimum 0.9']);
  assert.ok(!stageNames(result).includes('approval'));
  const [rejected] = env.callsOf('rejectVersion');
  assert.equal(rejected.version, 4);
  assert.equal(rejected.reason, 'gates');
  assert.deepEqual(rejected.details, result.gates);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test("an approver's reject Update rejects the pipeline for approval", async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec());
  await untilPipeline(handle, 'awaiting_approval');

  const afterDecision = await handle.executeUpdate(rejectUpdate, { args: [{ by: people.approver, comment: 'not on my watch' }] });
  assert.equal(afterDecision.approval.decision, 'rejected');

  const result = await handle.result();
  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'approval');
  assert.equal(result.approval.by, 'Ada');
  assert.deepEqual(env.callsOf('recordDecision').map((c) => [c.decision, c.by?.keyId, c.comment]), [['rejected', 'key-ada', 'not on my watch']]);
  assert.equal(env.callsOf('checkServability').length, 1, 'checked once, before the approval request');
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('nobody deciding before approval.timeout rejects for approval_timeout and records the decision as timed_out', async (t) => {
  const env = await workflowEnv(t);
  const result = await (await env.startPipeline(pipelineSpec({ approval: { timeout: '1s' } }))).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'approval_timeout');
  assert.equal(result.approval.decision, 'timed_out');
  assert.equal(result.approval.by, null);
  const [decision] = env.callsOf('recordDecision');
  assert.equal(decision.decision, 'timed_out');
  assert.equal(decision.by, undefined);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('a version that does not serve as it evaluated is rejected for servability', async (t) => {
  const check = { servable: false, problem: 'outputs differ from evaluation on 3 of 20 instances', instances: 20 };
  const env = await workflowEnv(t, { training: { checkServability: async () => check } });
  const result = await (await env.startPipeline(pipelineSpec({ approval: { required: false } }))).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'servability');
  assert.deepEqual(result.servability, check);
  assert.deepEqual(env.callsOf('rejectVersion').map((c) => [c.reason, c.details]), [['servability', check]]);
  const [servability] = env.callsOf('checkServability');
  assert.deepEqual(servability.sample, { instances: [{ temp: 12, wind: 3 }], outputs: [0.8] }, 'the evaluation sample is what is checked');
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('a canary whose analysis fails against production rejects the pipeline for canary', async (t) => {
  const failing = canaryAnalysis({ passed: false, failures: ['error rate 0.2 is 0.2 above production'] });
  const env = await workflowEnv(t, {
    orchestration: {
      getProductionModel: async (model) => production(model),
      registerCandidate: async () => ({ version: 2 }),
      analyseCanary: async () => failing,
    },
  });
  const spec = pipelineSpec({ approval: { required: false }, canary: { steps: [10, 50], stepDuration: '1s' } });
  const result = await (await env.startPipeline(spec)).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'canary');
  assert.equal(result.stage, 'canary');
  assert.ok(result.canary && 'outcome' in result.canary);
  assert.equal(result.canary.outcome, 'rolled_back');
  assert.equal(result.canary.reason, 'analysis');
  assert.equal(result.canary.workflowId, `canary-${spec.model}-v2`);
  assert.deepEqual(env.callsOf('setCanaryWeight').map((c) => c.weight), [10]);
  assert.deepEqual(env.callsOf('rollBackCanary').map((c) => [c.version, c.reason, c.actor]), [[2, 'analysis', systemActor('canary')]]);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('deciding on a pipeline that is not awaiting approval is refused NotAwaitingApproval', async (t) => {
  const trainingStarted = gate(t);
  const finishTraining = gate(t);
  const env = await workflowEnv(t, {
    training: {
      trainModel: async (input) => { trainingStarted.open(); await finishTraining.wait(); return baseTrainingMocks().trainModel(input); },
    },
  });
  const handle = await env.startPipeline(pipelineSpec());
  await trainingStarted.wait();
  assert.equal((await pipelineStatus(handle)).stage, 'train');

  const refused = await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] }));
  assert.equal(refused.type, 'NotAwaitingApproval');
  assert.match(refused.message, /is not awaiting approval \(status: running, stage: train\)/);

  finishTraining.open();
  await untilPipeline(handle, 'awaiting_approval');
  assert.equal((await pipelineStatus(handle)).approval.decision, null, 'the refused decision did not count');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  assert.equal((await handle.result()).status, 'completed');
});

test('a viewer or an operator may not decide (RoleTooLow); the refused Update never enters history', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec());
  await untilPipeline(handle, 'awaiting_approval');

  for (const who of [people.viewer, people.operator]) {
    for (const update of [approveUpdate, rejectUpdate]) {
      const refused = await refusal(handle.executeUpdate(update, { args: [{ by: who }] }));
      assert.equal(refused.type, 'RoleTooLow', `${who.role} ${update.name}`);
      assert.match(refused.message, new RegExp(`Role ${who.role} may not decide`));
    }
  }
  assert.equal(await acceptedUpdates(handle), 0, 'no refused Update is in the history');
  const still = await pipelineStatus(handle);
  assert.equal(still.status, 'awaiting_approval');
  assert.equal(still.approval.decision, null);
  assert.equal(env.callsOf('recordDecision').length, 0);

  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  assert.equal(await acceptedUpdates(handle), 1);
  assert.equal((await handle.result()).status, 'completed');
});

test('the key that started a pipeline may not decide on it (FourEyes), even as an approver; an admin may', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec(), { requestedBy: people.approver });
  await untilPipeline(handle, 'awaiting_approval');

  for (const update of [approveUpdate, rejectUpdate]) {
    const refused = await refusal(handle.executeUpdate(update, { args: [{ by: people.approver }] }));
    assert.equal(refused.type, 'FourEyes');
  }
  assert.equal((await pipelineStatus(handle)).status, 'awaiting_approval');
  assert.equal(await acceptedUpdates(handle), 0);

  await handle.executeUpdate(approveUpdate, { args: [{ by: people.admin }] });
  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.deepEqual(env.callsOf('promoteVersion').map((c) => c.actor), [personActor(people.admin)]);
});

test('a second decision after the first is refused NotAwaitingApproval', async (t) => {
  const promotionStarted = gate(t);
  const finishPromotion = gate(t);
  const env = await workflowEnv(t, {
    orchestration: { claimCanarySlot: async () => { promotionStarted.open(); await finishPromotion.wait(); } },
  });
  const handle = await env.startPipeline(pipelineSpec());
  await untilPipeline(handle, 'awaiting_approval');

  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  await promotionStarted.wait(); // the pipeline has gone on to promote the version and is still running
  for (const [update, by] of [[rejectUpdate, people.secondApprover], [approveUpdate, people.secondApprover], [rejectUpdate, people.approver]] as const) {
    const refused = await refusal(handle.executeUpdate(update, { args: [{ by }] }));
    assert.equal(refused.type, 'NotAwaitingApproval');
    assert.match(refused.message, /status: running, stage: promote/);
  }
  finishPromotion.open();

  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.equal(result.approval.by, 'Ada');
  assert.equal(env.callsOf('recordDecision').length, 1);
  assert.equal(await acceptedUpdates(handle), 1);
});

test('the servability check comes before the approval request: approvers are shown its result while the pipeline waits', async (t) => {
  const check = { servable: true, instances: 20, bundleSha256: 'b'.repeat(64) };
  const env = await workflowEnv(t, { training: { checkServability: async () => check } });
  const handle = await env.startPipeline(pipelineSpec());

  const waiting = await untilPipeline(handle, 'awaiting_approval');
  assert.deepEqual(waiting.servability, check, 'the waiting pipeline shows the check');
  assert.deepEqual(stageNames(waiting), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'approval']);
  const [request] = env.callsOf('recordApprovalNotice');
  assert.deepEqual(request.details.servability, check, 'the approval request carries it');

  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.equal(env.callsOf('checkServability').length, 1, 'checked once, not again after the decision');
  assert.deepEqual(env.callsOf('confirmBundleUnchanged'), [{ artifactKey: `models/${result.model}/${handle.workflowId}`, bundleSha256: check.bundleSha256 }], 'after the wait, the bundle is the one checked');
  const [decision] = env.callsOf('recordDecision');
  assert.deepEqual((decision.details as { shown: { servability: unknown } }).shown.servability, check, 'the decision keeps what its approver saw');
});

test('a bundle changed while the pipeline awaited approval is rejected for servability after the decision, before any traffic', async (t) => {
  const check = { servable: true, instances: 20, bundleSha256: 'b'.repeat(64) };
  const env = await workflowEnv(t, {
    training: { checkServability: async () => check },
    orchestration: { confirmBundleUnchanged: async () => ({ unchanged: false, bundleSha256: 'c'.repeat(64) }) },
  });
  const handle = await env.startPipeline(pipelineSpec());
  await untilPipeline(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });
  const result = await handle.result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'servability');
  assert.equal(result.servability?.servable, false);
  assert.equal(result.servability?.problem, 'the stored model bundle changed after its servability check (sha256 bbbbbbbbbbbb… when checked, cccccccccccc… now)');
  assert.deepEqual(env.callsOf('rejectVersion').map((c) => c.reason), ['servability']);
  assert.equal(env.callsOf('promoteVersion').length, 0);
  assert.equal(env.callsOf('claimCanarySlot').length, 0);
});

test('a version that cannot serve is rejected before anyone is asked to approve it', async (t) => {
  const check = { servable: false, problem: 'the stored model does not load: unexpected end of JSON input', instances: 0 };
  const env = await workflowEnv(t, { training: { checkServability: async () => check } });
  const result = await (await env.startPipeline(pipelineSpec())).result();

  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'servability');
  assert.deepEqual(result.servability, check);
  assert.deepEqual(stageNames(result), ['ingest', 'validate', 'train', 'evaluate', 'servability']);
  assert.equal(env.callsOf('recordApprovalNotice').length, 0, 'no approval was requested');
  assert.equal(env.callsOf('recordDecision').length, 0);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('approval.required false skips the wait and promotes as system:auto-approval', async (t) => {
  const env = await workflowEnv(t);
  const result = await (await env.startPipeline(pipelineSpec({ approval: { required: false } }))).result();

  assert.equal(result.status, 'completed');
  assert.deepEqual(stageNames(result), ['ingest', 'validate', 'train', 'evaluate', 'servability', 'promote']);
  assert.equal(result.approval.required, false);
  assert.equal(result.approval.decision, null);
  assert.equal(env.callsOf('recordDecision').length, 0);
  assert.deepEqual(env.callsOf('promoteVersion').map((c) => c.actor), [systemActor('auto-approval')]);
});

test('an unexpected activity error fails the pipeline and records the error', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: { registerCandidate: async () => { throw ApplicationFailure.nonRetryable('the registry is read-only', 'RegistryError'); } },
  });
  const handle = await env.startPipeline(pipelineSpec());

  await assert.rejects(handle.result(), (err) => {
    assert.ok(err instanceof WorkflowFailedError);
    return true;
  });
  const [outcome] = env.callsOf('recordPipelineOutcome');
  assert.equal(outcome.status, 'failed');
  assert.equal(outcome.reason, undefined);
  assert.equal((outcome.outcome as { error: string }).error, 'the registry is read-only');
  const status = await pipelineStatus(handle);
  assert.equal(status.status, 'failed');
  assert.equal(status.error, 'the registry is read-only');
  assert.equal(env.callsOf('registerCandidate').length, 1, 'non-retryable: one attempt');
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('cancelling a pipeline while it awaits approval ends it cancelled and records that', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec());
  await untilPipeline(handle, 'awaiting_approval');

  await handle.cancel();
  await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
  assert.equal((await handle.describe()).status.name, 'CANCELLED');
  assert.deepEqual(env.callsOf('recordPipelineOutcome').map((c) => c.status), ['cancelled']);
  const status = await pipelineStatus(handle);
  assert.equal(status.status, 'cancelled');
  assert.deepEqual(status.stages.map((x) => [x.name, x.status]).at(-1), ['approval', 'failed']);
  assert.equal(env.callsOf('recordDecision').length, 0);
  assert.equal(env.callsOf('promoteVersion').length, 0);
});

test('a pipeline cancelled while its start is being recorded still has its start recorded, before its cancellation', async (t) => {
  const recording = gate(t);
  const finishRecording = gate(t);
  const done: string[] = [];
  const env = await workflowEnv(t, {
    orchestration: {
      recordPipelineStart: async () => { recording.open(); await finishRecording.wait(); done.push('start'); },
      recordPipelineOutcome: async (input) => { done.push(input.status); },
    },
  });
  const handle = await env.startPipeline(pipelineSpec());
  await recording.wait();
  await handle.cancel();
  // the workflow has taken the cancellation in (a workflow task completed after it) while the start is still being recorded
  await until(async () => (await handle.fetchHistory()).events ?? [], (events) => {
    const asked = events.findIndex((e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    return asked >= 0 && events.slice(asked).some((e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  }, 'the cancellation to be taken in');
  finishRecording.open();

  await assert.rejects(handle.result(), (err) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
  assert.deepEqual(done, ['start', 'cancelled'], 'the run is recorded, then its end');
  assert.equal(env.callsOf('ingestDataset').length, 0, 'nothing after the cancellation');
});

test('canary null promotes straight after approval, even with a version in production', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: { getProductionModel: async (model) => production(model), registerCandidate: async () => ({ version: 2 }) },
  });
  const handle = await env.startPipeline(pipelineSpec({ canary: null }));
  await untilPipeline(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });

  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.equal(result.canary, null);
  assert.ok(!stageNames(result).includes('canary'));
  // no canary, but the promotion takes the model's slot, so promotions of a model happen one at a time
  assert.deepEqual(env.callsOf('claimCanarySlot'), [{ model: result.model, version: 2, workflowId: handle.workflowId }]);
  assert.equal(env.callsOf('setCanaryWeight').length, 0);
  assert.deepEqual(env.callsOf('promoteVersion').map((c) => c.version), [2]);
});

test('a canary with no version in production to compare with is skipped with a reason, and the version promoted', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startPipeline(pipelineSpec({ canary: { stepDuration: '1s' } }));
  await untilPipeline(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ by: people.approver }] });

  const result = await handle.result();
  assert.equal(result.status, 'completed');
  assert.deepEqual(result.canary, { skipped: 'no version in production to compare with: promoted directly' });
  assert.ok(!stageNames(result).includes('canary'));
  assert.equal(env.callsOf('claimCanarySlot').length, 1, 'the promotion takes the slot');
  assert.equal(env.callsOf('setCanaryWeight').length, 0);
  assert.equal(env.callsOf('analyseCanary').length, 0);
  assert.deepEqual(env.callsOf('promoteVersion').map((c) => c.actor), [personActor(people.approver)]);
});

