/**
 * Long-lived workflows (the monitor) continue as new when Temporal suggests it. `maxHistoryEvents` is a
 * knob that forces it earlier, so a test can prove that nothing is lost across the boundary without
 * running for months; in production it is left unset.
 */
import { workflowInfo } from '@temporalio/workflow';

export interface ContinueAsNewKnob {
  /** continue as new once the history has this many events (tests); unset: only when Temporal suggests it */
  maxHistoryEvents?: number;
}

export function continueAsNewDue(knob: ContinueAsNewKnob = {}): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || (knob.maxHistoryEvents !== undefined && info.historyLength >= knob.maxHistoryEvents);
}
