/**
 * The real workflow code on the test Temporal server, with mocked activities: a Worker for the
 * workflows and the orchestration activities on a unique task queue, a second Worker for the
 * training activities on its own queue, a Client, and every call the activities saw.
 *
 *   const env = await workflowEnv(t, { orchestration: { promoteVersion: async () => {} } });
 *   const handle = await env.startPipeline(pipelineSpec({ approval: { required: false } }));
 *
 * Each test gets its own queues and Workers; `t.after` terminates what it started and stops them.
 */
import crypto from 'node:crypto';
import { after, type TestContext } from 'node:test';
import { ApplicationFailure, type LogLevel, type LogMetadata, type QueryDefinition } from '@temporalio/common';
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { OrchestrationActivities, TrainingActivities } from '../../activities';
import type { MeasureInput, Measurement } from '../../activities/monitoring';
import type { DriftReport } from '../../common/monitor-settings';
import { canaryStatusQuery, statusQuery, type CanaryInput, type DecisionInput, type PipelineInput } from '../../workflows';
import { workflowsPath } from '../../workers/plugin';
import { PipelineRequest } from '../../common/pipeline-request';
import { testTemporalAddress } from './temporal';

/** warnings, less the one every training-only Worker gives by design */
class TestLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata) {
    if (message.startsWith('No workflows registered')) return;
    super.log(level, message, meta);
  }
}
try {
  Runtime.install({ logger: new TestLogger('WARN') });
} catch {
  // another module of this process installed the runtime first
}

// ---- the shapes that cross the boundary, from what the workflows module exports ----

type Result<T> = T extends QueryDefinition<infer R, any, any> ? R : never;
export type PipelineStatus = Result<typeof statusQuery>;
export type CanaryStatus = Result<typeof canaryStatusQuery>;
export type Principal = DecisionInput['by'];
export type CanaryAnalysis = CanaryStatus['analyses'][number];
export type PipelineSpec = PipelineInput['spec'];
export type CanarySpec = NonNullable<PipelineSpec['canary']>;
export type ModelTask = CanaryInput['task'];
type PipelineWorkflow = (input: PipelineInput) => Promise<PipelineStatus>;
type CanaryWorkflow = (input: CanaryInput) => Promise<CanaryStatus>;

// ---- people ----

export const people = {
  requester: { keyId: 'key-otto', name: 'Otto', role: 'operator', owner: 'otto', mintedBy: 'root' },
  approver: { keyId: 'key-ada', name: 'Ada', role: 'approver', owner: 'ada', mintedBy: 'root' },
  secondApprover: { keyId: 'key-grace', name: 'Grace', role: 'approver', owner: 'grace', mintedBy: 'root' },
  admin: { keyId: 'key-root', name: 'Root', role: 'admin', owner: 'root', mintedBy: null },
  operator: { keyId: 'key-olga', name: 'Olga', role: 'operator', owner: 'olga', mintedBy: 'root' },
  viewer: { keyId: 'key-vic', name: 'Vic', role: 'viewer', owner: 'vic', mintedBy: 'root' },
  /** Otto's second key, with the approver role: still Otto */
  requesterAsApprover: { keyId: 'key-otto-2', name: 'Otto (approvals)', role: 'approver', owner: 'otto', mintedBy: 'root' },
  /** a key Otto minted (he is an admin elsewhere): not a second pair of eyes on Otto's pipelines */
  mintedByRequester: { keyId: 'key-pat', name: 'Pat', role: 'approver', owner: 'pat', mintedBy: 'otto' },
} as const satisfies Record<string, Principal>;

/** who the audit records: a person by their key, or a part of the system */
export const personActor = (p: Principal) => ({ kind: 'person', id: p.keyId, name: p.name });
export const systemActor = (id: string) => ({ kind: 'system', id, name: `system:${id}` });

// ---- base mocks: plausible fixed answers; a renamed or reshaped activity fails the typecheck ----

export const suffix = () => crypto.randomBytes(4).toString('hex');

export function canaryAnalysis(over: Partial<CanaryAnalysis> = {}): CanaryAnalysis {
  return {
    window: { since: '2025-01-01T00:00:00.000Z', until: '2025-01-01T00:10:00.000Z' },
    canary: { requests: 240, errors: 0, errorRate: 0, latencyP95Ms: 12, labels: 60, feedbackScore: 0.81 },
    production: { requests: 2160, errors: 1, errorRate: 1 / 2160, latencyP95Ms: 11, labels: 540, feedbackScore: 0.8, version: 1 },
    latencyRatio: 12 / 11, predictionDistance: 0.04, sufficient: true, passed: true, failures: [], notes: [],
    ...over,
  };
}

