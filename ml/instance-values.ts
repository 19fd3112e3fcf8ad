/**
 * What a prediction instance may carry, checked before any value reaches the model or the
 * prediction log: PostgreSQL refuses NUL and lone surrogates in jsonb (one such value once stalled
 * the whole log), `new Date()` accepts trailing garbage, and an answer that echoes what it was sent
 * can be made many times larger than the request.
 */
import { textProblem } from '../common/text';

export const INSTANCE_LIMITS = {
  /** characters in one categorical, text or date value */
  maxStringLength: 1_000,
  /** keys in one instance */
  maxFeatures: 1_000,
  /** errors described in a 422; the rest are only counted */
  maxErrors: 20,
} as const;

/** YYYY-MM-DD, optionally followed by a time and a zone: the shapes training read from the dataset */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time that names a real calendar day, or null. */
export function parseIsoDate(s: string): Date | null {
  const m = ISO_DATE.exec(s);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Why a string may not be a feature value, or null. */
export function stringValueProblem(s: string): string | null {
  if (s.length > INSTANCE_LIMITS.maxStringLength) return `is ${s.length} characters long (at most ${INSTANCE_LIMITS.maxStringLength})`;
  const problem = textProblem(s);
  return problem ? `${problem}` : null;
}

/** A value's type in words: messages describe what was sent, never repeat it. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'number') return Number.isFinite(v) ? 'a number' : 'a number that is not finite';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** The name itself when a message may repeat it (short and printable), otherwise null. */
export function printableName(name: string): string | null {
  return name.length <= 100 && !textProblem(name) && !name.includes('"') ? name : null;
}

/** A feature name as a message quotes it: printable names verbatim, anything else described. */
export function quoteName(name: string): string {
  return printableName(name) !== null ? `"${name}"` : `a feature name of ${name.length} characters`;
}
