/**
 * Versioned changes to the pipeline's code (Temporal's patching API). A pipeline that started before a
 * change replays its old path; new ones take the new path. Each patch retires in two steps:
 *   1. once no pipeline that started before the change can still be open (the longest approval
 *      timeout in use has passed since the release that added it, and `GET /v1/pipelines?status=running`
 *      lists none older), replace `patched(id)` with `deprecatePatch(id)` and keep only the new path;
 *   2. one release later, remove the `deprecatePatch` call and the replay fixtures recorded before it.
 */
export const Patches = {
  /** reuse an earlier run's model for the same data, parameters and code (release 0.1, issue 4); step 1 due */
  reuseTrainedModels: 'reuse-trained-models',
  /** the servability check before any traffic (release 0.1, issue 5) */
  servabilityCheck: 'servability-check',
  /** the canary rollout as a child workflow (release 0.1, issue 5) */
  canaryRollout: 'canary-rollout',
  /** every promotion takes the model's canary slot first, so promotions of a model happen one at a time, in order (release 0.2, issue 10) */
  promotionTakesSlot: 'promotion-takes-slot',
  /** the servability check also replays recent production requests (release 0.2, issue 10) */
  replayProductionRequests: 'replay-production-requests',
  /** a promotion starts the model's monitor, or re-targets it to the new version (release 0.3, issue 11) */
  monitorOnPromotion: 'monitor-on-promotion',
  /** N-of-M approvals, the approval request, reminders, escalation and approve-on-timeout (release 0.3, issue 12) */
  approvalPolicy: 'approval-policy',
  /** the servability check runs before the approval request, so approvers see its result and are never asked about a version that cannot serve; it also takes the check off the path from approval to traffic (release 0.4, issue 15) */
  servabilityBeforeApproval: 'servability-before-approval',
  /** the run's start is recorded even when it is cancelled at once, so no run lacks its row and its audit (release 0.4, issue 15) */
  startRecordedThroughCancel: 'start-recorded-through-cancel',
} as const;
