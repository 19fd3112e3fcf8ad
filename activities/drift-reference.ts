/**
 * The reference a monitor compares each window against: every row of the production version's
 * training dataset, as the drift statistics take it (numeric features sorted, categorical features
 * counted), and the training labels for prediction drift. DuckDB reads and sorts the file; the
 * result is stored once per version as a binary artifact (a JSON header, then Float64 values and
 * category counts), so a check never re-reads the dataset. Calibrated threshold bases are cached on
 * the same row per resample size.
 */
import crypto from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { referenceScoresKey, type ReferenceScores } from '../common/domain';
import type { ColumnSchema } from '../common/pipeline-status';
import type { ModelTask } from '../common/vocabulary';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { datasets, driftReferences, modelVersions } from '../db/schema';
import type { DriftColumns, ThresholdBase } from '../ml/drift-check';
import { quoteIdent, sourceSql, withDuckDb } from './duckdb';

/** How a feature is compared: numeric values, or categories (booleans and strings); datetimes are not compared. */
export type FeatureKind = 'numeric' | 'categorical' | 'skipped';

export function featureKind(column: ColumnSchema | undefined): FeatureKind {
  if (!column) return 'skipped';
  if (column.kind === 'numeric') return 'numeric';
  if (column.kind === 'categorical' || column.kind === 'boolean') return 'categorical';
  return 'skipped';
}

export interface DriftReference {
  model: string;
  version: number;
  task: ModelTask;
  datasetHash: string;
  rows: number;
  /** the version's features by how they are compared */
  kinds: Record<string, FeatureKind>;
  features: DriftColumns;
  /** the training labels: categorical (classifiers) or numeric (regression), under the name "prediction" */
  target: DriftColumns;
  /** the version's held-out accuracy (classifiers) or MAE (regression), when evaluation recorded it */
  expected: { accuracy?: number; mae?: number };
  artifactKey: string;
  /** the version's model bundle */
  modelArtifactKey: string;
  /** the version's answers on its held-out rows, kept beside the bundle at evaluation (null for versions evaluated before they were) */
  scores: ReferenceScores | null;
  thresholdBases: Record<string, ThresholdBase>;
}

interface Header {
  rows: number;
  numeric: { name: string; length: number }[];
  categorical: { name: string; categories: string[]; counts: number[] }[];
}

const PREDICTION = 'prediction';
/** bumped when buildReference's output changes, so no reference built the old way is taken for a new one */
const REFERENCE_LAYOUT = 1;

function encode(header: Header, arrays: Float64Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeUInt32LE(json.length, 0);
  // values start on an 8-byte boundary so they can be viewed as Float64Arrays without a copy
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  return Buffer.concat([head, json, Buffer.alloc(pad), ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))]);
}

function decode(bytes: Buffer): { header: Header; numeric: Record<string, Float64Array>; categorical: Record<string, Map<string, number>> } {
  const length = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Header;
  let offset = 8 + length + ((8 - ((8 + length) % 8)) % 8);
  const numeric: Record<string, Float64Array> = {};
  for (const { name, length: n } of header.numeric) {
    // copied out of the file's buffer: a Float64Array needs an aligned offset in its own buffer
    numeric[name] = new Float64Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + n * 8));
    offset += n * 8;
  }
  const categorical: Record<string, Map<string, number>> = {};
  for (const { name, categories, counts } of header.categorical) categorical[name] = new Map(categories.map((c, k) => [c, counts[k]]));
  return { header, numeric, categorical };
}

function columnsOf(decoded: ReturnType<typeof decode>, names: (name: string) => boolean, rows: number): DriftColumns {
  return {
    rows,
    numeric: Object.fromEntries(Object.entries(decoded.numeric).filter(([n]) => names(n))),
    categorical: Object.fromEntries(Object.entries(decoded.categorical).filter(([n]) => names(n))),
  };
}