/** A measured window without drift: one numeric feature compared, nothing drifted. */
export function driftReport(input: MeasureInput, over: Partial<DriftReport> = {}): DriftReport {
  return {
    id: input.reportId, model: input.model, version: input.version, windowStart: input.windowEnd, windowEnd: input.windowEnd,
    rows: 500, reference: { rows: 1461, datasetHash: 'a'.repeat(64) }, tests: 'calibrated',
    calibration: { windowRows: 500, sampleRows: 500, resamples: 100, quantile: 0.99, seed: 1 },
    features: [{
      name: 'temp', kind: 'numeric', test: 'wasserstein', statistic: 0.05, threshold: 0.12, drifted: false,
      ks: { statistic: 0.04, pValue: 0.5 }, psi: 0.01, wasserstein: 0.05,
    }],
    skipped: [], driftShare: 0, datasetDrift: false, prediction: null, performance: null, estimated: null,
    action: 'none', pipelineId: null, reason: null, at: input.windowEnd,
    ...over,
  };
}

export function baseOrchestrationMocks() {
  const columns = [
    { name: 'temp', type: 'DOUBLE', kind: 'numeric' as const },
    { name: 'wind', type: 'DOUBLE', kind: 'numeric' as const },
    { name: 'weather', type: 'VARCHAR', kind: 'categorical' as const },
  ];
  return {
    async ingestDataset(spec) {
      return {
        hash: 'a'.repeat(64), rows: 1461, format: 'csv', readOptions: { delimiter: ',', header: true }, artifactKey: `datasets/${spec.uri}`,
        sizeBytes: 48_000, columns, deduplicated: false,
      };
    },
    async validateDataset() {
      return { passed: true, anomalies: [], reference: { contract: null, previous: null }, task: 'classification', features: columns.slice(0, 2) };
    },
    async recordPipelineStart() {},
    async recordPipelineOutcome() {},
    async findCachedModel() { return null; },
    async getProductionModel() { return null; },
    async registerCandidate() { return { version: 1 }; },
    async recordDecision() {},
    async recordApprovalVote() {},
    async recordApprovalNotice() {},
    async rejectVersion() {},
    async promoteVersion() {},
    async claimCanarySlot() {},
    async sampleProductionRequests() { return null; },
    async confirmBundleUnchanged(input) { return { unchanged: true, bundleSha256: input.bundleSha256 }; },
    async setCanaryWeight() {},
    async rollBackCanary() {},
    async analyseCanary() { return canaryAnalysis(); },
    async measureDrift(input): Promise<Measurement> { return { judged: true, report: driftReport(input) }; },
    async recordDriftReport() {},
    async requestRetraining(input) { return { pipelineId: `pipeline-${input.model}-r1`, started: true }; },
    async retrainingSpec(input) { return input.spec ?? pipelineSpec({ model: input.model }); },
    async sourceHasNewData() { return { fresh: false }; },
    async productionSource() { return null; },
    async watchModel(input) { return { workflowId: `monitor-${input.model}` }; },
    async prunePredictionLog() { return { predictions: 0 }; },
    async deliverWebhook() { return { status: 'delivered' as const }; },
    async markWebhookDeliveryFailed() {},
  } satisfies OrchestrationActivities;
}

export function baseTrainingMocks() {
  return {
    async trainModel(input) {
      return {
        artifactKey: `models/${input.model}/${input.pipelineId}`, backend: 'mock', device: 'cpu', epochs: input.params.epochs,
        trainRows: 935, holdoutRows: 292, finalLoss: 0.42, finalValLoss: 0.47, trainSeconds: 1.5, resumedFromEpoch: 0,
      };
    },
    async evaluateModel() {
      return { metrics: { accuracy: 0.8 }, primaryMetric: 'accuracy', rows: 292, servingSample: { instances: [{ temp: 12, wind: 3 }], outputs: [0.8] } };
    },
    async checkServability() { return { servable: true, instances: 20 }; },
  } satisfies TrainingActivities;
}

// ---- inputs ----

/** A PipelineSpec with every default, for a model of its own (canary workflow ids are per model and version). */
export function pipelineSpec(request: Record<string, unknown> = {}): PipelineSpec {
  return PipelineRequest.parse({
    model: `wf-model-${suffix()}`, dataset: { uri: 'weather.csv' }, target: 'weather', ...request,
  });
}

// ---- the environment ----

type AllActivities = OrchestrationActivities & TrainingActivities;
export type ActivityName = keyof AllActivities;
export interface Call { name: ActivityName; input: unknown }

// Asked at load, outside any test: a dev server this process starts (a file run alone) is then
// stopped after the file's last test, not after its first (`after` binds to the test it is called in).
const temporalAddress = testTemporalAddress();
temporalAddress.catch(() => undefined); // a failure surfaces in the first test that connects

let connections: Promise<{ native: NativeConnection; client: Client; close(): Promise<void> }> | undefined;
function connect() {
  connections ??= (async () => {
    const address = await temporalAddress;
    const native = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    return { native, client: new Client({ connection }), async close() { await connection.close(); await native.close(); } };
  })();
  return connections;
}
after(async () => { if (connections) await (await connections).close(); });

let bundle: Promise<{ code: string }> | undefined;
async function workflowCode() {
  const codePath = process.env.PERENNIAL_TEST_WORKFLOW_BUNDLE;
  if (codePath) return { workflowBundle: { codePath } };
  // run alone (not through npm test): bundle once for this process, not once per Worker
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, debug() {}, trace() {}, log() {}, error: console.error } as never });
  return { workflowBundle: await bundle };
}

