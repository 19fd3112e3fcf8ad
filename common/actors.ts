/**
 * Who may do what, and who did it. Roles are ordered: each can do what the lower ones can. An actor
 * is what the audit log records: a person (an API key's holder) or a part of the system.
 */
import type { Principal } from './domain';
import { roles, type ActorKind, type Role } from './vocabulary';

export const roleRank = Object.fromEntries(roles.map((r, i) => [r, i])) as Record<Role, number>;
export const hasRole = (who: { role: Role }, needed: Role) => roleRank[who.role] >= roleRank[needed];

/** approving or rejecting a candidate, aborting or promoting a canary, rolling back */
export const DECIDER_ROLE: Role = 'approver';
export const mayDecide = (who: { role: Role }) => hasRole(who, DECIDER_ROLE);

/** An approvers entry that names a group rather than an owner: `group:<name>` (groups are set on API keys by an admin). */
export const APPROVER_GROUP_PREFIX = 'group:';

/** whether this principal may decide under these approvers: anyone (null), their owner by name, or one of their groups */
export function isListedApprover(approvers: readonly string[] | null | undefined, who: { owner?: string | null; groups?: readonly string[] }): boolean {
  if (!approvers) return true;
  return approvers.some((a) => a.startsWith(APPROVER_GROUP_PREFIX)
    ? (who.groups ?? []).includes(a.slice(APPROVER_GROUP_PREFIX.length))
    : a === who.owner);
}


export interface Actor {
  kind: ActorKind;
  /** the API key's id, or the system part's name */
  id: string;
  name: string;
}

export const personActor = (p: Principal): Actor => ({ kind: 'person', id: p.keyId, name: p.name });

/** a part of the system as an actor: `system:<id>` */
export const systemActor = (id: string): Actor => ({ kind: 'system', id, name: `system:${id}` });
const system = systemActor;
export const SystemActors = {
  /** the pipeline workflow: a rejected candidate */
  pipeline: system('pipeline'),
  canary: system('canary'),
  /** frees a canary slot that no running workflow holds */
  canaryReconciler: system('canary-reconciler'),
  approvalTimeout: system('approval-timeout'),
  /** asks for a decision, reminds and escalates */
  approvalDesk: system('approval-desk'),
  /** promotion of a pipeline whose request needed no approval */
  autoApproval: system('auto-approval'),
  /** a model's monitor: drift, a performance drop or new data started a retraining */
  monitor: system('monitor'),
} as const;

/** "alice (key_0123)" or "system:canary": how a status document names who did something */
export const actorLabel = (a: Actor) => (a.kind === 'system' ? a.name : `${a.name} (${a.id})`);