/** Reads, sorts and counts the dataset's columns in DuckDB: one query per column, nothing row by row in JavaScript. */
async function buildReference(source: string, kinds: Record<string, FeatureKind>, target: { name: string; numeric: boolean }) {
  return withDuckDb(async (conn) => {
    const header: Header = { rows: 0, numeric: [], categorical: [] };
    const arrays: Float64Array[] = [];
    const labelled = `(SELECT * FROM ${source} WHERE ${quoteIdent(target.name)} IS NOT NULL)`;
    const rows = await conn.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${labelled}`);
    header.rows = Number(rows.getRowObjectsJS()[0].n);
    const numericColumn = async (name: string, column: string) => {
      const reader = await conn.runAndReadAll(`SELECT v FROM (SELECT TRY_CAST(${quoteIdent(column)} AS DOUBLE) AS v FROM ${labelled})
        WHERE v IS NOT NULL AND isfinite(v) AND abs(v) < 1e150 ORDER BY v`);
      const values = Float64Array.from(reader.getColumnsJS()[0] as number[]);
      header.numeric.push({ name, length: values.length });
      arrays.push(values);
    };
    const categoricalColumn = async (name: string, column: string) => {
      const reader = await conn.runAndReadAll(`SELECT ${quoteIdent(column)}::VARCHAR AS v, count(*)::DOUBLE AS n FROM ${labelled}
        WHERE ${quoteIdent(column)} IS NOT NULL GROUP BY 1 ORDER BY 1`);
      const counted = reader.getRowObjectsJS() as { v: string; n: number }[];
      header.categorical.push({ name, categories: counted.map((c) => String(c.v)), counts: counted.map((c) => Number(c.n)) });
    };
    for (const [name, kind] of Object.entries(kinds)) {
      if (kind === 'numeric') await numericColumn(name, name);
      else if (kind === 'categorical') await categoricalColumn(name, name);
    }
    if (target.numeric) await numericColumn(`\0${PREDICTION}`, target.name);
    else await categoricalColumn(`\0${PREDICTION}`, target.name);
    return encode(header, arrays);
  });
}

export interface ReferenceDeps {
  db: Db;
  artifacts: ArtifactStore;
}

/**
 * References read back recently, newest last, up to CACHE_BYTES of values: a worker that watches a
 * thousand models checks each every interval, and a version's reference never changes (only its
 * threshold bases grow, and saveThresholdBase adds them here too).
 */
const CACHE_BYTES = 256 * 2 ** 20;
interface ReferenceCache { entries: Map<string, { reference: DriftReference; bytes: number }>; bytes: number }
/** one cache per database: two platforms in one process (tests) never share a model's reference */
const caches = new WeakMap<Db, ReferenceCache>();
const cacheOf = (db: Db) => {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { entries: new Map(), bytes: 0 }));
  return c;
};
const cacheKey = (model: string, version: number) => `${model}\0${version}`;

function remember(db: Db, reference: DriftReference) {
  const cache = cacheOf(db);
  const bytes = 4096 + Object.values(reference.features.numeric).reduce((n, a) => n + a.byteLength, 0)
    + Object.values(reference.target.numeric).reduce((n, a) => n + a.byteLength, 0)
    + 8 * ((reference.scores?.probabilities.length ?? 0) + (reference.scores?.truth.length ?? 0) + (reference.scores?.values?.length ?? 0));
  if (bytes > CACHE_BYTES / 4) return;
  const key = cacheKey(reference.model, reference.version);
  const old = cache.entries.get(key);
  if (old) cache.bytes -= old.bytes;
  cache.entries.delete(key);
  cache.entries.set(key, { reference, bytes });
  cache.bytes += bytes;
  for (const [k, v] of cache.entries) {
    if (cache.bytes <= CACHE_BYTES) break;
    cache.entries.delete(k);
    cache.bytes -= v.bytes;
  }
}

/** What a reference is a function of, hashed: the dataset's bytes and how they are read, the features by kind in order, the target. */
function referenceContentKey(datasetHash: string, format: string, readOptions: unknown, kinds: Record<string, FeatureKind>, target: { name: string; numeric: boolean }) {
  return crypto.createHash('sha256').update(JSON.stringify([REFERENCE_LAYOUT, datasetHash, format, readOptions, Object.entries(kinds), target])).digest('hex');
}

/** The version's reference: built and stored on its first check, read back on every later one. */
export async function loadReference(deps: ReferenceDeps, model: string, version: number): Promise<DriftReference> {
  const { entries } = cacheOf(deps.db);
  const hit = entries.get(cacheKey(model, version));
  if (hit) {
    entries.delete(cacheKey(model, version));
    entries.set(cacheKey(model, version), hit);
    return hit.reference;
  }
  const reference = await readReference(deps, model, version);
  remember(deps.db, reference);
  return reference;
}

async function readReference({ db, artifacts }: ReferenceDeps, model: string, version: number): Promise<DriftReference> {
  const [v] = await db.select({
    task: modelVersions.task, datasetHash: modelVersions.datasetHash, target: modelVersions.target, features: modelVersions.features,
    metrics: modelVersions.metrics, artifactKey: modelVersions.artifactKey, schema: datasets.schema, format: datasets.format,
    readOptions: datasets.readOptions, datasetKey: datasets.artifactKey,
  }).from(modelVersions).innerJoin(datasets, eq(datasets.hash, modelVersions.datasetHash))
    .where(and(eq(modelVersions.modelName, model), eq(modelVersions.version, version)));
  if (!v) throw new Error(`model ${model} has no version ${version}`);
  const kinds = Object.fromEntries(v.features.map((name) => [name, featureKind(v.schema.find((c) => c.name === name))]));

  let [row] = await db.select().from(driftReferences).where(and(eq(driftReferences.modelName, model), eq(driftReferences.version, version)));
  if (!row) {
    // named by what it is built from: a version trained on the same bytes, features and target as an
    // earlier one (a retraining on unchanged data, another model on the same table) takes its reference as it is
    const target = { name: v.target, numeric: v.task === 'regression' };
    const artifactKey = `drift-references/${referenceContentKey(v.datasetHash, v.format, v.readOptions ?? {}, kinds, target)}.bin`;
    let bytes = await artifacts.exists(artifactKey) ? await artifacts.getBytes(artifactKey) : null;
    if (!bytes) {
      const file = await artifacts.localPath(v.datasetKey);
      bytes = await buildReference(sourceSql(file, v.format, v.readOptions ?? {}), kinds, target);
      await artifacts.putBytes(artifactKey, bytes);
    }
    const rows = decode(bytes).header.rows;
    await db.insert(driftReferences).values({ modelName: model, version, datasetHash: v.datasetHash, rows, artifactKey }).onConflictDoNothing();
    [row] = await db.select().from(driftReferences).where(and(eq(driftReferences.modelName, model), eq(driftReferences.version, version)));
  }
  const decoded = decode(await artifacts.getBytes(row.artifactKey));
  const isTarget = (n: string) => n === `\0${PREDICTION}`;
  const target = columnsOf(decoded, isTarget, decoded.header.rows);
  const rename = <T>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).map(([, a]) => [PREDICTION, a]));
  const metrics = v.metrics as Record<string, number | undefined>;
  return {
    model, version, task: v.task, datasetHash: v.datasetHash, rows: decoded.header.rows, kinds,
    features: columnsOf(decoded, (n) => !isTarget(n), decoded.header.rows),
    target: { rows: target.rows, numeric: rename(target.numeric), categorical: rename(target.categorical) },
    expected: { accuracy: metrics.accuracy, mae: metrics.mae },
    artifactKey: row.artifactKey,
    modelArtifactKey: v.artifactKey,
    scores: await readScores(artifacts, v.artifactKey),
    thresholdBases: row.thresholdBases,
  };
}

async function readScores(artifacts: ArtifactStore, modelArtifactKey: string): Promise<ReferenceScores | null> {
  const key = referenceScoresKey(modelArtifactKey);
  if (!(await artifacts.exists(key))) return null;
  return JSON.parse((await artifacts.getBytes(key)).toString('utf8')) as ReferenceScores;
}

/** Keeps a calibrated base with the version's reference, so no later check of the same size draws it again. */
export async function saveThresholdBase(db: Db, model: string, version: number, key: string, base: ThresholdBase): Promise<void> {
  const cached = cacheOf(db).entries.get(cacheKey(model, version));
  if (cached) cached.reference.thresholdBases = { ...cached.reference.thresholdBases, [key]: base };
  await db.update(driftReferences)
    .set({ thresholdBases: sql`${driftReferences.thresholdBases} || jsonb_build_object(${key}::text, ${JSON.stringify(base)}::jsonb)` })
    .where(and(eq(driftReferences.modelName, model), eq(driftReferences.version, version)));
}
