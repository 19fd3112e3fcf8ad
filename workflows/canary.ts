/**
 * canaryRollout: an approved version meets live traffic in steps, judged on model metrics.
 *
 *   for each step (e.g. 10 %, 50 %): set the canary's weight -> hold -> analyse the step's window
 *     against production (error rate, p95 latency, prediction distribution, accuracy on feedback)
 *   all steps pass -> 100 % -> promoted (the pipeline promotes it)
 *   a step fails   -> weight 0 at once -> rolled back, the version rejected with the analysis
 *
 * Too little traffic holds a step longer, up to maxStepDuration, then follows onInsufficientTraffic
 * (promote goes on only if the checks it could make passed).
 * A person may abort (roll back now) or promote now, as Updates that say what they did.
 * Whatever else ends the rollout (a cancel, an activity out of retries, a bug) takes its traffic
 * away first, with retries that do not give up: no failure leaves traffic on an unjudged version.
 */
import {
  ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, setHandler, TemporalFailure, workflowInfo,
} from '@temporalio/workflow';
import { actorLabel, mayDecide, personActor, SystemActors, type Actor } from '../common/actors';
import { msOf } from '../common/durations';
import { ErrorTypes } from '../common/names';
import type { CanarySpec } from '../common/pipeline-request';
import type { CanaryAnalysis, CanaryStatus } from '../common/pipeline-status';
import type { ModelTask } from '../common/vocabulary';
import type { OrchestrationActivities } from '../activities';
import { compensating, deploying, waitingForCanarySlot } from './activity-options';
import { failureMessage } from './failures';
import { abortCanaryUpdate, canaryStatusQuery, promoteCanaryUpdate } from './canary-messages';
import type { DecisionInput } from './pipeline-messages';

export interface CanaryInput {
  pipelineId: string;
  model: string;
  version: number;
  task: ModelTask;
  spec: CanarySpec;
}

