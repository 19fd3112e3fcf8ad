/**
 * The composition root: opens the database and artifact store, connects to Temporal, and runs any
 * of the three parts (API, orchestration worker, training worker) in this process. `npm start`
 * runs all three; the production entry points run one each.
 */
import type { AddressInfo } from 'node:net';
import { answerClientErrors } from '../api/client-errors';
import { createDrainableServer, type DrainableServer } from '../api/http-drain';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { Gauge } from 'prom-client';
import { LocalArtifactStore } from '../db/artifacts';
import { dataConverterOf, payloadCodecOf } from './codec';
import { ensureSearchAttributes } from './search-attributes';
import { temporalConnectOptions } from './temporal';
import { createApi } from '../api/app';
import { createMetrics } from '../api/metrics';
import { createPredictionLog } from '../api/prediction-log';
import { createModelServer, type ModelServer } from '../api/serving';
import { sourcePolicyOf } from '../activities/source-policy';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db/client';
import { describeBackends, loadBackend } from '../ml/backend';
import { codeVersion, PerennialPlugin } from '../workers/plugin';
import { cachedWorkflowBundle } from '../workers/workflow-bundle';
import { startHousekeeping } from './housekeeping';
import { ensureRetentionSchedule } from './retention-schedule';
import { setWebhookLinkBase } from '../db/webhook-outbox';
import { startWebhookDispatcher } from './webhook-dispatcher';
import { leavePromiseHookOff } from '../common/temporal-deadline';

export interface PlatformParts {
  api?: boolean;
  orchestration?: boolean;
  training?: boolean;
}

export interface Platform {
  config: Config;
  /** absent in a training-only worker */
  database?: Database;
  client: Client;
  /** the Temporal frontend it is connected to */
  temporalAddress: string;
  /** e.g. http://127.0.0.1:3000, when the API runs here */
  apiUrl?: string;
  /** the error a Worker stopped with, if one did: nothing it served progresses */
  workerFailure(): Error | undefined;
  /** stops the API, drains the workers, closes connections */
  stop(): Promise<void>;
}

/**
 * How long a stopping API waits for its requests in flight before it cuts their connections: under
 * the 10 s a container supervisor gives by default before SIGKILL, with time left to write the log.
 */
const API_DRAIN_MS = 7_000;

let runtimeInstalled = false;
function quietRuntime(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR') {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
    });
  } catch {
    // already installed by the host application
  }
}

