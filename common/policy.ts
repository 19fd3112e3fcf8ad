/**
 * A model's policy: what every pipeline of the model must meet, set by an approver. It holds the
 * governance gate out of reach of the people it governs: a pipeline request may tighten it, and is
 * refused (403, naming the field) where it would loosen it. Pure: the API applies it before a start.
 */
import { z } from '@hono/zod-openapi';
import { ApprovalTermsSchema, CanarySchema, Duration, type PipelineRequest, type PipelineSpec } from './pipeline-request';
import { msOf } from './durations';

const CanaryFloors = z.object({
  required: z.boolean().default(true).openapi({ description: 'every pipeline rolls out through a canary (a request with canary: null is refused)' }),
  minStepDuration: Duration.optional(),
  minRequests: z.number().int().min(0).max(1_000_000).optional(),
  maxErrorRateIncrease: z.number().min(0).max(1).optional(),
  maxLatencyRatio: z.number().min(1).max(1000).optional(),
  maxPredictionDistance: z.number().min(0).max(1).optional(),
  minLabels: z.number().int().min(1).max(1_000_000).optional(),
  maxAccuracyDrop: z.number().min(0).max(1).optional(),
  onInsufficientTraffic: z.enum(['rollback', 'promote']).optional()
    .openapi({ description: 'rollback: a request may not ask that a canary without enough traffic be promoted' }),
}).strict();

export const ModelPolicySchema = z.object({
  approval: ApprovalTermsSchema,
  gates: z.object({
    minMetrics: z.record(z.string().max(64), z.number()).default({}),
    maxMetrics: z.record(z.string().max(64), z.number()).default({}),
    mustBeatProduction: z.boolean().default(false),
    maxFairnessGap: z.number().min(0).max(1).nullable().default(null),
  }).strict().prefault({}),
  canary: CanaryFloors.nullable().default(null).openapi({ description: 'floors for every canary; null: no canary required' }),
}).strict().openapi('ModelPolicy');
export type ModelPolicy = z.output<typeof ModelPolicySchema>;
export type ModelPolicyInput = z.input<typeof ModelPolicySchema>;

/** A model without a stored policy: approval required, one approval, 72h, rejected on timeout. */
export const DEFAULT_POLICY: ModelPolicy = ModelPolicySchema.parse({});

export interface PolicyRefusal {
  /** the request field that would loosen the policy, e.g. "gates.minMetrics.accuracy" */
  field: string;
  message: string;
}

/**
 * The spec a pipeline runs under the policy: what the request left out takes the policy's value,
 * what it tightened stays, and each field it set looser is a refusal. `raw` is the request as sent
 * (before defaults), so that only what the caller asked for can be refused.
 */
export function applyPolicy(raw: PipelineRequest, spec: PipelineSpec, policy: ModelPolicy): { spec: PipelineSpec; refusals: PolicyRefusal[] } {
  const refusals: PolicyRefusal[] = [];
  const refuse = (field: string, message: string) => refusals.push({ field, message });
  const out: PipelineSpec = structuredClone(spec);

  // approval
  if (policy.approval.required) {
    if (raw.approval?.required === false) refuse('approval.required', "the model's policy requires an approver's decision");
    out.approval.required = true;
  }
  if (msOf(spec.approval.timeout) > msOf(policy.approval.timeout)) {
    if (raw.approval?.timeout !== undefined) refuse('approval.timeout', `the model's policy allows at most ${policy.approval.timeout} for a decision`);
    out.approval.timeout = policy.approval.timeout;
  }
  tightenApproval(out.approval, raw.approval, policy.approval, refuse);

  // gates: a higher minimum, a lower maximum, and a requirement once set stay
  for (const [metric, floor] of Object.entries(policy.gates.minMetrics)) {
    const asked = raw.gates?.minMetrics?.[metric];
    if (asked !== undefined && asked < floor) refuse(`gates.minMetrics.${metric}`, `the model's policy needs ${metric} of at least ${floor}`);
    out.gates.minMetrics[metric] = Math.max(floor, asked ?? floor);
  }
  for (const [metric, ceiling] of Object.entries(policy.gates.maxMetrics)) {
    const asked = raw.gates?.maxMetrics?.[metric];
    if (asked !== undefined && asked > ceiling) refuse(`gates.maxMetrics.${metric}`, `the model's policy needs ${metric} of at most ${ceiling}`);
    out.gates.maxMetrics[metric] = Math.min(ceiling, asked ?? ceiling);
  }
  if (policy.gates.mustBeatProduction) {
    if (raw.gates?.mustBeatProduction === false) refuse('gates.mustBeatProduction', "the model's policy requires beating production");
    if (raw.gates?.tolerance !== undefined && raw.gates.tolerance > 0) refuse('gates.tolerance', "the model's policy requires beating production without tolerance");
    out.gates.mustBeatProduction = true;
    out.gates.tolerance = 0;
  }
  if (policy.gates.maxFairnessGap !== null) {
    const asked = raw.gates?.maxFairnessGap;
    if (asked === null || (asked !== undefined && asked > policy.gates.maxFairnessGap)) {
      refuse('gates.maxFairnessGap', `the model's policy allows a fairness gap of at most ${policy.gates.maxFairnessGap}`);
    }
    out.gates.maxFairnessGap = Math.min(policy.gates.maxFairnessGap, asked ?? policy.gates.maxFairnessGap);
  }

  // canary floors
  const floors = policy.canary;
  if (floors) {
    if (floors.required && raw.canary === null) refuse('canary', "the model's policy requires a canary rollout");
    if (floors.required || out.canary) out.canary = tightenCanary(out.canary ?? CanarySchema.parse({}), raw.canary ?? undefined, floors, refuse);
  }
  return { spec: out, refusals };
}

