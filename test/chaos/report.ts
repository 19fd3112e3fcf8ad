/** What every chaos scenario prints (its figures, one JSON line) and how it waits for many pipelines. */
import fs from 'node:fs';
import path from 'node:path';
import type { TestPlatform } from '../helpers/platform';

/** prints the scenario's figures, and appends them to CHAOS_REPORT (a JSON-lines file) when set */
export function report(scenario: string, figures: Record<string, unknown>) {
  const line = JSON.stringify({ scenario, ...figures, at: new Date().toISOString() });
  console.log(`chaos: ${line}`);
  if (process.env.CHAOS_REPORT) {
    fs.mkdirSync(path.dirname(process.env.CHAOS_REPORT), { recursive: true });
    fs.appendFileSync(process.env.CHAOS_REPORT, `${line}\n`);
  }
}

/** polls every pipeline until `done` holds for all; a guard against a hung run, not a timing assertion */
export async function waitAll(t: Pick<TestPlatform, 'api'>, ids: string[], done: (p: any) => boolean, guardMs = Number(process.env.CHAOS_GUARD_MS ?? 900_000)): Promise<any[]> {
  const deadline = Date.now() + guardMs;
  const last = new Map<string, any>();
  while (Date.now() < deadline) {
    for (const id of ids) {
      if (last.has(id) && done(last.get(id))) continue;
      const res = await t.api('GET', `/v1/pipelines/${id}`);
      if (res.status === 200) last.set(id, res.body);
    }
    if (ids.every((id) => last.has(id) && done(last.get(id)))) return ids.map((id) => last.get(id));
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`pipelines still not done after ${guardMs / 1000} s: ${ids.filter((id) => !done(last.get(id))).map((id) => `${id} ${last.get(id)?.status}/${last.get(id)?.stage}`).join(', ')}`);
}