export async function startPlatform(config: Config, opts: {
  parts?: PlatformParts;
  /** the dev server `npm start` or the tests run; else TEMPORAL_ADDRESS and the rest of Temporal's environment configuration */
  temporalAddress?: string;
  /** an open, migrated database to use instead of the one config names */
  database?: Database;
  workflowBundlePath?: string;
  log?: (msg: string) => void;
  /**
   * a Worker that stops with an error (it stopped polling: nothing progresses). The production
   * entry points exit non-zero so the supervisor restarts the process; default: logged only.
   */
  onWorkerFailure?: (err: Error) => void;
}): Promise<Platform> {
  const parts = { api: true, orchestration: true, training: true, ...opts.parts };
  const log = opts.log ?? ((m: string) => console.log(m));
  quietRuntime(config.logLevel === 'debug' ? 'INFO' : config.logLevel === 'error' ? 'ERROR' : 'WARN');
  // where the links in webhook bodies point, for every audit event this process writes
  setWebhookLinkBase({ publicUrl: config.publicUrl, temporal: config.temporal });

  // a training worker needs no database: it reads and writes the artifact store only
  const needsDatabase = parts.api || parts.orchestration;
  const database = opts.database ?? (needsDatabase
    ? await openDatabase({ url: config.databaseUrl, pgliteDir: `${config.dataDir}/pglite` })
    : undefined);
  // where the database role may not change the schema (docker-compose), the migrate service has done it
  if (!opts.database && config.migrateOnStart) await database?.migrate();
  const artifacts = new LocalArtifactStore(config.artifactsDir);

  const { address, tls, apiKey, metadata } = temporalConnectOptions(opts.temporalAddress);
  const connection = await Connection.connect({ address, tls, apiKey, metadata });
  // with PERENNIAL_CODEC_KEY every payload the client and both workers send Temporal is ciphertext
  const codec = payloadCodecOf(config);
  const dataConverter = dataConverterOf(codec);
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
  await ensureSearchAttributes(connection, config.temporal.namespace);
  leavePromiseHookOff(connection); // see common/temporal-deadline.ts: the API's predictions pay for it otherwise

  const workers: Worker[] = [];
  let nativeConnection: NativeConnection | undefined;
  if (parts.orchestration || parts.training) {
    nativeConnection = await NativeConnection.connect({ address, tls, apiKey, metadata });
  }
  if (parts.orchestration) {
    // encrypted failures are bundled into the workflow code: a bundle built without them is not used then
    const workflowBundlePath = dataConverter
      ? await cachedWorkflowBundle(config.dataDir, { failureConverterPath: dataConverter.failureConverterPath })
      : opts.workflowBundlePath ?? await cachedWorkflowBundle(config.dataDir);
    workers.push(await Worker.create({
      connection: nativeConnection!, namespace: config.temporal.namespace, taskQueue: config.taskQueues.orchestration, dataConverter,
      plugins: [new PerennialPlugin({ role: 'orchestration', db: database!.db, artifacts, codeVersion: codeVersion(), workflowBundlePath, sources: sourcePolicyOf(config),
        client, queues: { ...config.taskQueues, heartbeatTimeout: config.heartbeatTimeout }, webhooks: config.webhooks })],
      shutdownGraceTime: '10s',
    }));
  }
  if (parts.training) {
    await loadBackend(config.tfBackend); // a forced backend that cannot load stops the start here
    log(`training worker: ${config.tfBackend === 'auto' ? 'backend chosen per model from its size' : `PERENNIAL_TF_BACKEND=${config.tfBackend}`}; `
      + `${config.trainingSlots} slot(s); backends here: ${await describeBackends(config.tfBackend)}`);
    workers.push(await Worker.create({
      connection: nativeConnection!, namespace: config.temporal.namespace, taskQueue: config.taskQueues.training, dataConverter,
      plugins: [new PerennialPlugin({ role: 'training', artifacts, backend: config.tfBackend })],
      maxConcurrentActivityTaskExecutions: config.trainingSlots,
      // on SIGTERM, training goes on this long; then it stops at its epoch and is retried elsewhere from its checkpoint
      shutdownGraceTime: config.trainingStopGrace,
    }));
  }
  const running = workers.map((w) => w.run());
  let workerFailure: Error | undefined;
  running.forEach((p) => p.catch((err: Error) => {
    workerFailure = err;
    log(`worker stopped with an error: ${err.message}`);
    opts.onWorkerFailure?.(err);
  }));
  if (parts.orchestration) {
    await ensureRetentionSchedule(client, config.taskQueues.orchestration, config.predictionRetention)
      .catch((err: Error) => log(`prediction retention schedule: not set up (${err.message.split('\n')[0]})`));
  }
  const housekeeping = parts.orchestration
    ? startHousekeeping({
      db: database!.db, client, artifacts, canaryIntervalMs: config.canaryReconcileMs, datasetRetentionMs: config.datasetRetentionMs, log,
    })
    : undefined;
  const webhookDispatcher = parts.orchestration
    ? await startWebhookDispatcher({ database: database!, client, taskQueue: config.taskQueues.orchestration, log })
    : undefined;

  let server: DrainableServer | undefined;
  let modelServer: ModelServer | undefined;
  let apiUrl: string | undefined;
  if (parts.api) {
    const metrics = createMetrics();
    const predictionCounters = new Map<string, { count: number }>();
    const predictionLog = createPredictionLog({
      db: database!.db, copyIn: database!.copyIn, sampleRate: config.predictionLog.sampleRate, capacity: config.predictionLog.capacity, maxBytes: config.predictionLog.maxBytes, log,
      // embedded PGlite writes on this thread: smaller batches keep each pause of the event loop short
      batchSize: database!.kind === 'pglite' ? 200 : 1_000,
      onDrop: (n) => metrics.predictionLogDropped.inc(n),
      onDeadLetter: (n) => metrics.predictionLogDeadLetters.inc(n),
    });
    modelServer = createModelServer({
      database: database!, artifacts, backend: config.tfBackend, predictionLog, log, maxCostPerRequest: config.predictMaxCost,
      onPrediction: (model, version, role, n) => {
        const key = `${model}\0${version}\0${role}`;
        let counter = predictionCounters.get(key);
        if (!counter) predictionCounters.set(key, counter = metrics.predictions.series({ model, version: String(version), role }));
        counter.count += n;
      },
    });
    new Gauge({
      name: 'perennial_prediction_log_pending', help: 'Prediction log rows waiting to be written', registers: [metrics.registry],
      collect() { this.set(predictionLog.pending); },
    });
    await modelServer.start();
    const api = createApi({
      config, database: database!, client, server: modelServer, metrics, codec,
      workersRunning: workers.length ? () => workerFailure === undefined : undefined,
    });
    await new Promise<void>((resolve) => {
      server = createDrainableServer(api.listener);
      answerClientErrors(server.server);
      server.server.listen(config.port, config.host, () => {
        apiUrl = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${(server!.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    config, database, client, apiUrl, temporalAddress: address,
    workerFailure: () => workerFailure,
    stop() {
      stopping ??= (async () => {
        housekeeping?.stop();
        await webhookDispatcher?.stop();
        // the requests in flight are answered (keep-alive off from here), then the prediction log's last batch is written
        await server?.drain(API_DRAIN_MS);
        await modelServer?.close();
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(running);
        await nativeConnection?.close();
        await connection.close();
        if (!opts.database) await database?.close();
      })();
      return stopping;
    },
  };
}
