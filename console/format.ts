/** Numbers, times and durations as a person reads them. */

/** 0.8734 -> "87.3 %"; a metric that is not a share (rmse, log_loss) keeps 3 significant digits */
export function metric(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const share = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'r2', 'balanced_accuracy'].includes(name) && value >= 0 && value <= 1;
  return share ? `${(value * 100).toFixed(1)} %` : Number(value.toPrecision(3)).toString();
}

/** 95_000 -> "1 min 35 s" */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(h / 24)} days`;
}

/** "3 min ago" / "in 2 h" */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = t - now;
  if (Math.abs(d) < 5000) return 'just now';
  return d < 0 ? `${duration(-d)} ago` : `in ${duration(d)}`;
}

export const between = (start: string | null | undefined, end: string | null | undefined, now = Date.now()) =>
  start ? (end ? Date.parse(end) : now) - Date.parse(start) : null;

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "alice, bob and carol" */
export function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
