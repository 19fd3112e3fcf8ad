/**
 * The monitor's activities: measure a window against the production version's reference, record
 * the report, start (or join) a retraining, find the spec a retraining runs, look for new bytes at
 * the training source, and start or re-target a model's monitor after a promotion. The monitor
 * workflow decides; these do the I/O. Every write is idempotent (keyed by report id or workflow id).
 */
import type { Client } from '@temporalio/client';
import { and, desc, eq, sql } from 'drizzle-orm';
import { ApplicationFailure } from '@temporalio/activity';
import type { DriftReportCore } from '../common/drift-report';
import { SystemActors, systemActor } from '../common/actors';
import { writeAudit } from '../db/audit';
import { prunePredictions } from '../db/prediction-retention';
import { msOf } from '../common/durations';
import { MonitorSettingsPatchSchema, type DriftReport, type MonitorSettings } from '../common/monitor-settings';
import { watchModel } from '../common/monitor-start';
import { TASK_QUEUES } from '../common/names';
import type { PipelineRequest, PipelineSpec, PipelineTrigger } from '../common/pipeline-request';
import type { PipelineQueues } from '../common/pipeline-start';
import { applyPolicy } from '../common/policy';
import { startRetraining, type RetrainingStarted } from '../common/retraining';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { policyOf } from '../db/policies';
import { driftReports, modelVersions, pipelineRuns } from '../db/schema';
import { calibrateBase, calibrationSampleRows, checkDrift, thresholdsFor, type DriftColumns, type ThresholdBase } from '../ml/drift-check';
import { loadReference, saveThresholdBase, type DriftReference } from './drift-reference';
import type { ReferenceScores } from '../common/domain';
import { estimateAccuracy, fitCbpe } from '../ml/cbpe';
import { sortedFloat64 } from '../ml/drift-stats';
import { countWindow, readWindow, windowPerformance } from './drift-window';

export interface MonitoringDeps {
  db: Db;
  artifacts: ArtifactStore;
  /** starts retrainings and monitors; absent where a worker runs without one (then those activities fail) */
  client?: Client;
  queues?: PipelineQueues;
}

export interface MeasureInput {
  reportId: string;
  model: string;
  version: number;
  settings: MonitorSettings;
  /** ISO time: the window is (windowEnd - settings.window, windowEnd] */
  windowEnd: string;
}

/** A measured window, before the monitor decides: its report with action 'none', and what the decision needs. */
export interface Measurement {
  report: DriftReport;
  /** the window had at least minRows rows and was compared */
  judged: boolean;
}

/** The version's answers on its held-out rows, as prediction drift compares them: the class it answered, or the value. */
function heldOutAnswers(scores: ReferenceScores): DriftColumns | null {
  if (scores.values) return { rows: scores.values.length, numeric: { prediction: sortedFloat64(scores.values) }, categorical: {} };
  const k = scores.labels.length;
  if (k === 0) return null;
  const answered = new Map<string, number>();
  const rows = scores.probabilities.length / k;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores.probabilities[r * k + j] > scores.probabilities[r * k + best]) best = j;
    answered.set(scores.labels[best], (answered.get(scores.labels[best]) ?? 0) + 1);
  }
  return { rows, numeric: {}, categorical: { prediction: answered } };
}

/**
 * Accuracy without labels (CBPE, as NannyML defines it): calibrated on the version's held-out
 * answers and their truth, then the expected share of right answers in the window, with its band.
 */
function estimateWithCbpe(scores: ReferenceScores, window: Float64Array, windowRows: number): DriftReport['estimated'] {
  const k = scores.labels.length;
  const kept = scores.truth.map((c, i) => (c >= 0 && c < k ? i : -1)).filter((i) => i >= 0);
  if (kept.length < 2 || k < 2) return null;
  const probabilities = new Float64Array(kept.length * k);
  kept.forEach((row, i) => { for (let j = 0; j < k; j++) probabilities[i * k + j] = scores.probabilities[row * k + j]; });
  const model = fitCbpe({ probabilities, truth: Int32Array.from(kept, (row) => scores.truth[row]), classes: k });
  const e = estimateAccuracy(model, window.subarray(0, windowRows * k), k);
  return { method: 'cbpe', accuracy: e.accuracy, lower: e.lower, upper: e.upper, rows: e.rows };
}

/** A fixed seed per version: the same version calibrates to the same thresholds. */
const calibrationSeed = (version: number) => 0x5eed + version;

async function thresholds(db: Db, ref: DriftReference, columns: DriftColumns, windowRows: number, tag: string) {
  const sampleRows = calibrationSampleRows(windowRows);
  const key = `${tag}:${sampleRows}`;
  let base: ThresholdBase | undefined = ref.thresholdBases[key];
  if (!base) {
    base = calibrateBase(columns, sampleRows, { seed: calibrationSeed(ref.version) });
    await saveThresholdBase(db, ref.model, ref.version, key, base);
  }
  return thresholdsFor(base, windowRows);
}

/**
 * What a report raises an alarm about: dataset drift, or a performance drop the monitor acted on
 * (workflows/monitor.ts gives that decision a reason starting "accuracy"). A paused monitor and a
 * window too small to judge raise none.
 */
