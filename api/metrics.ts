/** Prometheus metrics: requests by route and status, latency histograms. */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import client from 'prom-client';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'perennial_' });
  const requests = new client.Counter({
    name: 'perennial_http_requests_total', help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'perennial_http_request_duration_seconds', help: 'HTTP request latency by route',
    labelNames: ['method', 'route'] as const, registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  const pipelinesStarted = new client.Counter({
    // no model label: a caller could otherwise add a series per model name it invents
    name: 'perennial_pipelines_started_total', help: 'Pipelines started through the API',
    registers: [registry],
  });

  const predictions = new client.Counter({
    name: 'perennial_predictions_total', help: 'Instances predicted, by model, version and role (production, canary, shadow)',
    labelNames: ['model', 'version', 'role'] as const, registers: [registry],
  });
  const predictionLogDropped = new client.Counter({
    name: 'perennial_prediction_log_dropped_total', help: 'Prediction log rows dropped because the buffer was full, in rows or bytes (the database was unreachable)',
    registers: [registry],
  });

  const predictionLogDeadLetters = new client.Counter({
    name: 'perennial_prediction_log_dead_letters_total',
    help: 'Prediction log rows the database refused on their own (dropped so the rest are written; the API log names their ids)',
    registers: [registry],
  });

  const children = new Map<string, { requests: { inc(): void }; latency: { observe(v: number): void } }>();
  /** one answered request; label children cached per route: prom-client would otherwise hash the labels on every request */
  function observe(method: string, route: string, status: number, seconds: number) {
    const key = `${method} ${route} ${status}`;
    let child = children.get(key);
    if (!child) {
      child = { requests: requests.labels(method, route, String(status)), latency: latency.labels(method, route) };
      children.set(key, child);
    }
    child.requests.inc();
    child.latency.observe(seconds);
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
