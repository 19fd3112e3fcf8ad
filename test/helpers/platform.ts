/**
 * The whole platform for one test file, as `npm start` runs it: API, orchestration worker and
 * training worker on a real Temporal server and a real database, on task queues of its own.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../config';
import { openDatabase, type Database } from '../../db/client';
import { startPlatform, type Platform, type PlatformParts } from '../../platform/platform';
import type { ClientResponse } from 'hono/client';
import { createClient, type PerennialClient } from '../../client';
import { openTestDatabase } from './database';
import { testTemporalAddress } from './temporal';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** Real data from the vega-datasets package: 1,461 days of Seattle weather. */
export const SEATTLE_WEATHER = path.join(REPO_ROOT, 'node_modules/vega-datasets/data/seattle-weather.csv');

export interface TestPlatform {
  platform: Platform;
  config: Config;
  database: Database;
  url: string;
  adminToken: string;
  dataDir: string;
  /** a folder outside the data directory that is an import root: tests write their dataset files here */
  importDir: string;
  temporalAddress: string;
  api<T = any>(method: string, route: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  createKey(name: string, role: 'viewer' | 'operator' | 'approver' | 'admin', owner?: string): Promise<string>;
  /** sets the model's policy (as an approver would): e.g. `{approval: {required: false}}` lets its pipelines skip approval */
  setPolicy(model: string, policy: Record<string, unknown>): Promise<void>;
  /** lets these models' pipelines skip approval (`approval.required: false`), as an approver's policy would */
  allowUnapproved(...models: string[]): Promise<void>;
  waitFor<T = any>(pipelineId: string, until: (p: any) => boolean, token?: string): Promise<T>;
  stop(): Promise<void>;
  /** the typed client (client/), with the admin token */
  client: PerennialClient;
  /** the typed client with another key's token */
  clientFor(token: string): PerennialClient;
}

export async function startTestPlatform(env: Record<string, string> = {}, parts?: PlatformParts): Promise<TestPlatform> {
  const temporalAddress = await testTemporalAddress();
  const database = await openTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-test-'));
  const importDir = fs.mkdtempSync(path.join(os.tmpdir(), 'perennial-test-imports-'));
  const suffix = crypto.randomBytes(4).toString('hex');
  const adminToken = `test-admin-${crypto.randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', PERENNIAL_DATA_DIR: dataDir, PERENNIAL_ADMIN_TOKEN: adminToken,
    PERENNIAL_TASK_QUEUE: `perennial-${suffix}`, PERENNIAL_TRAINING_TASK_QUEUE: `perennial-training-${suffix}`,
    PERENNIAL_TF_BACKEND: 'wasm', PERENNIAL_LOG_LEVEL: 'error', PERENNIAL_IMPORT_ROOTS: testImportRoots(importDir), ...env,
  });
  const platform = await startPlatform(config, {
    temporalAddress, database, parts, workflowBundlePath: process.env.PERENNIAL_TEST_WORKFLOW_BUNDLE, log: () => {},
  });
  const url = platform.apiUrl!;
  const api = apiClient(url, adminToken);
  const setPolicy = async (model: string, policy: Record<string, unknown>) => {
    const res = await api('PUT', `/v1/models/${model}/policy`, { body: policy });
    if (res.status !== 200) throw new Error(`could not set the policy of ${model}: ${JSON.stringify(res.body)}`);
  };

  const self: TestPlatform = {
    platform, config, database, url, adminToken, dataDir, importDir, temporalAddress, api,
    client: createClient(url, { token: adminToken }),
    clientFor: (token) => createClient(url, { token }),
    async createKey(name, role, owner) {
      const res = await api('POST', '/v1/api-keys', { body: { name, role, ...(owner ? { owner } : {}) } });
      if (res.status !== 201) throw new Error(`could not create key: ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    setPolicy,
    async allowUnapproved(...models) {
      for (const model of models) await setPolicy(model, { approval: { required: false } });
    },
    async waitFor(pipelineId, until, token) {
      // a guard against a hung test, not a timing assertion
      const deadline = Date.now() + 120_000;
      let last: any;
      while (Date.now() < deadline) {
        const res = await api('GET', `/v1/pipelines/${pipelineId}`, { token });
        last = res.body;
        if (res.status === 200 && until(res.body)) return res.body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`pipeline ${pipelineId} never reached the expected state; last seen: ${JSON.stringify(last)}`);
    },
    async stop() {
      // the platform running now: a test may have restarted it
      await self.platform.stop();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(importDir, { recursive: true, force: true });
    },
  };
  return self;
}

/** The import roots of a test: the vega-datasets folder and a test's own folder of files. */
export const testImportRoots = (...dirs: string[]) => [path.dirname(SEATTLE_WEATHER), ...dirs].join(':');

/** fetch against the API as JSON, with the admin token unless another (or null) is given */
export function apiClient(url: string, adminToken: string): TestPlatform['api'] {
  return async (method, route, opts = {}) => {
    const token = opts.token === undefined ? adminToken : opts.token;
    const res = await fetch(url + route, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: any = text;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body };
  };
}

/**
 * Another API process on the same Temporal and database (its own connection, when the database
 * is a PostgreSQL server), as a second replica behind a load balancer would be.
 */
export async function startApiReplica(t: TestPlatform) {
  const url = (t.database as Database & { url?: string }).url;
  const database = url ? await openDatabase({ url }) : t.database;
  const platform = await startPlatform(t.config, {
    temporalAddress: t.temporalAddress, database, parts: { api: true, orchestration: false, training: false }, log: () => {},
  });
  return {
    url: platform.apiUrl!,
    api: apiClient(platform.apiUrl!, t.adminToken),
    async stop() {
      await platform.stop();
      if (url) await database.close();
    },
  };
}

/** A pipeline request for seattle-weather, small enough to train in seconds. */
export function weatherRequest(overrides: Record<string, unknown> = {}) {
  return {
    model: 'weather',
    dataset: { uri: SEATTLE_WEATHER },
    target: 'weather',
    training: { epochs: 5, hiddenUnits: [16] },
    ...overrides,
  };
}

type JsonOf<R, S> = R extends ClientResponse<infer T, infer U, 'json'> ? (U extends S ? T : never) : never;

/**
 * A typed client's answer, asserted to have `status`: its JSON body, typed as the route declares
 * it for that status. `await expectJson(t.client.v1.models.$get(), 200)` -> `{items: [...]}`.
 */
export async function expectJson<R extends ClientResponse<unknown, number>, const S extends R['status']>(
  response: R | Promise<R>, status: S,
): Promise<JsonOf<R, S>> {
  const res = await response;
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

/**
 * An approver's decision on a pipeline awaiting approval, through the typed client: the pipeline as
 * the decision answered it, and as it stands once it has ended.
 */
export async function decideAndWait(t: TestPlatform, token: string, id: string, verdict: 'approve' | 'reject', comment?: string) {
  const decided = await expectJson(t.clientFor(token).v1.pipelines[':id'][verdict].$post({ param: { id }, json: { comment } }), 200);
  const ended = await t.waitFor(id, (p) => p.status !== 'running');
  return { decided, ended };
}
