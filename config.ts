import { createSecretKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { DURATION_MESSAGE, DURATION_PATTERN, msOf } from './common/durations';
import { TASK_QUEUES } from './common/names';
import { SQL_SOURCE_NAME_PATTERN } from './common/source-uri';

/**
 * The one place that reads the environment. Every entry point (npm start, the API server,
 * the orchestration and training workers, scripts) calls loadConfig() and gets the same
 * validated, defaulted view of it, or one readable error naming every bad variable.
 */
const duration = z.string().regex(DURATION_PATTERN, DURATION_MESSAGE);
const GIB = 1024 ** 3;
const flag = z.enum(['true', 'false', '1', '0', '']).default('false').transform((v) => v === 'true' || v === '1');

/** `name=postgres://...,name=postgres://...`: the SQL connections an admin names for dataset sources */
const sqlSources = z.string().default('').transform((value, ctx) => {
  const sources: Record<string, string> = {};
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const url = entry.slice(eq + 1).trim();
    if (!SQL_SOURCE_NAME_PATTERN.test(name)) {
      ctx.addIssue({ code: 'custom', message: `each entry is name=postgres://...; names match ${SQL_SOURCE_NAME_PATTERN.source} (entry ${Object.keys(sources).length + 1})` });
    } else if (!/^postgres(ql)?:\/\//.test(url)) {
      ctx.addIssue({ code: 'custom', message: `${name}: a postgres:// URL` });
    } else if (sources[name]) {
      ctx.addIssue({ code: 'custom', message: `${name} is named twice` });
    } else sources[name] = url;
  }
  return sources;
});

/** the name of a payload encryption key: it is written, in plain, into every payload encrypted under it */
const CODEC_KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const DEFAULT_CODEC_KEY_ID = 'default';
const CODEC_KEY_MESSAGE = 'must be base64 of exactly 32 bytes (make one with `openssl rand -base64 32`)';

/** base64 text -> the 32 bytes of an AES-256 key, or null; the text itself never reaches a message */
function codecKeyBytes(text: string): Buffer | null {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t) || t.length % 4 !== 0) return null;
  const bytes = Buffer.from(t, 'base64');
  return bytes.length === 32 ? bytes : null;
}

/** PERENNIAL_CODEC_KEY: absent or empty is off; else base64 of 32 bytes */
const codecKey = z.string().optional().transform((value, ctx) => {
  if (!value?.trim()) return undefined;
  const bytes = codecKeyBytes(value);
  if (!bytes) ctx.addIssue({ code: 'custom', message: CODEC_KEY_MESSAGE });
  return bytes ?? undefined;
});

