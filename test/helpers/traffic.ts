/**
 * Live prediction traffic for serving and canary tests: real days from seattle-weather, sent as
 * clients would send them, optionally followed by the true label as feedback.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { SEATTLE_WEATHER, type TestPlatform } from './platform';

export interface WeatherDay { instance: Record<string, unknown>; label: string }

export function weatherDays(): WeatherDay[] {
  const [header, ...lines] = fs.readFileSync(SEATTLE_WEATHER, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row = Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
    return {
      instance: { date: row.date, precipitation: Number(row.precipitation), temp_max: Number(row.temp_max), temp_min: Number(row.temp_min), wind: Number(row.wind) },
      label: row.weather,
    };
  });
}

export interface TrafficReport {
  /** instances answered, by the version that answered */
  byVersion: Map<number, number>;
  requests: number;
  labelled: number;
}

/**
 * Sends batches of days until `until()` says stop: each request with a fresh entity key, and with
 * `feedback`, the true labels for its prediction ids.
 */
export async function sendTraffic(t: Pick<TestPlatform, 'api'>, opts: {
  token: string; until: () => boolean; feedback?: boolean; batch?: number; model?: string;
  onResponse?: (body: any) => void;
}): Promise<TrafficReport> {
  const days = weatherDays();
  const report: TrafficReport = { byVersion: new Map(), requests: 0, labelled: 0 };
  const batch = opts.batch ?? 5;
  for (let i = 0; !opts.until(); i++) {
    const picked = Array.from({ length: batch }, (_, k) => days[(i * batch + k * 97) % days.length]);
    const res = await t.api('POST', `/v1/models/${opts.model ?? 'weather'}:predict`, {
      token: opts.token, body: { instances: picked.map((d) => d.instance) }, headers: { 'x-entity-key': crypto.randomUUID() },
    });
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${JSON.stringify(res.body)}`);
    report.requests++;
    report.byVersion.set(res.body.modelVersion, (report.byVersion.get(res.body.modelVersion) ?? 0) + batch);
    opts.onResponse?.(res.body);
    if (opts.feedback) {
      const items = res.body.predictionIds.map((predictionId: string, k: number) => ({ predictionId, label: picked[k].label }));
      const fb = await t.api('POST', '/v1/feedback', { token: opts.token, body: { items } });
      if (fb.status !== 202) throw new Error(`feedback answered ${fb.status}: ${JSON.stringify(fb.body)}`);
      report.labelled += items.length;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return report;
}
