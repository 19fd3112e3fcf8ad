/**
 * How every bench reports: one table per area, headed by the area's title, the machine (cores, CPU
 * model, memory, Node, OS and kernel) and the date, printed to stdout as an aligned Markdown table
 * (so it can be pasted into README's Performance section as it is), and the same figures saved to
 * bench/results/<area>.json (pretty, keys in a stable order, the previous run of that area
 * overwritten). The JSON files are committed: they are the latest run.
 *
 * A peer (scikit-learn, Evidently, DuckDB alone, ...) that cannot be installed or run does not stop a
 * bench: `peer()` turns its failure into `{ skipped: reason }`, which prints as a `skipped: <reason>`
 * cell (spanning the rest of its row) and is saved as `{ "skipped": "<reason>" }`.
 * BENCH_SKIP_PEERS=1 skips every peer (a quick run of Perennial's side alone); BENCH_RESULTS_DIR=<dir>
 * saves a trial run there instead of over the committed figures.
 *
 * `tsx bench/report.ts` (`npm run bench:report`) prints every saved area's tables again, with its
 * machine, date and command, as Markdown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
/** BENCH_RESULTS_DIR=<dir> saves elsewhere (a trial run that should not replace the committed figures) */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(import.meta.dirname, 'results');

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  os: string;
  kernel: string;
  arch: string;
  /** 1-minute load average when read: the machine may be shared */
  loadAverage: number;
  date: string;
}

/** the machine a figure was measured on, and now (ISO-8601, UTC) */
export function machine(): Machine {
  let distro = os.type();
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro;
  } catch { /* not Linux, or no os-release */ }
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: distro,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
    date: new Date().toISOString(),
  };
}

/** one line: "2 cores, AMD EPYC 9B14, 7.8 GiB, Node v20.20.2, Debian GNU/Linux 12 (Linux 6.1.0 x64), load 3.1; 2026-11-24T00:20:11Z" */
export function describeMachine(m: Machine): string {
  return `${m.cores} cores, ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os} (${m.kernel} ${m.arch}), load ${m.loadAverage.toFixed(1)}; ${m.date.replace(/\.\d+Z$/, 'Z')}`;
}

/** a peer, or a figure, that was not measured, and why */
export interface Skipped { skipped: string }
export const skipped = (reason: string): Skipped => ({ skipped: reason });
export const isSkipped = (x: unknown): x is Skipped =>
  typeof x === 'object' && x !== null && typeof (x as Skipped).skipped === 'string' && Object.keys(x).length === 1;

/** why an error happened, in one line fit for a table cell (the full error goes to stderr) */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // a child's stderr ends with the exception: its last line says the most
  const line = lines.length > 1 && /failed|exited/.test(lines[0]) ? `${lines[0].replace(/:$/, '')}: ${lines[lines.length - 1]}` : (lines[0] ?? 'unknown error');
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * Runs a peer. Its result, or `{ skipped: reason }` when it cannot be installed or fails: a peer
 * never stops a bench. The whole error goes to stderr. BENCH_SKIP_PEERS=1: skipped without running.
 */