/** `id=base64,id2=base64`: keys no longer used to encrypt, kept to read what was encrypted under them */
const codecOldKeys = z.string().default('').transform((value, ctx) => {
  const keys = new Map<string, Buffer>();
  value.split(',').map((e) => e.trim()).filter(Boolean).forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq).trim() : '';
    // a bare key ends in '=': its text must not come back as an "id" in the message
    if (!CODEC_KEY_ID_PATTERN.test(id) || !entry.slice(eq + 1).trim()) {
      ctx.addIssue({ code: 'custom', message: `each entry is id=base64; ids match ${CODEC_KEY_ID_PATTERN.source} (entry ${i + 1})` });
      return;
    }
    const bytes = codecKeyBytes(entry.slice(eq + 1));
    if (!bytes) ctx.addIssue({ code: 'custom', message: `${id}: ${CODEC_KEY_MESSAGE}` });
    else if (keys.has(id)) ctx.addIssue({ code: 'custom', message: `${id} is named twice` });
    else keys.set(id, bytes);
  });
  return keys;
});

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PERENNIAL_DATA_DIR: z.string().default('.data'),
  PERENNIAL_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PERENNIAL_RATE_LIMIT: z.coerce.number().min(0).default(1000),
  PERENNIAL_RATE_LIMIT_BURST: z.coerce.number().int().min(1).optional(),
  PERENNIAL_METRICS_TOKEN: z.union([z.literal(''), z.string().min(16, 'must be at least 16 characters')]).optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_CLI: z.string().optional(),
  PERENNIAL_TEMPORAL_UI_URL: z.string().url().optional(),
  PERENNIAL_PUBLIC_URL: z.string().url().regex(/^https?:\/\//, 'an http(s) URL').optional(),
  PERENNIAL_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  PERENNIAL_TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
  PERENNIAL_TASK_QUEUE: z.string().default(TASK_QUEUES.orchestration),
  PERENNIAL_TRAINING_TASK_QUEUE: z.string().default(TASK_QUEUES.training),
  PERENNIAL_TF_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  PERENNIAL_TRAINING_SLOTS: z.coerce.number().int().min(1).default(1),
  PERENNIAL_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  PERENNIAL_HEARTBEAT_TIMEOUT: duration.default('2m'),
  PERENNIAL_TRAINING_STOP_GRACE: duration.default('30s'),
  PERENNIAL_SOURCE_TIMEOUT: duration.default('60s'),
  PERENNIAL_SESSION_TTL: duration.default('8h'),
  PERENNIAL_IMPORT_ROOTS: z.string().default('datasets:node_modules/vega-datasets/data'),
  PERENNIAL_ALLOW_PRIVATE_SOURCES: flag,
  PERENNIAL_MIGRATE_ON_START: z.enum(['true', 'false', '1', '0', '']).default('true').transform((v) => v !== 'false' && v !== '0'),
  PERENNIAL_ALLOW_PRIVATE_WEBHOOKS: flag,
  PERENNIAL_MAX_SOURCE_BYTES: z.coerce.number().int().min(1).default(GIB),
  PERENNIAL_MAX_SOURCE_ROWS: z.coerce.number().int().min(1).default(10_000_000),
  PERENNIAL_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(GIB),
  PERENNIAL_SQL_SOURCES: sqlSources,
  PERENNIAL_SQL_STATEMENT_TIMEOUT: duration.default('60s'),
  PERENNIAL_DUCKDB_MEMORY_LIMIT: z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'expected a size such as "2GB" or "512MiB"').default('2GB'),
  PERENNIAL_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  PERENNIAL_PREDICTION_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  PERENNIAL_PREDICTION_LOG_CAPACITY: z.coerce.number().int().min(100).default(50_000),
  PERENNIAL_CANARY_RECONCILE_INTERVAL: duration.default('1m'),
  PERENNIAL_DATASET_RETENTION: duration.default('7d'),
  PERENNIAL_PREDICTION_RETENTION: duration.default('180d'),
  PERENNIAL_PREDICT_MAX_COST: z.coerce.number().min(1e4).default(2e9),
  PERENNIAL_PREDICTION_LOG_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).default(64 * 1024 * 1024),
  PERENNIAL_CODEC_KEY: codecKey,
  PERENNIAL_CODEC_KEY_ID: z.string().trim().regex(CODEC_KEY_ID_PATTERN, `must match ${CODEC_KEY_ID_PATTERN.source}`).optional().or(z.literal('')),
  PERENNIAL_CODEC_OLD_KEYS: codecOldKeys,
}).superRefine((e, ctx) => {
  const keyId = e.PERENNIAL_CODEC_KEY_ID || DEFAULT_CODEC_KEY_ID;
  if (e.PERENNIAL_CODEC_KEY && e.PERENNIAL_CODEC_OLD_KEYS.has(keyId)) {
    ctx.addIssue({ code: 'custom', path: ['PERENNIAL_CODEC_OLD_KEYS'], message: `${keyId} is the current key's id (PERENNIAL_CODEC_KEY_ID): give a new key a new id` });
  }
});

/**
 * Payload encryption keys. KeyObjects, so that printing or serialising a config never shows a key's
 * bytes (`JSON.stringify` of one is `{}`).
 */