export interface Gate { open(): void; wait(): Promise<void> }

/**
 * A promise a mock waits on until the test opens it. It opens by itself when the test ends, so a
 * failed assertion never leaves an activity hanging (make gates before the env that uses them).
 */
export function gate(t: TestContext): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  t.after(() => open());
  return { open, wait: () => promise };
}

export interface WorkflowEnv {
  client: Client;
  taskQueue: string;
  trainingTaskQueue: string;
  /** every activity call, attempts included, in order */
  calls: Call[];
  /** the inputs of one activity's calls */
  callsOf<K extends ActivityName>(name: K): Parameters<AllActivities[K]>[0][];
  startPipeline(spec: PipelineSpec, options?: { requestedBy?: Principal | null; workflowId?: string }): Promise<WorkflowHandle<PipelineWorkflow>>;
  startCanary(input: Omit<CanaryInput, 'pipelineId' | 'version' | 'task'> & Partial<CanaryInput>, workflowId?: string): Promise<WorkflowHandle<CanaryWorkflow>>;
  stop(): Promise<void>;
}

export async function workflowEnv(t: TestContext, mocks: {
  orchestration?: Partial<OrchestrationActivities>;
  training?: Partial<TrainingActivities>;
} = {}): Promise<WorkflowEnv> {
  const { native, client } = await connect();
  const id = suffix();
  const taskQueue = `wf-test-${id}`;
  const trainingTaskQueue = `wf-train-${id}`;
  const calls: Call[] = [];
  const started: WorkflowHandle[] = [];

  const recorded = <T extends object>(activities: T): T => Object.fromEntries(Object.entries(activities).map(([name, fn]) => [
    name, async (input: unknown) => { calls.push({ name: name as ActivityName, input }); return (fn as (i: unknown) => unknown)(input); },
  ])) as T;

  const orchestration = await Worker.create({
    connection: native, taskQueue, ...(await workflowCode()),
    activities: recorded({ ...baseOrchestrationMocks(), ...mocks.orchestration }),
    shutdownGraceTime: '1s', shutdownForceTime: '10s',
  });
  const training = await Worker.create({
    connection: native, taskQueue: trainingTaskQueue,
    activities: recorded({ ...baseTrainingMocks(), ...mocks.training }),
    shutdownGraceTime: '1s', shutdownForceTime: '10s',
  });
  const running = [orchestration.run(), training.run()];

  let stopped = false;
  const env: WorkflowEnv = {
    client, taskQueue, trainingTaskQueue, calls,
    callsOf: (name) => calls.filter((c) => c.name === name).map((c) => c.input) as never,
    async startPipeline(spec, options = {}) {
      const handle = await client.workflow.start<PipelineWorkflow>('trainingPipeline', {
        taskQueue, workflowId: options.workflowId ?? `wf-pipeline-${spec.model}`,
        args: [{ spec, requestedBy: options.requestedBy === undefined ? people.requester : options.requestedBy, trainingTaskQueue }],
      });
      started.push(handle);
      return handle;
    },
    async startCanary(input, workflowId) {
      const full: CanaryInput = { pipelineId: `wf-pipeline-${input.model}`, version: 2, task: 'classification', ...input };
      const handle = await client.workflow.start<CanaryWorkflow>('canaryRollout', {
        taskQueue, workflowId: workflowId ?? `canary-${full.model}-v${full.version}`, args: [full],
      });
      started.push(handle);
      return handle;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const h of started) {
        const { status } = await h.describe().catch(() => ({ status: { name: 'UNKNOWN' } }));
        if (status.name === 'RUNNING') await h.terminate('test over').catch(() => undefined);
      }
      orchestration.shutdown();
      training.shutdown();
      await Promise.all(running);
    },
  };
  t.after(() => env.stop());
  return env;
}

// ---- waiting and refusals ----

/**
 * Asks `read` until `done` holds. The guard only stops a hung test; nothing here depends on timing.
 */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, guardMs = 60_000): Promise<T> {
  const deadline = Date.now() + guardMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const pipelineStatus = (handle: WorkflowHandle) => handle.query(statusQuery);
export const canaryStatus = (handle: WorkflowHandle) => handle.query(canaryStatusQuery);

/** waits until the pipeline's status query says `status` */
export const untilPipeline = (handle: WorkflowHandle, status: PipelineStatus['status']) =>
  until(() => pipelineStatus(handle), (s) => s.status === status, `pipeline ${handle.workflowId} to be ${status}`);

/** waits until an activity has been called at least `times` times */
export const untilCalled = (env: WorkflowEnv, name: ActivityName, times = 1) =>
  until(async () => env.callsOf(name).length, (n) => n >= times, `${name} to be called ${times} time(s)`);

/** the ApplicationFailure type an Update was refused (or failed) with */
export async function refusal(update: Promise<unknown>): Promise<{ type: string | undefined | null; message: string }> {
  try {
    await update;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) return { type: err.cause.type, message: err.cause.message };
    throw err;
  }
  throw new Error('the Update was accepted; a refusal was expected');
}

/** how many Updates the workflow's history holds as accepted: a refused one never gets there */
export async function acceptedUpdates(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}
