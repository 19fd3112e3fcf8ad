/**
 * Monitoring as the API sees it: a model's monitor asked through Temporal (status query, check,
 * pause, resume and settings Updates), its reports read from the database, and the two ways a
 * person starts a retraining (a retrain order, or new data arriving).
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, desc, eq, sql } from 'drizzle-orm';
import { createDataActivities } from '../activities/data';
import { sourcePolicyOf } from '../activities/source-policy';
import type { Principal } from '../common/domain';
import type { DriftReport, MonitorSettingsPatch, MonitorStatus } from '../common/monitor-settings';
import { watchModel } from '../common/monitor-start';
import { ErrorTypes, workflowIds } from '../common/names';
import { personActor } from '../common/actors';
import { writeAudit } from '../db/audit';
import { startRetraining, type RetrainingStarted } from '../common/retraining';
import type { Config } from '../config';
import type { ArtifactStore } from '../db/artifacts';
import type { Db } from '../db/client';
import { driftReports, models, pipelineRuns } from '../db/schema';
import {
  checkNowUpdate, monitorStatusQuery, pauseUpdate, resumeUpdate, retargetSignal, settingsUpdate, type MonitorView,
} from '../workflows/monitor-messages';
import { ApiError, conflict, notFound } from './errors';
import { checkDatasetSource } from './source-check';
import { workflowUiUrl } from '../common/temporal-ui';

export interface MonitoringServiceDeps {
  client: Client;
  db: Db;
  artifacts: ArtifactStore;
  config: Config;
  /** writes this replica's buffered prediction log, so a check sees the predictions it just answered */
  flushPredictionLog?: () => Promise<unknown>;
}

export const MAX_REPORTS = 200;

