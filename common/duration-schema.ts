/** The one schema of a duration in a request (zod; kept out of common/durations.ts, which workflows import). */
import { z } from '@hono/zod-openapi';
import { DURATION_MESSAGE, DURATION_PATTERN, msOf } from './durations';

/** Bounds of every duration a request names: a timer past them is a mistake or an attack (M9). */
export const MIN_DURATION = '1s';
export const MAX_DURATION = '365d';
// zod runs a refinement even after the pattern failed: msOf would throw on what it was never meant to read (a 500)
export const Duration = z.string().max(24).regex(DURATION_PATTERN, DURATION_MESSAGE)
  .refine((d) => !DURATION_PATTERN.test(d) || (msOf(d) >= msOf(MIN_DURATION) && msOf(d) <= msOf(MAX_DURATION)), `a duration from ${MIN_DURATION} to ${MAX_DURATION}`)
  .openapi({ example: '72h' });
