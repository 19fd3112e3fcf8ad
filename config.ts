import path from 'node:path';
import { z } from 'zod';
import { DURATION_MESSAGE, DURATION_PATTERN, msOf } from './common/durations';
import { TASK_QUEUES } from './common/names';

/**
 * The one place that reads the environment. Every entry point (npm start, the API server,
 * the orchestration and training workers, scripts) calls loadConfig() and gets the same
 * validated, defaulted view of it, or one readable error naming every bad variable.
 */
const duration = z.string().regex(DURATION_PATTERN, DURATION_MESSAGE);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PERENNIAL_DATA_DIR: z.string().default('.data'),
  PERENNIAL_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PERENNIAL_METRICS_TOKEN: z.union([z.literal(''), z.string().min(16, 'must be at least 16 characters')]).optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_CLI: z.string().optional(),
  PERENNIAL_TEMPORAL_UI_URL: z.string().url().optional(),
  PERENNIAL_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  PERENNIAL_TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
  PERENNIAL_TASK_QUEUE: z.string().default(TASK_QUEUES.orchestration),
  PERENNIAL_TRAINING_TASK_QUEUE: z.string().default(TASK_QUEUES.training),
  PERENNIAL_TF_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  PERENNIAL_TRAINING_SLOTS: z.coerce.number().int().min(1).default(1),
  PERENNIAL_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  PERENNIAL_HEARTBEAT_TIMEOUT: duration.default('2m'),
  PERENNIAL_SOURCE_TIMEOUT: duration.default('60s'),
  PERENNIAL_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  PERENNIAL_PREDICTION_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  PERENNIAL_PREDICTION_LOG_CAPACITY: z.coerce.number().int().min(100).default(50_000),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  artifactsDir: string;
  adminToken?: string;
  /** when set, GET /metrics needs it as a bearer token */
  metricsToken?: string;
  temporal: {
    /** undefined: `npm start` runs its own dev server */
    address?: string;
    namespace: string;
    cliPath?: string;
    uiUrl: string;
    uiPort: number;
    /** gRPC port of the dev server that `npm start` runs */
    devPort: number;
  };
  databaseUrl?: string;
  taskQueues: { orchestration: string; training: string };
  tfBackend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  trainingSlots: number;
  maxBodyBytes: number;
  heartbeatTimeout: string;
  /** how long an http(s) dataset source may take to answer, in ms */
  sourceTimeoutMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  predictionLog: {
    /** 0-1: the share of predictions written to the log */
    sampleRate: number;
    /** rows held in memory while the database is unreachable, before the oldest are dropped */
    capacity: number;
  };
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.PERENNIAL_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    artifactsDir: path.join(dataDir, 'artifacts'),
    adminToken: e.PERENNIAL_ADMIN_TOKEN,
    metricsToken: e.PERENNIAL_METRICS_TOKEN || undefined,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI,
      uiUrl: (e.PERENNIAL_TEMPORAL_UI_URL ?? `http://localhost:${e.PERENNIAL_TEMPORAL_UI_PORT}`).replace(/\/$/, ''),
      uiPort: e.PERENNIAL_TEMPORAL_UI_PORT,
      devPort: e.PERENNIAL_TEMPORAL_DEV_PORT,
    },
    databaseUrl: e.DATABASE_URL,
    taskQueues: { orchestration: e.PERENNIAL_TASK_QUEUE, training: e.PERENNIAL_TRAINING_TASK_QUEUE },
    tfBackend: e.PERENNIAL_TF_BACKEND,
    trainingSlots: e.PERENNIAL_TRAINING_SLOTS,
    maxBodyBytes: e.PERENNIAL_MAX_BODY_BYTES,
    heartbeatTimeout: e.PERENNIAL_HEARTBEAT_TIMEOUT,
    sourceTimeoutMs: msOf(e.PERENNIAL_SOURCE_TIMEOUT),
    logLevel: e.PERENNIAL_LOG_LEVEL,
    predictionLog: { sampleRate: e.PERENNIAL_PREDICTION_SAMPLE_RATE, capacity: e.PERENNIAL_PREDICTION_LOG_CAPACITY },
  };
}