export interface CodecKeys {
  /** the key every new payload is encrypted under; absent: decode only (encryption being turned off) */
  current?: { id: string; key: KeyObject };
  /** every key a payload may name, the current one included */
  readable: Map<string, KeyObject>;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  artifactsDir: string;
  adminToken?: string;
  /** when set, GET /metrics needs it as a bearer token */
  metricsToken?: string;
  /** requests a second per API key on one replica (0: no limit), and the burst a quiet key may spend at once */
  rateLimit: { perSecond: number; burst: number };
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
  /** whether the API and orchestration worker apply migrations as they start (off where their role may not change the schema) */
  migrateOnStart: boolean;
  taskQueues: { orchestration: string; training: string };
  tfBackend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  trainingSlots: number;
  maxBodyBytes: number;
  /** where people and webhook receivers reach the API, e.g. https://perennial.example.com (no trailing slash) */
  publicUrl: string;
  /** where webhooks may deliver (activities/webhook-target.ts applies it at creation and at every delivery) */
  webhooks: {
    /** PERENNIAL_ALLOW_PRIVATE_WEBHOOKS: receivers may be on loopback and private networks */
    allowPrivateAddresses: boolean;
  };
  heartbeatTimeout: string;
  /** how long a stopping training worker lets its training run on before it hands it back, from the last checkpoint */
  trainingStopGrace: string;
  /** how long an http(s) dataset source may take to answer, in ms */
  sourceTimeoutMs: number;
  /** how long a console sign-in lasts */
  sessionTtlMs: number;
  /** where a dataset may come from, and how much of it (activities/source-policy.ts applies these) */
  sources: {
    /** absolute, resolved against the working directory; empty: no local files */
    importRoots: string[];
    allowPrivateAddresses: boolean;
    maxBytes: number;
    maxRows: number;
    /** name -> postgres:// URL */
    sql: Record<string, string>;
    statementTimeoutMs: number;
  };
  maxUploadBytes: number;
  /** DuckDB's memory_limit, e.g. "2GB" */
  duckdbMemoryLimit: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** how often a canary slot that no running workflow holds is looked for and freed, in ms */
  canaryReconcileMs: number;
  /** how long a dataset version nothing uses is kept before its row and bytes are removed, in ms */
  datasetRetentionMs: number;
  /** predictions (and their feedback) older than this are pruned by the retention schedule */
  predictionRetention: string;
  /** instances × the model's weights one predict request may cost (multiply-adds, near enough) */
  predictMaxCost: number;
  predictionLog: {
    /** 0-1: the share of predictions written to the log */
    sampleRate: number;
    /** rows held in memory while the database is unreachable, before the oldest are dropped */
    capacity: number;
    /** bytes (estimated from the rows' features) held likewise */
    maxBytes: number;
  };
  /** payload encryption (platform/codec.ts); absent: Temporal stores payloads as they are */
  codec?: CodecKeys;
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
    rateLimit: { perSecond: e.PERENNIAL_RATE_LIMIT, burst: e.PERENNIAL_RATE_LIMIT_BURST ?? Math.max(1, Math.ceil(2 * e.PERENNIAL_RATE_LIMIT)) },
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI,
      uiUrl: (e.PERENNIAL_TEMPORAL_UI_URL ?? `http://localhost:${e.PERENNIAL_TEMPORAL_UI_PORT}`).replace(/\/$/, ''),
      uiPort: e.PERENNIAL_TEMPORAL_UI_PORT,
      devPort: e.PERENNIAL_TEMPORAL_DEV_PORT,
    },
    databaseUrl: e.DATABASE_URL,
    migrateOnStart: e.PERENNIAL_MIGRATE_ON_START,
    taskQueues: { orchestration: e.PERENNIAL_TASK_QUEUE, training: e.PERENNIAL_TRAINING_TASK_QUEUE },
    tfBackend: e.PERENNIAL_TF_BACKEND,
    trainingSlots: e.PERENNIAL_TRAINING_SLOTS,
    maxBodyBytes: e.PERENNIAL_MAX_BODY_BYTES,
    publicUrl: (e.PERENNIAL_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    webhooks: { allowPrivateAddresses: e.PERENNIAL_ALLOW_PRIVATE_WEBHOOKS },
    heartbeatTimeout: e.PERENNIAL_HEARTBEAT_TIMEOUT,
    trainingStopGrace: e.PERENNIAL_TRAINING_STOP_GRACE,
    sourceTimeoutMs: msOf(e.PERENNIAL_SOURCE_TIMEOUT),
    sessionTtlMs: msOf(e.PERENNIAL_SESSION_TTL),
    canaryReconcileMs: msOf(e.PERENNIAL_CANARY_RECONCILE_INTERVAL),
    datasetRetentionMs: msOf(e.PERENNIAL_DATASET_RETENTION),
    predictionRetention: e.PERENNIAL_PREDICTION_RETENTION,
    sources: {
      importRoots: e.PERENNIAL_IMPORT_ROOTS.split(':').map((r) => r.trim()).filter(Boolean).map((r) => path.resolve(r)),
      allowPrivateAddresses: e.PERENNIAL_ALLOW_PRIVATE_SOURCES,
      maxBytes: e.PERENNIAL_MAX_SOURCE_BYTES,
      maxRows: e.PERENNIAL_MAX_SOURCE_ROWS,
      sql: e.PERENNIAL_SQL_SOURCES,
      statementTimeoutMs: msOf(e.PERENNIAL_SQL_STATEMENT_TIMEOUT),
    },
    maxUploadBytes: e.PERENNIAL_MAX_UPLOAD_BYTES,
    duckdbMemoryLimit: e.PERENNIAL_DUCKDB_MEMORY_LIMIT,
    logLevel: e.PERENNIAL_LOG_LEVEL,
    predictMaxCost: e.PERENNIAL_PREDICT_MAX_COST,
    predictionLog: { sampleRate: e.PERENNIAL_PREDICTION_SAMPLE_RATE, capacity: e.PERENNIAL_PREDICTION_LOG_CAPACITY, maxBytes: e.PERENNIAL_PREDICTION_LOG_MAX_BYTES },
    codec: codecKeysOf(e.PERENNIAL_CODEC_KEY, e.PERENNIAL_CODEC_KEY_ID || DEFAULT_CODEC_KEY_ID, e.PERENNIAL_CODEC_OLD_KEYS),
  };
}

/** The keys, when any is set: the current one (encrypts and reads) and old ones (read only). */
function codecKeysOf(key: Buffer | undefined, keyId: string, oldKeys: Map<string, Buffer>): CodecKeys | undefined {
  if (!key && !oldKeys.size) return undefined;
  const readable = new Map([...oldKeys].map(([id, bytes]) => [id, createSecretKey(bytes)]));
  const current = key ? { id: keyId, key: createSecretKey(key) } : undefined;
  if (current) readable.set(current.id, current.key);
  for (const bytes of [key, ...oldKeys.values()]) bytes?.fill(0);
  return { current, readable };
}
