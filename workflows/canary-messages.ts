/** What a canary rollout answers: where it stands, and a person's abort or promote-now. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CanaryStatus } from '../common/pipeline-status';
import type { DecisionInput } from './pipeline-messages';

export const canaryStatusQuery = defineQuery<CanaryStatus>('canaryStatus');
export const abortCanaryUpdate = defineUpdate<CanaryStatus, [DecisionInput]>('abort');
export const promoteCanaryUpdate = defineUpdate<CanaryStatus, [DecisionInput]>('promoteNow');
