/**
 * Text from outside (a request, a dataset's column names and values) placed into Markdown that a
 * portal may render as HTML: shown as written, never as a tag, an entity, a link, emphasis or a
 * table break.
 */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
/** ASCII punctuation that Markdown (CommonMark and GFM tables) gives a meaning; each may be backslash-escaped */
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+!|~]/g;

/** inline text, on one line (a table cell, a list item): line breaks become spaces */
export function mdText(value: unknown): string {
  return mdLines(value).replace(/\r\n|\r|\n/g, ' ');
}

/** free text over several lines (an intended use): each line escaped, the breaks kept */
export function mdLines(value: unknown): string {
  return String(value).replace(/[&<>]/g, (ch) => HTML[ch]).replace(MARKDOWN_PUNCTUATION, (ch) => `\\${ch}`);
}

/**
 * an identifier the platform made (a hash, a run id) as a code span, shown exactly: its content is never parsed (no HTML, no link), and the
 * fence is one backtick longer than any run of backticks inside it. Not for table cells: GFM splits
 * cells on `|` even inside code.
 */
export function mdCode(value: unknown): string {
  const s = String(value).replace(/\r\n|\r|\n/g, ' ');
  const longestRun = (s.match(/`+/g) ?? []).reduce((most, run) => Math.max(most, run.length), 0);
  const fence = '`'.repeat(longestRun + 1);
  // CommonMark strips one space from each end when both have one
  const pad = s.startsWith('`') || s.endsWith('`') || (s.startsWith(' ') && s.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}
