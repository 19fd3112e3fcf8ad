import { sql } from 'drizzle-orm';
import { openDatabase } from '../db/client';
import { predictions } from '../db/schema';
const url = process.argv[2];
const database = await openDatabase(url ? { url } : { pgliteDir: 'memory://' });
await database.migrate();
const row = (i: number) => ({ id: `p-${Math.random()}-${i}`, modelName: 'weather', version: 1, role: 'production' as const, shadowOf: null, entityKey: null,
  features: { precipitation: 0, temp_max: 24.4, temp_min: 13.9, wind: 3.1 }, output: { label: 'sun', probabilities: { drizzle: 0.01, fog: 0.02, rain: 0.1, snow: 0.01, sun: 0.86 } },
  label: 'sun', value: null, error: null, latencyMs: 0.1, createdAt: new Date() });
const N = 20000;
let t0 = performance.now();
for (let b = 0; b < N; b += 1000) await database.db.insert(predictions).values(Array.from({ length: 1000 }, (_, i) => row(b + i)));
console.log(url ? 'pg' : 'pglite', 'drizzle values', (N / ((performance.now() - t0) / 1000)).toFixed(0), 'rows/s');
t0 = performance.now();
for (let b = 0; b < N; b += 1000) {
  const rows = Array.from({ length: 1000 }, (_, i) => row(b + i));
  await database.db.execute(sql`insert into predictions (id, model_name, version, role, shadow_of, entity_key, features, output, label, value, error, latency_ms, created_at)
    select id, model_name, version, role, shadow_of, entity_key, features, output, label, value, error, latency_ms, created_at
    from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ id: r.id, model_name: r.modelName, version: r.version, role: r.role, shadow_of: r.shadowOf, entity_key: r.entityKey, features: r.features, output: r.output, label: r.label, value: r.value, error: r.error, latency_ms: r.latencyMs, created_at: r.createdAt })))}::jsonb)
    as x(id text, model_name text, version int, role text, shadow_of text, entity_key text, features jsonb, output jsonb, label text, value float8, error text, latency_ms float8, created_at timestamptz)
    on conflict do nothing`);
}
console.log(url ? 'pg' : 'pglite', 'jsonb_to_recordset', (N / ((performance.now() - t0) / 1000)).toFixed(0), 'rows/s');
await database.close();
