/**
 * Ingest and validate: the first two stages. Ingest brings any source to the artifact store once,
 * under the sha256 of its bytes, and profiles it with DuckDB; validate holds it against what the
 * model needs and against the model's data contract.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { dataContracts, datasets } from '../db/schema';
import type { ArtifactStore } from '../db/artifacts';
import type { ContractColumn, DatasetStatistics, DatasetVersion, ValidationReport } from '../common/domain';
import type { DatasetSpec, ValidationOptions } from '../common/pipeline-request';
import { redactUri } from '../common/source-uri';
import type { ModelTask } from '../common/vocabulary';
import { registerDataset, storedVersion } from './dataset-ingest';
import { quoteIdent, sourceSql, withDuckDb } from './duckdb';
import type { VetTarget } from './http-source';
import { duckDbLimitsOf, RULES, type SourcePolicy } from './source-policy';
import { datasetError, fetchSource, plannedSource } from './sources';
import {
  checkAgainstContract, checkDuplicates, checkUsable, contractFrom, DEFAULT_VALIDATION, Findings, type Measurements,
} from './validation';

export interface DataDeps {
  db: Db;
  artifacts: ArtifactStore;
  /** where a dataset may come from, and how much of it */
  sources: SourcePolicy;
  /** how each http(s) hop's address is vetted; the source policy's check unless a test names another */
  vet?: VetTarget;
}

export function createDataActivities({ db, artifacts, sources, vet }: DataDeps) {
  const registry = { db, artifacts, duckdb: duckDbLimitsOf(sources), maxBytes: sources.maxBytes };
  /** the stored file of a dataset version, as a DuckDB table expression */
  async function sourceOf(hash: string) {
    const [d] = await db.select().from(datasets).where(eq(datasets.hash, hash));
    if (!d) throw datasetError(`Dataset version ${hash} is not in the registry.`);
    return { row: d, source: sourceSql(await artifacts.localPath(d.artifactKey), d.format, d.readOptions) };
  }

  return {
    /**
     * Brings the source to the artifact store once, under the sha256 of its bytes (the dataset
     * version), and profiles every column with DuckDB. The source policy is applied again here.
     */
    async ingestDataset(spec: DatasetSpec): Promise<DatasetVersion> {
      const plan = await plannedSource(spec, sources);
      if (plan.kind === 'dataset') {
        const version = await storedVersion(db, plan.hash);
        if (!version) throw datasetError(`dataset.uri: ${RULES.unknownDataset} (${plan.hash})`);
        return version;
      }
      const local = await fetchSource(spec, sources, { vet });
      try {
        const shown = redactUri(spec.uri);
        return await registerDataset(registry, {
          file: local.file, name: local.name, format: spec.format ?? (spec.query ? 'ndjson' : undefined), csv: spec.csv,
          sourceUri: spec.query ? `${shown} :: ${spec.query}` : shown, shown,
        });
      } finally {
        await local.cleanup();
      }
    },

    /**
     * Holds the dataset against what the model needs and, once the model has a data contract,
     * against the contract (schema) and the previous accepted version (drift). Every anomaly is
     * named; none is a crash. A version that passes becomes the model's previous version.
     */
    async validateDataset(input: {
      model: string; dataset: DatasetVersion; target: string; features?: string[]; task?: ModelTask; options?: Partial<ValidationOptions>;
    }): Promise<ValidationReport> {
      const opts = { ...DEFAULT_VALIDATION, ...input.options };
      const current = await sourceOf(input.dataset.hash);
      const stats = current.row.statistics;
      const f = new Findings();
      const { task, features } = checkUsable(f, input.dataset, stats, input.target, input.features, input.task);
      checkDuplicates(f, stats, opts);

      const [contract] = await db.select().from(dataContracts).where(eq(dataContracts.modelName, input.model));
      if (contract && input.dataset.rows > 0) {
        const previous = await sourceOf(contract.previousHash);
        const previousStats = previous.row.statistics;
        const measured = await withDuckDb((conn) =>
          measure(conn, contract.columns, previousStats, stats, previous.source, current.source), registry.duckdb);
        checkAgainstContract(f, opts, contract.columns, stats, previousStats, measured, input.target);
      }

      if (f.passed) {
        if (!contract) {
          await db.insert(dataContracts).values({
            modelName: input.model, referenceHash: input.dataset.hash, columns: contractFrom(stats), previousHash: input.dataset.hash,
          }).onConflictDoNothing();
        } else {
          await db.update(dataContracts).set({ previousHash: input.dataset.hash, updatedAt: new Date() })
            .where(eq(dataContracts.modelName, input.model));
        }
      }
      return {
        passed: f.passed, anomalies: f.anomalies, task, features,
        reference: { contract: contract?.referenceHash ?? null, previous: contract?.previousHash ?? null },
      };
    },
  };
}

/** Out-of-range counts against the contract, and bin counts over the previous version's quantiles. */
async function measure(conn: DuckDBConnection, contract: ContractColumn[], previous: DatasetStatistics, current: DatasetStatistics,
  previousSource: string, currentSource: string): Promise<Measurements> {
  const result: Measurements = { outOfRange: {}, bins: {} };
  const now = new Map(current.columns.map((c) => [c.name, c]));
  const before = new Map(previous.columns.map((c) => [c.name, c]));
  const ranged = contract.filter((c) => c.kind === 'numeric' && c.min != null && c.max != null && now.get(c.name)?.kind === 'numeric');
  const binned = current.columns.filter((c) => c.kind === 'numeric' && before.get(c.name)?.kind === 'numeric' && before.get(c.name)?.quantiles);
  const edgesOf = (name: string) => [...new Set(Object.values(before.get(name)!.quantiles!))].sort((a, b) => a - b);
  const binExpr = (name: string) => {
    const x = `${quoteIdent(name)}::DOUBLE`;
    const edges = edgesOf(name);
    return `histogram(CASE ${edges.map((e, i) => `WHEN ${x} <= ${e} THEN ${i}`).join(' ')} ELSE ${edges.length} END) FILTER (WHERE ${x} IS NOT NULL)`;
  };
  const toCounts = (entries: unknown, n: number) => {
    const counts = new Array<number>(n).fill(0);
    for (const e of (entries as { key: unknown; value: unknown }[] | null) ?? []) counts[Number(e.key)] += Number(e.value);
    return counts;
  };

  const exprs = [
    ...ranged.map((c, i) => `count(*) FILTER (WHERE ${quoteIdent(c.name)}::DOUBLE < ${c.min} OR ${quoteIdent(c.name)}::DOUBLE > ${c.max})::DOUBLE AS "r${i}"`),
    ...binned.map((c, i) => `${binExpr(c.name)} AS "b${i}"`),
  ];
  if (!exprs.length) return result;
  const [cur] = (await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${currentSource}`)).getRowObjectsJS();
  ranged.forEach((c, i) => { result.outOfRange[c.name] = Number(cur[`r${i}`]); });
  if (binned.length) {
    // the same file as the previous version (a retraining on unchanged data): its bins are these, no second read
    const [prev] = previousSource === currentSource ? [cur]
      : (await conn.runAndReadAll(`SELECT ${binned.map((c, i) => `${binExpr(c.name)} AS "b${i}"`).join(', ')} FROM ${previousSource}`)).getRowObjectsJS();
    binned.forEach((c, i) => {
      const n = edgesOf(c.name).length + 1;
      result.bins[c.name] = { previous: toCounts(prev[`b${i}`], n), current: toCounts(cur[`b${i}`], n) };
    });
  }
  return result;
}