export function createMonitoringService({ client, db, artifacts, config, flushPredictionLog }: MonitoringServiceDeps) {
  const sources = sourcePolicyOf(config);
  const data = createDataActivities({ db, artifacts, sources });
  const queues = { ...config.taskQueues, heartbeatTimeout: config.heartbeatTimeout };
  const uiUrl = (id: string, runId: string) => workflowUiUrl(config.temporal, id, runId);

  async function productionVersion(model: string): Promise<number> {
    const [m] = await db.select({ production: models.productionVersion }).from(models).where(eq(models.name, model));
    if (!m) throw notFound(`Model ${model}`);
    if (m.production === null) throw conflict(`Model ${model} has no version in production: there is nothing to monitor or retrain.`);
    return m.production;
  }

  /** The running monitor's handle, or a 404 that says why there is none. */
  async function running(model: string) {
    const handle = client.workflow.getHandle(workflowIds.monitor(model));
    try {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') throw notFound(`A running monitor of model ${model}`);
      return { handle, runId: d.runId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`A monitor of model ${model}`);
      throw err;
    }
  }

  const statusOf = (v: MonitorView, runId: string): MonitorStatus => ({
    model: v.model, version: v.version, state: v.state, interval: v.settings.interval, lastCheck: v.lastCheck, nextCheck: v.nextCheck,
    lastReportId: v.lastReportId, lastAction: v.lastAction, lastRetrainingAt: v.lastRetrainingAt, checks: v.checks,
    failedChecks: v.failedChecks ?? 0, lastError: v.lastError ?? null,
    workflowId: workflowIds.monitor(v.model), temporalUiUrl: uiUrl(workflowIds.monitor(v.model), runId), settings: v.settings,
  });

  const updateRefusal = (err: unknown) => (err instanceof WorkflowUpdateFailedError ? new ApiError(400, 'invalid_settings', err.cause?.message ?? err.message) : err);

  return {
    async status(model: string): Promise<MonitorStatus> {
      const { handle, runId } = await running(model);
      return statusOf(await handle.query(monitorStatusQuery), runId);
    },

    /** New settings for the running monitor, or a monitor started with them on the production version. */
    async configure(model: string, patch: MonitorSettingsPatch, by: Principal): Promise<MonitorStatus> {
      const version = await productionVersion(model);
      let status: MonitorStatus | undefined;
      try {
        const { handle, runId } = await running(model);
        status = statusOf(await handle.executeUpdate(settingsUpdate, { args: [patch] }).catch((e) => { throw updateRefusal(e); }), runId);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
      if (!status) {
        await watchModel(client, config.taskQueues.orchestration, { model, version, settings: patch });
        status = await this.status(model);
      }
      await writeAudit(db, { action: 'monitor.update', actor: personActor(by), model, version, details: { changed: patch, settings: status.settings } });
      return status;
    },

    /**
     * After a rollback: a running monitor watches the version now in production. A model without one
     * keeps none (a monitor starts with a pipeline's promotion or PUT .../monitor); a failure here
     * does not undo the rollback, the next promotion re-targets it.
     */
    async retarget(model: string, version: number): Promise<void> {
      const handle = client.workflow.getHandle(workflowIds.monitor(model));
      await handle.signal(retargetSignal, { version }).catch(() => undefined);
    },

    async check(model: string): Promise<DriftReport> {
      const { handle } = await running(model);
      await flushPredictionLog?.();
      return handle.executeUpdate(checkNowUpdate);
    },

    async pause(model: string, paused: boolean, by: Principal): Promise<MonitorStatus> {
      const { handle, runId } = await running(model);
      const status = statusOf(await handle.executeUpdate(paused ? pauseUpdate : resumeUpdate), runId);
      await writeAudit(db, { action: paused ? 'monitor.pause' : 'monitor.resume', actor: personActor(by), model, version: status.version });
      return status;
    },

    async reports(model: string, limit: number): Promise<DriftReport[]> {
      const rows = await db.select({ report: driftReports.report }).from(driftReports).where(eq(driftReports.modelName, model))
        .orderBy(desc(driftReports.createdAt), desc(driftReports.id)).limit(Math.min(limit, MAX_REPORTS));
      return rows.map((r) => r.report);
    },

    async report(model: string, id: string): Promise<DriftReport> {
      const [row] = await db.select({ report: driftReports.report }).from(driftReports).where(and(eq(driftReports.modelName, model), eq(driftReports.id, id)));
      if (!row) throw notFound(`Drift report ${id} of model ${model}`);
      return row.report;
    },

    /** A person's order: the model's last production spec on its source, read again. */
    async retrain(model: string, by: Principal): Promise<RetrainingStarted> {
      const version = await productionVersion(model);
      const r = await startRetraining(client, { model, trigger: { kind: 'api', by: by.name } }, queues);
      if (r.started) await writeAudit(db, { action: 'retraining.start', actor: personActor(by), model, version, pipelineId: r.pipelineId, details: { trigger: 'api' } });
      return r;
    },

    /**
     * New data for the model: read under the source rules and kept as a dataset version; bytes
     * (their hash) this model has already been retrained on, or started on, find that pipeline.
     */
    async arrival(model: string, uri: string, by: Principal): Promise<{ status: 200 | 202; pipelineId: string; datasetHash: string; started: boolean }> {
      await productionVersion(model);
      const spec = { uri };
      await checkDatasetSource(spec, sources, db);
      const dataset = await data.ingestDataset(spec).catch((err) => {
        if (err instanceof ApplicationFailure && err.type === ErrorTypes.dataset) throw new ApiError(400, 'dataset_unreadable', err.message);
        throw err;
      });
      if (dataset.rows === 0) throw new ApiError(400, 'dataset_empty', 'The new data has no rows: there is nothing to retrain on.');
      const [seen] = await db.select({ id: pipelineRuns.id }).from(pipelineRuns)
        .where(and(eq(pipelineRuns.modelName, model), sql`${pipelineRuns.trigger}->>'kind' = 'arrival'`,
          sql`${pipelineRuns.trigger}->>'datasetHash' = ${dataset.hash}`))
        .orderBy(desc(pipelineRuns.createdAt)).limit(1);
      if (seen) return { status: 200, pipelineId: seen.id, datasetHash: dataset.hash, started: false };
      const r = await startRetraining(client, {
        model, trigger: { kind: 'arrival', by: by.name, datasetHash: dataset.hash }, datasetUri: `dataset://${dataset.hash}`,
      }, queues);
      if (!r.started && r.runningTrigger?.datasetHash === dataset.hash) return { status: 200, pipelineId: r.pipelineId, datasetHash: dataset.hash, started: false };
      if (!r.started) {
        throw conflict(`Model ${model} is retraining already (${r.pipelineId}); send the new data again when it has ended.`, { pipelineId: r.pipelineId });
      }
      await writeAudit(db, {
        action: 'retraining.start', actor: personActor(by), model, pipelineId: r.pipelineId, details: { trigger: 'arrival', datasetHash: dataset.hash },
      });
      return { status: 202, pipelineId: r.pipelineId, datasetHash: dataset.hash, started: true };
    },
  };
}

export type MonitoringService = ReturnType<typeof createMonitoringService>;
