/**
 * canaryRollout, the real workflow code on a real Temporal server, with mocked activities: the
 * steps, the analysis verdicts, too little traffic, a person's abort and promote-now, the slot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { abortCanaryUpdate, promoteCanaryUpdate } from '../../workflows';
import { CanarySchema } from '../../common/pipeline-request';
import {
  canaryAnalysis, canaryStatus, gate, people, personActor, refusal, suffix, systemActor, until, untilCalled, workflowEnv, type CanaryStatus,
} from '../helpers/workflow-env';

const canarySpec = (settings: Record<string, unknown> = {}) => CanarySchema.parse({ stepDuration: '1s', ...settings });
const model = () => `wf-canary-${suffix()}`;
const weights = (calls: { weight: number }[]) => calls.map((c) => c.weight);
const untilStep = (handle: Parameters<typeof canaryStatus>[0], step: number) =>
  until(() => canaryStatus(handle), (s: CanaryStatus) => s.step === step, `canary step ${step}`);

test('every step passing: the weight goes through each step, then 100 %, and the canary is promoted', async (t) => {
  const env = await workflowEnv(t);
  const name = model();
  const handle = await env.startCanary({ model: name, spec: canarySpec({ steps: [10, 50] }) });

  const result = await handle.result();
  assert.equal(result.outcome, 'promoted');
  assert.equal(result.reason, 'passed');
  assert.equal(result.trafficPercent, 100);
  assert.equal(result.analyses.length, 2);
  assert.equal(result.decidedBy, null);
  assert.deepEqual(env.callsOf('claimCanarySlot'), [{ model: name, version: 2, workflowId: handle.workflowId }]);
  assert.deepEqual(env.callsOf('setCanaryWeight').map((c) => [c.weight, c.step, c.mode]), [[10, 1, 'split'], [50, 2, 'split'], [100, 3, 'split']]);
  assert.equal(env.callsOf('analyseCanary').length, 2);
  assert.equal(env.callsOf('rollBackCanary').length, 0);
});

test('a shadow canary that passes is promoted without ever answering 100 % of traffic', async (t) => {
  const env = await workflowEnv(t);
  const result = await (await env.startCanary({ model: model(), spec: canarySpec({ mode: 'shadow', steps: [25] }) })).result();

  assert.equal(result.outcome, 'promoted');
  assert.equal(result.mode, 'shadow');
  assert.deepEqual(env.callsOf('setCanaryWeight').map((c) => [c.weight, c.mode]), [[25, 'shadow']]);
});

test('a failing analysis rolls the canary back at once: the weight never reaches the next step', async (t) => {
  const failing = canaryAnalysis({ passed: false, failures: ['p95 latency ratio 2.1 is above 1.5'], latencyRatio: 2.1 });
  const env = await workflowEnv(t, { orchestration: { analyseCanary: async () => failing } });
  const result = await (await env.startCanary({ model: model(), spec: canarySpec({ steps: [10, 50] }) })).result();

  assert.equal(result.outcome, 'rolled_back');
  assert.equal(result.reason, 'analysis');
  assert.equal(result.trafficPercent, 0);
  assert.equal(result.step, 1);
  assert.deepEqual(result.analyses, [failing]);
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10]);
  const [rollBack] = env.callsOf('rollBackCanary');
  assert.equal(rollBack.reason, 'analysis');
  assert.deepEqual(rollBack.actor, systemActor('canary'));
  assert.deepEqual(rollBack.details, { step: 1, weight: 10, analysis: failing });
});

test("too little traffic with onInsufficientTraffic 'rollback' holds the step, then rolls back for insufficient_traffic", async (t) => {
  const thin = canaryAnalysis({ sufficient: false, notes: ['12 canary requests of the 100 needed'] });
  const env = await workflowEnv(t, { orchestration: { analyseCanary: async () => thin } });
  const handle = await env.startCanary({
    model: model(), spec: canarySpec({ steps: [10, 50], maxStepDuration: '2s', onInsufficientTraffic: 'rollback' }),
  });

  const result = await handle.result();
  assert.equal(result.outcome, 'rolled_back');
  assert.equal(result.reason, 'insufficient_traffic');
  assert.equal(result.holding, false);
  assert.equal(env.callsOf('analyseCanary').length, 2, 'analysed after 1 s, held, analysed again at maxStepDuration');
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10]);
  assert.deepEqual(env.callsOf('rollBackCanary').map((c) => c.reason), ['insufficient_traffic']);
});

test("too little traffic with onInsufficientTraffic 'promote' goes on when the checks it could make pass", async (t) => {
  const thin = canaryAnalysis({ sufficient: false });
  const env = await workflowEnv(t, { orchestration: { analyseCanary: async () => thin } });
  const result = await (await env.startCanary({
    model: model(), spec: canarySpec({ steps: [10, 50], maxStepDuration: '1s', onInsufficientTraffic: 'promote' }),
  })).result();

  assert.equal(result.outcome, 'promoted');
  assert.equal(result.reason, 'passed');
  assert.deepEqual(result.analyses, [thin, thin]);
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10, 50, 100]);
  assert.equal(env.callsOf('rollBackCanary').length, 0);
});

test("too little traffic with 'promote' still rolls back when a check it could make fails", async (t) => {
  const thinAndBad = canaryAnalysis({ sufficient: false, passed: false, failures: ['error rate 0.5 is 0.5 above production'] });
  const env = await workflowEnv(t, { orchestration: { analyseCanary: async () => thinAndBad } });
  const result = await (await env.startCanary({
    model: model(), spec: canarySpec({ steps: [10, 50], maxStepDuration: '1s', onInsufficientTraffic: 'promote' }),
  })).result();

  assert.equal(result.outcome, 'rolled_back');
  assert.equal(result.reason, 'insufficient_traffic');
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10]);
});

test('an approver aborts a running canary: rolled back as aborted, in their name', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10, 50], stepDuration: '1h' }) });
  await untilStep(handle, 1);

  const viewer = await refusal(handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.viewer }] }));
  assert.equal(viewer.type, 'RoleTooLow');
  const operator = await refusal(handle.executeUpdate(promoteCanaryUpdate, { args: [{ by: people.operator }] }));
  assert.equal(operator.type, 'RoleTooLow');
  assert.equal((await canaryStatus(handle)).outcome, null, 'refused: the canary runs on');

  const afterAbort = await handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.approver, comment: 'support tickets spiking' }] });
  assert.equal(afterAbort.outcome, 'rolled_back');
  assert.equal(afterAbort.reason, 'aborted');
  assert.equal(afterAbort.decidedBy, 'Ada (key-ada)');
  assert.equal(afterAbort.comment, 'support tickets spiking');
  assert.equal(afterAbort.trafficPercent, 0);

  const result = await handle.result();
  assert.deepEqual(result, afterAbort);
  assert.deepEqual(env.callsOf('rollBackCanary').map((c) => [c.reason, c.actor, c.details]),
    [['aborted', personActor(people.approver), { step: 1, comment: 'support tickets spiking' }]]);
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10]);
  assert.equal(env.callsOf('analyseCanary').length, 0, 'the step was cut short');
});

test('an approver promotes a running canary now: promoted as promoted_now at 100 %', async (t) => {
  const env = await workflowEnv(t);
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10, 50], stepDuration: '1h' }) });
  await untilStep(handle, 1);

  const afterPromote = await handle.executeUpdate(promoteCanaryUpdate, { args: [{ by: people.admin, comment: 'hotfix' }] });
  assert.equal(afterPromote.outcome, 'promoted');
  assert.equal(afterPromote.reason, 'promoted_now');
  assert.equal(afterPromote.decidedBy, 'Root (key-root)');
  assert.equal(afterPromote.trafficPercent, 100);
  await handle.result();
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10, 100]);
  assert.equal(env.callsOf('rollBackCanary').length, 0);
});

test('once a command has been given, or the canary has ended, another is refused', async (t) => {
  const rollBackStarted = gate(t);
  const finishRollBack = gate(t);
  const env = await workflowEnv(t, {
    orchestration: { rollBackCanary: async () => { rollBackStarted.open(); await finishRollBack.wait(); } },
  });
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10], stepDuration: '1h' }) });
  await untilStep(handle, 1);

  const abort = handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.approver }] });
  await rollBackStarted.wait(); // aborting: the rollback is under way, the outcome not yet set
  for (const update of [promoteCanaryUpdate, abortCanaryUpdate]) {
    const refused = await refusal(handle.executeUpdate(update, { args: [{ by: people.secondApprover }] }));
    assert.equal(refused.type, 'CanaryNotRunning');
    assert.match(refused.message, /has already ended \(ending\)/);
  }
  finishRollBack.open();
  assert.equal((await abort).reason, 'aborted');
  await handle.result();

  // after the end the workflow is closed: Temporal itself refuses the Update (the API answers 409 for it)
  await assert.rejects(handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.approver }] }), (err) => {
    assert.ok(err instanceof WorkflowNotFoundError);
    assert.equal(err.message, 'workflow execution already completed');
    return true;
  });
  assert.equal(env.callsOf('rollBackCanary').length, 1);
});

test('while another version holds the slot: promote-now is refused, and an abort rolls back before any traffic', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: {
      claimCanarySlot: async ({ model: m }) => { throw ApplicationFailure.retryable(`Version 7 of ${m} is in canary; v2 waits for it to end.`, 'CanarySlotTaken'); },
    },
  });
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10, 50] }) });
  await until(() => canaryStatus(handle), (s) => s.waiting, 'the canary to wait for the slot');
  await untilCalled(env, 'claimCanarySlot');

  const promote = await refusal(handle.executeUpdate(promoteCanaryUpdate, { args: [{ by: people.approver }] }));
  assert.equal(promote.type, 'CanaryNotRunning');
  assert.match(promote.message, /waits for another version's canary to end/);
  const viewer = await refusal(handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.viewer }] }));
  assert.equal(viewer.type, 'RoleTooLow');

  const afterAbort = await handle.executeUpdate(abortCanaryUpdate, { args: [{ by: people.approver, comment: 'not this week' }] });
  assert.equal(afterAbort.outcome, 'rolled_back');
  assert.equal(afterAbort.reason, 'aborted');
  assert.equal(afterAbort.waiting, false);
  assert.equal(afterAbort.step, 0);
  assert.equal(afterAbort.decidedBy, 'Ada (key-ada)');
  assert.equal(afterAbort.comment, 'not this week');
  await handle.result();
  assert.equal(env.callsOf('setCanaryWeight').length, 0, 'no traffic ever went to it');
  assert.equal(env.callsOf('analyseCanary').length, 0);
  assert.deepEqual(env.callsOf('rollBackCanary').map((c) => [c.reason, c.actor, c.details]),
    [['aborted', personActor(people.approver), { step: 0, comment: 'not this week' }]]);
});

test('the analysis failing for good takes the canary\'s traffic away, then fails the workflow with the error', async (t) => {
  const env = await workflowEnv(t, {
    orchestration: { analyseCanary: async () => { throw ApplicationFailure.nonRetryable('relation "predictions" does not exist', 'DatabaseError'); } },
  });
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10, 50] }) });

  await assert.rejects(handle.result(), (err) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure);
    assert.ok(err.cause.cause instanceof ApplicationFailure);
    assert.equal(err.cause.cause.type, 'DatabaseError');
    return true;
  });
  assert.equal(env.callsOf('analyseCanary').length, 1, 'non-retryable: one attempt');
  assert.deepEqual(weights(env.callsOf('setCanaryWeight')), [10]);
  const [rollback] = env.callsOf('rollBackCanary');
  assert.equal(rollback.reason, 'error');
  assert.match(String(rollback.details.error), /predictions/);
  const status = await canaryStatus(handle);
  assert.equal(status.outcome, 'rolled_back');
  assert.equal(status.trafficPercent, 0);
});

test('a rollback the database refuses for a while is retried until it is done', async (t) => {
  let refusals = 0;
  const env = await workflowEnv(t, {
    orchestration: {
      analyseCanary: async () => { throw ApplicationFailure.nonRetryable('the analysis broke', 'DatabaseError'); },
      rollBackCanary: async () => { if (refusals++ < 3) throw new Error('connection refused'); },
    },
  });
  const handle = await env.startCanary({ model: model(), spec: canarySpec({ steps: [10] }) });
  await assert.rejects(handle.result(), WorkflowFailedError);
  assert.equal(refusals, 4, 'three refusals, then the rollback');
  assert.equal((await canaryStatus(handle)).outcome, 'rolled_back');
});