type Approval = PipelineSpec['approval'];

/** more approvals, fewer approvers, earlier reminders and escalations are tighter; approve-on-timeout only where the policy allows it */
function tightenApproval(out: Approval, raw: PipelineRequest['approval'], policy: Approval, refuse: (f: string, m: string) => void) {
  if (raw?.approvals !== undefined && raw.approvals < policy.approvals) refuse('approval.approvals', `the model's policy needs ${policy.approvals} approvals`);
  out.approvals = Math.max(out.approvals, policy.approvals);

  if (policy.approvers) {
    const outside = (raw?.approvers ?? []).filter((a) => !policy.approvers!.includes(a));
    if (outside.length) refuse('approval.approvers', `the model's policy lets only ${policy.approvers.join(', ')} decide, not ${outside.join(', ')}`);
    out.approvers = raw?.approvers && !outside.length ? raw.approvers : policy.approvers;
  }

  if (raw?.onTimeout === 'approve' && policy.onTimeout !== 'approve') refuse('approval.onTimeout', "the model's policy does not let a timeout approve");
  out.onTimeout = raw?.onTimeout === undefined ? policy.onTimeout : (policy.onTimeout === 'approve' ? raw.onTimeout : 'reject');

  for (const key of ['remindAfter', 'escalateAfter'] as const) {
    const floor = policy[key];
    if (!floor) continue;
    const asked = raw?.[key];
    if (asked && msOf(asked) > msOf(floor)) refuse(`approval.${key}`, `the model's policy sets ${key} to at most ${floor}`);
    out[key] = asked && msOf(asked) < msOf(floor) ? asked : floor;
  }
}

type Canary = NonNullable<PipelineSpec['canary']>;
type CanaryRaw = z.input<typeof CanarySchema>;

function tightenCanary(c: Canary, raw: CanaryRaw | undefined, floors: z.output<typeof CanaryFloors>, refuse: (f: string, m: string) => void): Canary {
  const out = { ...c };
  const atLeast = <K extends 'minRequests' | 'minLabels'>(key: K) => {
    const floor = floors[key];
    if (floor === undefined) return;
    if (raw?.[key] !== undefined && raw[key]! < floor) refuse(`canary.${key}`, `the model's policy needs ${key} of at least ${floor}`);
    out[key] = Math.max(out[key], floor);
  };
  const atMost = <K extends 'maxErrorRateIncrease' | 'maxLatencyRatio' | 'maxPredictionDistance' | 'maxAccuracyDrop'>(key: K) => {
    const ceiling = floors[key];
    if (ceiling === undefined) return;
    if (raw?.[key] !== undefined && raw[key]! > ceiling) refuse(`canary.${key}`, `the model's policy allows ${key} of at most ${ceiling}`);
    out[key] = Math.min(out[key], ceiling);
  };
  atLeast('minRequests');
  atLeast('minLabels');
  atMost('maxErrorRateIncrease');
  atMost('maxLatencyRatio');
  atMost('maxPredictionDistance');
  atMost('maxAccuracyDrop');
  if (floors.minStepDuration && msOf(out.stepDuration) < msOf(floors.minStepDuration)) {
    if (raw?.stepDuration !== undefined) refuse('canary.stepDuration', `the model's policy needs steps of at least ${floors.minStepDuration}`);
    out.stepDuration = floors.minStepDuration;
  }
  if (floors.onInsufficientTraffic === 'rollback' && out.onInsufficientTraffic === 'promote') {
    if (raw?.onInsufficientTraffic === 'promote') refuse('canary.onInsufficientTraffic', "the model's policy rolls back a canary without enough traffic");
    out.onInsufficientTraffic = 'rollback';
  }
  return out;
}
