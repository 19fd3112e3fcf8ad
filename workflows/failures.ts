/** What a person should read when a workflow fails: the innermost cause's message, not "Activity task failed". */
import { ActivityFailure, ChildWorkflowFailure } from '@temporalio/workflow';

export function failureMessage(err: unknown): string {
  let cause = err;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}
