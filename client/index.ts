/**
 * The typed HTTP client, derived from the API's routes (Hono RPC): a renamed route or a changed
 * request shape breaks the caller's compile, not its run.
 *
 *   const perennial = createClient('http://localhost:3000', { token: process.env.PERENNIAL_TOKEN! });
 *   const res = await perennial.v1.pipelines.$post({ json: { model: 'weather', dataset: { uri: 'weather.csv' }, target: 'weather' } });
 *   if (res.status === 202) console.log((await res.json()).temporalUiUrl);
 *   const { predictions } = await perennial.predict('weather', [{ temp_max: 12.8, wind: 4.7 }]);
 *
 * It imports the API as types only: nothing of the server is bundled into a caller.
 */
import type { z } from '@hono/zod-openapi';
import { hc } from 'hono/client';
import type { AppType } from '../api/app';
import type { ModelServer } from '../api/serving';
import type { ErrorSchema } from '../common/resources';

export type { AppType };
export type ErrorBody = z.output<typeof ErrorSchema>;
export type PredictResult = Awaited<ReturnType<ModelServer['predict']>>;

/** A non-2xx answer from a helper that is not a route of the typed client (predict). */
export class PerennialError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(`${status} ${body.error.code}: ${body.error.message}`);
  }
}

export interface ClientOptions {
  /** an API key's token, or the admin token */
  token: string;
  /** e.g. a test's instrumented fetch; defaults to the global one */
  fetch?: typeof fetch;
}

export type PerennialClient = ReturnType<typeof hc<AppType>> & {
  /**
   * POST /v1/models/:name:predict (its path ends in ":predict", which the route tree cannot spell).
   * `entityKey` pins the caller to one version while a canary runs.
   */
  predict(model: string, instances: Record<string, unknown>[], opts?: { entityKey?: string }): Promise<PredictResult>;
};

export function createClient(baseUrl: string, opts: ClientOptions): PerennialClient {
  const headers = { authorization: `Bearer ${opts.token}` };
  const routes = hc<AppType>(baseUrl, { headers, fetch: opts.fetch });
  const doFetch = opts.fetch ?? fetch;

  async function predict(model: string, instances: Record<string, unknown>[], { entityKey }: { entityKey?: string } = {}) {
    const res = await doFetch(`${baseUrl.replace(/\/+$/, '')}/v1/models/${encodeURIComponent(model)}:predict`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', ...(entityKey === undefined ? {} : { 'x-entity-key': entityKey }) },
      body: JSON.stringify({ instances }),
    });
    // the API's contract, trusted as hc trusts it for every other route
    if (!res.ok) throw new PerennialError(res.status, await res.json() as ErrorBody);
    return await res.json() as PredictResult;
  }

  // hc's client is a Proxy that turns every property into a path segment: predict is answered before it
  return new Proxy(routes, {
    get: (target, key, receiver) => (key === 'predict' ? predict : Reflect.get(target, key, receiver)),
  }) as PerennialClient;
}