export function alarmOf(report: DriftReport): Record<string, unknown> | null {
  if (report.action === 'paused' || report.action === 'too_few_rows') return null;
  const drifted = report.features.filter((f) => f.drifted).map((f) => f.name);
  const common = {
    reportId: report.id, action: report.action, reason: report.reason, windowStart: report.windowStart, windowEnd: report.windowEnd, rows: report.rows,
  };
  if (report.datasetDrift) {
    return {
      kind: 'drift', ...common, driftShare: report.driftShare, features: report.features.length, driftedFeatures: drifted.length,
      drifted: drifted.slice(0, 50), predictionDrifted: report.prediction?.drifted ?? null,
    };
  }
  const acted = ['retraining_started', 'retraining_running', 'cooldown'].includes(report.action);
  if (acted && report.performance?.drop != null && report.reason?.startsWith('accuracy')) {
    return { kind: 'performance', ...common, performance: report.performance };
  }
  return null;
}

const emptyCore = (rows: number, referenceRows: number, mode: DriftReportCore['tests']): DriftReportCore => ({
  rows, reference: { rows: referenceRows }, tests: mode, calibration: null, features: [], skipped: [], driftShare: 0, datasetDrift: false,
});

export function createMonitoringActivities({ db, artifacts, client, queues }: MonitoringDeps) {
  const temporal = () => {
    if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client for monitoring activities', 'NoTemporalClient');
    return client;
  };
  const retrainingQueues = queues ?? { orchestration: TASK_QUEUES.orchestration, training: TASK_QUEUES.training };

  return {
    /** One check: the window against the reference, every statistic, prediction drift, performance on labels. */
    async measureDrift(input: MeasureInput): Promise<Measurement> {
      const { settings } = input;
      const ref = await loadReference({ db, artifacts }, input.model, input.version);
      const end = new Date(input.windowEnd);
      const start = new Date(end.getTime() - msOf(settings.window));
      const mode = settings.tests ?? 'calibrated';
      const request = { model: input.model, version: input.version, start, end, kinds: ref.kinds, task: ref.task };
      const rows = await countWindow(db, request);
      const head = {
        id: input.reportId, model: input.model, version: input.version, windowStart: start.toISOString(), windowEnd: end.toISOString(),
        prediction: null, performance: null, estimated: null, action: 'none' as const, pipelineId: null, reason: null, at: new Date().toISOString(),
      };
      const reference = { rows: ref.rows, datasetHash: ref.datasetHash };
      if (rows < settings.minRows) {
        return {
          judged: false,
          report: { ...emptyCore(rows, ref.rows, mode), ...head, reference, reason: `${rows} predictions in the window; a check needs ${settings.minRows}` },
        };
      }
      const { scores } = ref;
      const window = await readWindow(db, { ...request, classes: ref.task === 'classification' ? scores?.labels : undefined }, rows);
      const core = checkDrift(ref.features, window.features, {
        tests: mode, driftShare: settings.driftShare,
        thresholds: mode === 'calibrated' ? await thresholds(db, ref, ref.features, window.features.rows, 'features') : undefined,
      });

      // prediction drift: the window's answers against the version's own answers on its held-out rows
      // (versions evaluated before those were kept: against the training labels)
      let prediction: DriftReport['prediction'] = null;
      const answers = scores ? heldOutAnswers(scores) : null;
      const predictionReference = answers ?? ref.target;
      if (window.prediction.rows > 0 && predictionReference.rows > 0) {
        const p = checkDrift(predictionReference, window.prediction, {
          tests: mode, driftShare: 1,
          thresholds: mode === 'calibrated'
            ? await thresholds(db, ref, predictionReference, window.prediction.rows, answers ? 'answers' : 'prediction')
            : undefined,
        }).features[0];
        if (p) prediction = { test: p.test, statistic: p.statistic, threshold: p.threshold, drifted: p.drifted };
      }

      const measured = await windowPerformance(db, request);
      let performance: DriftReport['performance'] = null;
      if (measured.labels >= settings.minLabels) {
        const expected = ref.task === 'classification' ? ref.expected.accuracy ?? null : ref.expected.mae ?? null;
        performance = {
          ...measured, expected,
          drop: ref.task === 'classification' && expected !== null && measured.accuracy !== undefined ? expected - measured.accuracy : null,
        };
      }
      const estimated = scores && ref.task === 'classification' && window.probabilities && window.probabilityRows > 0
        ? estimateWithCbpe(scores, window.probabilities, window.probabilityRows)
        : null;
      return { judged: true, report: { ...core, ...head, reference, prediction, performance, estimated } };
    },

    /** The retention schedule's work: predictions (and their feedback) older than `retention` go; audited with the count. */
    async prunePredictionLog(input: { retention: string }): Promise<{ predictions: number }> {
      const removed = await prunePredictions(db, msOf(input.retention));
      if (removed > 0) {
        await writeAudit(db, { action: 'predictions.prune', actor: systemActor('retention'), details: { predictions: removed, olderThan: input.retention } });
      }
      return { predictions: removed };
    },

    /** The report, and with it an alarm (drift.detected, once per report) when it found drift or a performance drop. */
    async recordDriftReport(report: DriftReport): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.insert(driftReports).values({
          id: report.id, modelName: report.model, version: report.version, windowStart: new Date(report.windowStart),
          windowEnd: new Date(report.windowEnd), rows: report.rows, datasetDrift: report.datasetDrift, action: report.action,
          pipelineId: report.pipelineId, report,
        }).onConflictDoNothing();
        const details = alarmOf(report);
        if (details) {
          await writeAudit(tx, {
            action: 'drift.detected', actor: SystemActors.monitor, model: report.model, version: report.version, pipelineId: report.pipelineId,
            details, idempotencyKey: `${report.id}:drift.detected`,
          });
        }
      });
    },

    /** Starts `retrain-<model>`, or joins the one running. */
    async requestRetraining(input: { model: string; trigger: PipelineTrigger; spec?: PipelineSpec; datasetUri?: string }): Promise<RetrainingStarted> {
      const r = await startRetraining(temporal(), input, retrainingQueues);
      // a retraining the monitor or a schedule started is audited once (a retried activity finds it joined, or the key taken)
      if (r.started) {
        await writeAudit(db, {
          action: 'retraining.start', actor: input.trigger.kind === 'schedule' ? systemActor(input.trigger.by ?? 'schedule') : SystemActors.monitor,
          model: input.model, pipelineId: r.pipelineId, idempotencyKey: `${r.pipelineId}:retraining.start`,
          details: { trigger: input.trigger },
        });
      }
      return r;
    },

    /**
     * What a retraining runs: the given spec (a schedule's) or the model's last production pipeline
     * spec, under the model's policy as it is now (a tightened policy applies), on new data when given.
     */
    async retrainingSpec(input: { model: string; spec?: PipelineSpec; datasetUri?: string }): Promise<PipelineSpec> {
      let spec = input.spec;
      if (!spec) {
        const [last] = await db.select({ request: pipelineRuns.request }).from(modelVersions)
          .innerJoin(pipelineRuns, eq(pipelineRuns.id, modelVersions.pipelineId))
          .where(and(eq(modelVersions.modelName, input.model), sql`${modelVersions.status} in ('production', 'archived')`))
          .orderBy(sql`${modelVersions.status} = 'production' desc`, desc(modelVersions.version)).limit(1);
        if (!last) throw ApplicationFailure.nonRetryable(`Model ${input.model} has never been in production: there is no spec to retrain.`, 'NothingToRetrain');
        spec = last.request;
      }
      const fresh: PipelineSpec = structuredClone(spec);
      if (input.datasetUri) fresh.dataset = { ...fresh.dataset, uri: input.datasetUri };
      // tuning is kept; a cached training of the same data and params is still reused by the pipeline
      return applyPolicy({} as PipelineRequest, fresh, await policyOf(db, input.model)).spec;
    },

    /**
     * The watch option: the hash of the newest dataset the model's last production spec read, set
     * against the version's. Reading is the pipeline's ingest (the same source rules); a
     * retraining starts only from bytes no pipeline of this model has used or been started on.
     */
    async sourceHasNewData(input: { model: string; version: number; hash: string }): Promise<{ fresh: boolean }> {
      const seen = await db.select({ n: sql<number>`count(*)::int` }).from(pipelineRuns)
        .where(and(eq(pipelineRuns.modelName, input.model), sql`(${pipelineRuns.trigger}->>'datasetHash' = ${input.hash}
          or ${pipelineRuns.outcome}->'dataset'->>'hash' = ${input.hash})`));
      const [version] = await db.select({ hash: modelVersions.datasetHash }).from(modelVersions)
        .where(and(eq(modelVersions.modelName, input.model), eq(modelVersions.version, input.version)));
      return { fresh: Number(seen[0]?.n ?? 0) === 0 && version?.hash !== input.hash };
    },

    /** The production version's training source, to read again (the watch option). */
    async productionSource(input: { model: string; version: number }): Promise<PipelineSpec['dataset'] | null> {
      const [row] = await db.select({ request: pipelineRuns.request }).from(modelVersions)
        .innerJoin(pipelineRuns, eq(pipelineRuns.id, modelVersions.pipelineId))
        .where(and(eq(modelVersions.modelName, input.model), eq(modelVersions.version, input.version)));
      return row ? row.request.dataset : null;
    },

    /**
     * Starts the model's monitor on its version (or re-targets the running one) after a promotion.
     * The settings patch (a pipeline's `monitor` field) is validated here, once, before it reaches the workflow.
     */
    async watchModel(input: { model: string; version: number; settings?: unknown }): Promise<{ workflowId: string }> {
      // the version's reference is built now, at promotion, not in its first check (a failure here leaves it to that check)
      await loadReference({ db, artifacts }, input.model, input.version).catch(() => undefined);
      return watchModel(temporal(), retrainingQueues.orchestration, { ...input, settings: MonitorSettingsPatchSchema.parse(input.settings ?? {}) });
    },
  };
}
