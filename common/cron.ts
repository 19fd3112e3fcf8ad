/**
 * The cron expressions a schedule accepts: the classic five fields (minute, hour, day of month, month,
 * day of week), in UTC. Checked here so that a bad one is a 400 naming what is wrong before Temporal
 * sees it; Temporal's own parser (a superset: seconds, years, @daily) still has the last word.
 */

interface CronField {
  name: string;
  min: number;
  max: number;
  /** names accepted for values (JAN..DEC, SUN..SAT), matched without regard to case */
  names?: readonly string[];
  /** the value the first name stands for */
  namesFrom?: number;
}

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], namesFrom: 1 },
  // 0 and 7 are both Sunday
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], namesFrom: 0 },
];

export const MAX_CRON_LENGTH = 120;
const MAX_LIST_ITEMS = 60;
export const CRON_FORMAT = 'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *" (03:00 UTC every day)';

function valueOf(text: string, field: CronField): number | null {
  if (/^\d{1,2}$/.test(text)) return Number(text);
  const i = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return i >= 0 ? i + (field.namesFrom ?? 0) : null;
}

/** What is wrong with one item of a field's comma-separated list ("*", "5", "1-5", "*\/15", "MON-FRI", "10-50/10"), or null. */
function itemProblem(item: string, field: CronField): string | null {
  const match = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item);
  if (!match) return `${field.name}: "${item}" is not a value, a range or a step`;
  const [, range, stepText] = match;
  if (stepText !== undefined && (Number(stepText) < 1 || Number(stepText) > field.max)) return `${field.name}: step ${stepText} is out of range`;
  if (range === '*') return null;
  const bounds = range.split('-');
  if (bounds.length > 2) return `${field.name}: "${item}" is not a value, a range or a step`;
  const values: number[] = [];
  for (const bound of bounds) {
    const v = valueOf(bound, field);
    if (v === null) return `${field.name}: "${bound}" is not a number${field.names ? ' or a name' : ''}`;
    if (v < field.min || v > field.max) return `${field.name}: ${v} is not in ${field.min}-${field.max}`;
    values.push(v);
  }
  if (values.length === 2 && values[0] > values[1]) return `${field.name}: the range ${range} runs backwards`;
  return null;
}

/** What is wrong with a cron expression, for a person; null when it is a valid five-field expression. */
export function cronProblem(expression: string): string | null {
  if (expression.length > MAX_CRON_LENGTH) return `at most ${MAX_CRON_LENGTH} characters`;
  const parts = expression.trim().split(/[ \t]+/);
  if (parts.length !== FIELDS.length || parts[0] === '') return `expected ${CRON_FORMAT}; got ${parts[0] === '' ? 0 : parts.length} field(s)`;
  for (const [i, part] of parts.entries()) {
    const field = FIELDS[i];
    if (!/^[A-Za-z0-9*,/-]+$/.test(part)) return `${field.name}: only digits, names, "*", ",", "-" and "/" are allowed`;
    const items = part.split(',');
    if (items.length > MAX_LIST_ITEMS) return `${field.name}: at most ${MAX_LIST_ITEMS} items`;
    for (const item of items) {
      const problem = itemProblem(item, field);
      if (problem) return problem;
    }
  }
  return null;
}

/** A valid expression in the one form Temporal is given and the API shows: single spaces, trimmed. */
export const normalizeCron = (expression: string) => expression.trim().split(/[ \t]+/).join(' ');
