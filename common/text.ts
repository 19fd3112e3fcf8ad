/**
 * Text a person or a file sends: every string the platform stores, logs or shows passes these
 * checks, because PostgreSQL refuses NUL and lone surrogates in jsonb and text (one such value once
 * stalled a whole batch), and control characters forge log lines.
 */
import { z } from '@hono/zod-openapi';

/** a C0 control character other than tab, newline and carriage return, or DEL */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function textProblem(s: string, opts: { multiline?: boolean } = {}): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (!s.isWellFormed()) return 'contains a lone surrogate (not valid Unicode)';
  if (CONTROL.test(s)) return 'contains a control character';
  if (!opts.multiline && /[\r\n]/.test(s)) return 'contains a line break';
  return null;
}

/** one line of text: a name, a label, a column */
export const SafeText = z.string().superRefine((s, ctx) => {
  const problem = textProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** free text over several lines: a comment, an intended use */
export const SafeMultilineText = z.string().superRefine((s, ctx) => {
  const problem = textProblem(s, { multiline: true });
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** the refinement SafeText applies, for a schema that is not a plain string (a path parameter) */
export function refineSafeText(value: unknown, ctx: { addIssue(issue: { code: 'custom'; message: string }): void }) {
  const problem = typeof value === 'string' ? textProblem(value) : null;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

/**
 * Request text made fit for one log line: control characters (line breaks included, C1 and the
 * Unicode line separators too) shown as escapes, lone surrogates replaced, and cut at `max`.
 */
export function forLog(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
  return cut.toWellFormed().replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
