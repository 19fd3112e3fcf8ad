/**
 * Ingest + profile of flights-3m.parquet (3 million rows) as one pipeline stage, beside DuckDB's own
 * SUMMARIZE of the same file, each in a fresh process so peak RSS is its own.
 * Run by `npm run bench`; `npm run bench:ingest` alone.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { isSkipped, peer, printTable, saveResults, type Skipped } from './report';

const root = path.resolve(import.meta.dirname, '..');
const FLIGHTS = path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function child(mode: 'ingest' | 'summarize') {
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(import.meta.dirname, 'ingest-flights-child.ts'), mode, FLIGHTS],
    { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`${mode} failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; maxRssMb: number; rows: number; database?: string };
}
type Run = ReturnType<typeof child>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { ingest: [] as Run[], summarize: [] as Run[] };
// the peer (DuckDB's SUMMARIZE alone): if it cannot run, it is reported skipped and the ingest still measured
let peerSkipped: Skipped | undefined;
for (let i = 0; i < RUNS; i++) {
  if (!peerSkipped) {
    const s = await peer('DuckDB SUMMARIZE peer', () => child('summarize'));
    if (isSkipped(s)) peerSkipped = s;
    else results.summarize.push(s);
  }
  results.ingest.push(child('ingest'));
}
const figure = (runs: Run[]) => ({ seconds: median(runs.map((r) => r.seconds)), peakRssMb: median(runs.map((r) => r.maxRssMb)) });
const s = peerSkipped ?? figure(results.summarize);
const g = figure(results.ingest);
const database = results.ingest[0].database;
const notes = [];
if (database === 'pglite') notes.push('The embedded PGlite alone holds about 700 MB; set DATABASE_URL to measure the production worker layout.');
if (!isSkipped(s)) notes.push(`ratio ${(g.seconds / s.seconds).toFixed(2)}x (target <= 2x); peak RSS target < 500 MB`);
else notes.push('peak RSS target < 500 MB');
const table = printTable(`Ingest at scale: flights-3m.parquet (${results.ingest[0].rows.toLocaleString('en')} rows), median of ${RUNS}, each in a fresh process`,
  ['what', 'seconds', 'peak RSS MB'], [
    isSkipped(s) ? ['DuckDB SUMMARIZE of the file alone (the peer)', s] : ['DuckDB SUMMARIZE of the file alone (the peer)', s.seconds.toFixed(2), s.peakRssMb.toFixed(0)],
    [`Perennial ingest stage: hash, store, profile, register (${database})`, g.seconds.toFixed(2), g.peakRssMb.toFixed(0)],
  ], notes);
saveResults('ingest-flights', {
  runs: RUNS, rows: results.ingest[0].rows, database,
  results: { summarize: isSkipped(s) ? s : { ...s, runs: results.summarize }, ingest: { ...g, runs: results.ingest }, ratio: isSkipped(s) ? null : g.seconds / s.seconds },
  tables: [table],
});
