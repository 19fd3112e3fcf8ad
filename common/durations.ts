/** Temporal-style durations ("90s", "10m", "72h", "2d", "500ms"), one syntax for the API, config and workflows. */
import { msToNumber, type Duration as TemporalDuration } from '@temporalio/common';

export const DURATION_PATTERN = /^\d+(\.\d+)?(ms|s|m|h|d)$/;
export const DURATION_MESSAGE = 'expected a duration such as "90s", "10m" or "72h"';

/** Milliseconds of a duration the contracts have validated. */
export function msOf(duration: string): number {
  return msToNumber(duration as TemporalDuration);
}
