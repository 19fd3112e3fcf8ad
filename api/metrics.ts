/** Prometheus metrics: requests by route and status, latency histograms. */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import client from 'prom-client';

/** one labelled series: its count, and for a histogram its sum and per-bucket counts (not cumulative) */
interface Series { labels: Record<string, string>; count: number; sum: number; buckets: Float64Array }
/** what prom-client's registry reads from a metric when it is scraped */
interface Exported { name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName?: string }[] }

/**
 * A counter and a histogram that a request updates with plain arithmetic, exported in prom-client's
 * format when scraped. prom-client's own hash their labels on every call, even through a bound
 * child, and these two are updated on every request (the predict path included).
 */
class PlainCounter {
  readonly type: 'counter' | 'histogram' = 'counter';
  readonly aggregator = 'sum';
  protected all = new Map<string, Series>();
  constructor(readonly name: string, readonly help: string, protected bucketCount = 0) {}
  /** the series for these labels, made on first use */
  series(labels: Record<string, string>): Series {
    const key = JSON.stringify(labels);
    let s = this.all.get(key);
    if (!s) this.all.set(key, s = { labels, count: 0, sum: 0, buckets: new Float64Array(this.bucketCount) });
    return s;
  }
  async get(): Promise<Exported> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.all.values()].map((s) => ({ labels: s.labels, value: s.count })) };
  }
  reset() { this.all.clear(); }
}

class PlainHistogram extends PlainCounter {
  override readonly type = 'histogram' as const;
  constructor(name: string, help: string, private bounds: number[]) { super(name, help, bounds.length + 1); }
  observe(s: Series, value: number) {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    s.buckets[i]++;
    s.count++;
    s.sum += value;
  }
  override async get(): Promise<Exported> {
    const values: Exported['values'] = [];
    for (const s of this.all.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.buckets[i];
        values.push({ labels: { ...s.labels, le: i < this.bounds.length ? this.bounds[i] : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` }, { labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'perennial_' });
  const requests = new PlainCounter('perennial_http_requests_total', 'HTTP requests by method, route and status');
  const latency = new PlainHistogram('perennial_http_request_duration_seconds', 'HTTP request latency by route',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  registry.registerMetric(requests as unknown as client.Metric);
  registry.registerMetric(latency as unknown as client.Metric);
  const pipelinesStarted = new client.Counter({
    // no model label: a caller could otherwise add a series per model name it invents
    name: 'perennial_pipelines_started_total', help: 'Pipelines started through the API',
    registers: [registry],
  });

  const predictions = new PlainCounter('perennial_predictions_total', 'Instances predicted, by model, version and role (production, canary, shadow)');
  registry.registerMetric(predictions as unknown as client.Metric);
  const predictionLogDropped = new client.Counter({
    name: 'perennial_prediction_log_dropped_total', help: 'Prediction log rows dropped because the buffer was full, in rows or bytes (the database was unreachable)',
    registers: [registry],
  });

  const predictionLogDeadLetters = new client.Counter({
    name: 'perennial_prediction_log_dead_letters_total',
    help: 'Prediction log rows the database refused on their own (dropped so the rest are written; the API log names their ids)',
    registers: [registry],
  });

  const children = new Map<string, { requests: Series; latency: Series }>();
  /** one answered request: its series are found once per method, route and status, then only numbers change */
  function observe(method: string, route: string, status: number, seconds: number) {
    const key = `${method} ${route} ${status}`;
    let child = children.get(key);
    if (!child) {
      child = { requests: requests.series({ method, route, status: String(status) }), latency: latency.series({ method, route }) };
      children.set(key, child);
    }
    child.requests.count++;
    latency.observe(child.latency, seconds);
  }
  const middleware: MiddlewareHandler = async (c, next) => {
    const start = process.hrtime.bigint();
    await next();
    const route = c.res.status === 404 && routePath(c, -1) === '*' ? 'unmatched' : routePath(c, -1) || 'unmatched';
    observe(c.req.method, route, c.res.status, Number(process.hrtime.bigint() - start) / 1e9);
  };
  return { registry, middleware, observe, pipelinesStarted, predictions, predictionLogDropped, predictionLogDeadLetters };
}
export type Metrics = ReturnType<typeof createMetrics>;
