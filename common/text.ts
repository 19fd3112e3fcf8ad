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