export async function peer<T>(name: string, run: () => T | Promise<T>): Promise<T | Skipped> {
  if (process.env.BENCH_SKIP_PEERS === '1') return skipped('BENCH_SKIP_PEERS=1');
  try {
    return await run();
  } catch (err) {
    console.error(`${name}: skipped: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return skipped(reasonOf(err));
  }
}

export type Cell = string | number | null | undefined | Skipped;
export type Column = string | { name: string; align: 'left' | 'right' };
export interface Table {
  title: string;
  columns: string[];
  align: ('left' | 'right')[];
  /** as printed; a skipped cell stays `{ skipped }` */
  rows: (string | Skipped)[][];
  notes: string[];
}

const cellText = (c: string | Skipped) => (isSkipped(c) ? `skipped: ${c.skipped}` : c).replace(/\|/g, '\\|');

/**
 * Prints `title` with the machine and the date, then an aligned Markdown table, then the notes.
 * Columns are right-aligned but the first (give `{ name, align }` to choose). A skipped cell reads
 * `skipped: <reason>` and ends its row (the cells after it are left out: Markdown fills them empty).
 * Returns the table as printed, for saveResults.
 */
export function printTable(title: string, columns: Column[], rows: Cell[][], notes: string[] = []): Table {
  const names = columns.map((c) => (typeof c === 'string' ? c : c.name));
  const align = columns.map((c, i): 'left' | 'right' => (typeof c === 'string' ? (i === 0 ? 'left' : 'right') : c.align));
  const table: Table = {
    title,
    columns: names,
    align,
    rows: rows.map((r) => {
      const cut = r.findIndex(isSkipped);
      const kept = cut < 0 ? r : r.slice(0, cut + 1);
      return kept.map((c) => (isSkipped(c) ? c : c === null || c === undefined || c === '' ? '' : String(c)));
    }),
    notes,
  };
  // widths: a skipped cell spans the rest of its row, so it widens no column
  const widths = names.map((n, i) => Math.max(3, n.length, ...table.rows.map((r) => (r[i] === undefined || isSkipped(r[i]) ? 0 : cellText(r[i]).length))));
  const pad = (text: string, i: number) => (align[i] === 'left' ? text.padEnd(widths[i]) : text.padStart(widths[i]));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [
    '',
    `### ${title}`,
    `_${describeMachine(machine())}_`,
    '',
    line(names.map(pad)),
    `|${widths.map((w, i) => (align[i] === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...table.rows.map((r) => line(r.map((c, i) => (isSkipped(c) ? cellText(c) : pad(cellText(c), i))))),
  ];
  if (notes.length) out.push('', ...notes);
  console.log(out.join('\n'));
  return table;
}

/** objects with their keys sorted (arrays keep their order), non-integers to 6 significant digits */
function stable(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stable);
  if (typeof x === 'number') return Number.isInteger(x) || !Number.isFinite(x) ? x : Number(x.toPrecision(6));
  if (x instanceof Date) return x.toISOString();
  if (x && typeof x === 'object') {
    return Object.fromEntries(Object.keys(x).sort().filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, stable((x as Record<string, unknown>)[k])]));
  }
  return x;
}

/** JSON.stringify with 2 spaces, but `{ "skipped": ... }` and an array of strings, numbers and skips (a table row) on one line */
function pretty(x: unknown): string {
  const str = String.raw`"(?:[^"\\\n]|\\.)*"`;
  const item = String.raw`(?:${str}|-?\d[\d.eE+-]*|true|false|null|\{ "skipped": ${str} \})`;
  return JSON.stringify(x, null, 2)
    .replace(new RegExp(String.raw`\{\n\s*"skipped": (${str})\n\s*\}`, 'g'), '{ "skipped": $1 }')
    .replace(new RegExp(String.raw`\[\n\s*(${item}(?:,\n\s*${item})*)\n\s*\]`, 'g'), (_m, items: string) => `[${items.split(/,\n\s*/).join(', ')}]`);
}

/** the settings this run was given, as a command line: `BENCH_SECONDS=2 npm run bench:training` */
export function commandLine(): string {
  const script = path.relative(root, process.argv[1] ?? '').split(path.sep).join('/');
  let command = `tsx ${script}`;
  try {
    const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    const name = Object.keys(scripts).find((k) => scripts[k] === `tsx ${script}`);
    if (name) command = `npm run ${name}`;
  } catch { /* no package.json: the tsx form */ }
  const settings = Object.keys(process.env).filter((k) => (/^(BENCH_|DRIFT_BENCH_)/.test(k) || k === 'DATABASE_URL') && k !== 'BENCH_RESULTS_DIR').sort()
    .map((k) => `${k}=${/^\w+:\/\//.test(process.env[k]!) ? `${process.env[k]!.split(':')[0]}://...` : process.env[k]}`);
  return [...settings, command].join(' ');
}

/**
 * Writes bench/results/<area>.json: `{ area, date, command, machine, ...data }`, pretty, every key
 * sorted, replacing the previous run of that area. Returns its path.
 */
export function saveResults(area: string, data: Record<string, unknown>): string {
  const m = machine();
  const file = path.join(RESULTS_DIR, `${area}.json`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const body = { area, date: m.date, command: commandLine(), machine: stable(m), ...(stable(data) as object) };
  fs.writeFileSync(file, `${pretty(body)}\n`);
  const shown = path.relative(process.cwd(), file);
  console.log(`\nresults: ${shown.startsWith('..') ? file : shown}`);
  return file;
}

/** every saved area's tables, as Markdown: what README's Performance section shows */
function printSaved() {
  const files = fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort() : [];
  if (!files.length) console.log('no results yet: run npm run bench (or one npm run bench:<area>)');
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, f), 'utf8'));
    console.log(`\n## ${r.area}: \`${r.command}\`\n_${describeMachine(r.machine)}_`);
    for (const t of (r.tables ?? []) as Table[]) {
      console.log(`\n${t.title}\n\n| ${t.columns.join(' | ')} |\n|${t.columns.map((_, i) => ((t.align?.[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? ':---' : '---:')).join('|')}|`);
      for (const row of t.rows) console.log(`| ${row.map(cellText).join(' | ')} |`);
      if (t.notes.length) console.log(`\n${t.notes.join('\n')}`);
    }
    if (r.skipped) console.log(`\nskipped: ${r.skipped}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printSaved();