export async function canaryRollout(input: CanaryInput): Promise<CanaryStatus> {
  const { spec } = input;
  const deploy = proxyActivities<OrchestrationActivities>(deploying);
  const slot = proxyActivities<OrchestrationActivities>(waitingForCanarySlot);
  const safety = proxyActivities<OrchestrationActivities>(compensating);
  const { workflowId, runId } = workflowInfo();
  const status: CanaryStatus = {
    workflowId, model: input.model, version: input.version, mode: spec.mode, step: 0, steps: spec.steps,
    trafficPercent: 0, holding: false, waiting: false, analyses: [], outcome: null, reason: null, decidedBy: null, decider: null, comment: null,
  };
  let command: (DecisionInput & { kind: 'abort' | 'promote' }) | undefined;
  /** set once the rollout has begun to end: no order is taken after that */
  let ending = false;

  setHandler(canaryStatusQuery, () => status);
  const validate = (d: DecisionInput) => {
    if (status.outcome !== null || command || ending) {
      throw ApplicationFailure.nonRetryable(`The canary of ${input.model} v${input.version} has already ended (${status.outcome ?? 'ending'}).`, ErrorTypes.canaryNotRunning);
    }
    if (!mayDecide(d.by)) {
      throw ApplicationFailure.nonRetryable(`Role ${d.by.role} may not abort or promote a canary; approver is needed.`, ErrorTypes.roleTooLow);
    }
  };
  const validatePromote = (d: DecisionInput) => {
    validate(d);
    if (status.waiting) {
      throw ApplicationFailure.nonRetryable(`The canary of ${input.model} v${input.version} waits for another version's canary to end: it cannot be promoted before it has run.`, ErrorTypes.canaryNotRunning);
    }
  };
  const order = (kind: 'abort' | 'promote') => async (d: DecisionInput) => {
    command = { ...d, kind };
    await condition(() => status.outcome !== null);
    return status;
  };
  setHandler(abortCanaryUpdate, order('abort'), { validator: validate });
  setHandler(promoteCanaryUpdate, order('promote'), { validator: validatePromote });

  const who = (d: DecisionInput) => personActor(d.by);

  async function rollBack(reason: string, details: Record<string, unknown>, actor: Actor = SystemActors.canary): Promise<CanaryStatus> {
    ending = true;
    await safety.rollBackCanary({ pipelineId: input.pipelineId, runId, model: input.model, version: input.version, reason, actor, details });
    Object.assign(status, { trafficPercent: 0, holding: false, outcome: 'rolled_back', reason });
    return status;
  }

  async function promote(reason: string): Promise<CanaryStatus> {
    ending = true;
    if (spec.mode === 'split') {
      await deploy.setCanaryWeight({ pipelineId: input.pipelineId, model: input.model, version: input.version, weight: 100, mode: spec.mode, step: spec.steps.length + 1 });
      status.trafficPercent = 100;
    }
    Object.assign(status, { holding: false, outcome: 'promoted', reason });
    return status;
  }

  /** holds the step, analyses its window, and holds longer while traffic is short; undefined when a person intervened */
  async function runStep(): Promise<CanaryAnalysis | undefined> {
    const since = new Date().toISOString();
    const stepMs = msOf(spec.stepDuration);
    const limitMs = spec.maxStepDuration ? msOf(spec.maxStepDuration) : 3 * stepMs;
    for (let held = 0; ;) {
      if (await condition(() => command !== undefined, stepMs)) return undefined;
      held += stepMs;
      const analysis = await deploy.analyseCanary({
        model: input.model, version: input.version, task: input.task, since, until: new Date().toISOString(), thresholds: spec,
      });
      // too few requests say little either way (a distribution over five answers is noise): hold on
      if (analysis.sufficient || held >= limitMs) return analysis;
      status.holding = true;
    }
  }

  // another version's canary of this model goes first: wait for its end (retried, durably)
  /** true once this version holds the slot; false when a person aborted while it waited */
  async function claimSlot(): Promise<boolean> {
    status.waiting = true;
    const scope = new CancellationScope();
    const claim = scope.run(() => slot.claimCanarySlot({ model: input.model, version: input.version, workflowId }));
    const claimed = await Promise.race([claim.then(() => true), condition(() => command !== undefined).then(() => false)]);
    if (!claimed) {
      scope.cancel();
      await claim.catch(() => undefined);
      Object.assign(status, { decidedBy: actorLabel(who(command!)), decider: who(command!), comment: command!.comment ?? null });
    }
    status.waiting = false;
    return claimed;
  }

  try {
    if (!(await claimSlot())) return await rollBack('aborted', { step: 0, comment: command?.comment ?? null }, who(command!));
    for (const [i, weight] of spec.steps.entries()) {
      Object.assign(status, { step: i + 1, trafficPercent: weight, holding: false });
      await deploy.setCanaryWeight({ pipelineId: input.pipelineId, model: input.model, version: input.version, weight, mode: spec.mode, step: i + 1 });
      const analysis = await runStep();
      if (!analysis) break;
      status.analyses.push(analysis);
      if (!analysis.sufficient) {
        // held as long as allowed: the request's policy decides, but a failing check never goes on
        if (spec.onInsufficientTraffic === 'rollback' || !analysis.passed) return await rollBack('insufficient_traffic', { step: i + 1, weight, analysis });
        continue;
      }
      if (!analysis.passed) return await rollBack('analysis', { step: i + 1, weight, analysis });
    }
    if (command) {
      Object.assign(status, { decidedBy: actorLabel(who(command)), decider: who(command), comment: command.comment ?? null });
      if (command.kind === 'abort') return await rollBack('aborted', { step: status.step, comment: command.comment ?? null }, who(command));
      return await promote('promoted_now');
    }
    return await promote('passed');
  } catch (err) {
    if (status.outcome === null) {
      // cancelled, or failed for any reason: the canary takes no more traffic, whatever it takes
      const error = isCancellation(err) ? null : failureMessage(err);
      await CancellationScope.nonCancellable(() => rollBack(error === null ? 'cancelled' : 'error', error === null ? {} : { error }));
    }
    // a bug (not a Temporal failure) would fail the workflow task and be retried forever: fail the run instead
    if (!(err instanceof TemporalFailure)) throw ApplicationFailure.nonRetryable(failureMessage(err), 'UnexpectedError');
    throw err;
  }
}
