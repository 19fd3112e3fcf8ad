/**
 * Ingest + profile of flights-3m.parquet (3 million rows) as one pipeline stage, beside DuckDB's own
 * SUMMARIZE of the same file, each in a fresh process so peak RSS is its own.
 * Run by `npm run bench`; `tsx bench/ingest-flights.ts` alone.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const FLIGHTS = path.join(root, 'node_modules/vega-datasets/data/flights-3m.parquet');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function child(mode: 'ingest' | 'summarize') {
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(import.meta.dirname, 'ingest-flights-child.ts'), mode, FLIGHTS],
    { encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; maxRssMb: number; rows: number; database?: string };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { ingest: [] as ReturnType<typeof child>[], summarize: [] as ReturnType<typeof child>[] };
for (let i = 0; i < RUNS; i++) {
  results.summarize.push(child('summarize'));
  results.ingest.push(child('ingest'));
}
const s = { t: median(results.summarize.map((r) => r.seconds)), rss: median(results.summarize.map((r) => r.maxRssMb)) };
const g = { t: median(results.ingest.map((r) => r.seconds)), rss: median(results.ingest.map((r) => r.maxRssMb)) };
console.log(`\nflights-3m.parquet (${results.ingest[0].rows.toLocaleString('en')} rows), median of ${RUNS}, each in a fresh process\n`);
console.log(`${'DuckDB SUMMARIZE alone (the peer)'.padEnd(58)} ${s.t.toFixed(2).padStart(6)} s   peak RSS ${s.rss.toFixed(0)} MB`);
console.log(`${`Perennial ingest stage: hash, store, profile, register (${results.ingest[0].database})`.padEnd(58)} ${g.t.toFixed(2).padStart(6)} s   peak RSS ${g.rss.toFixed(0)} MB`);
if (results.ingest[0].database === 'pglite') console.log('(the embedded PGlite alone holds about 700 MB; set DATABASE_URL to measure the production worker layout)');
console.log(`ratio ${(g.t / s.t).toFixed(2)}x (target <= 2x); peak RSS target < 500 MB`);
