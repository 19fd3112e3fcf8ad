/**
 * The monitoring contract (API.md, "Monitoring and retraining"): a monitor's settings, its drift
 * report, its status, and what a retraining request carries. The monitor workflow, its activities
 * and the API all take their shapes from here.
 */
import { z } from '@hono/zod-openapi';
import { DriftReportCoreSchema, driftTestModes, type DriftTestMode } from './drift-report';
import { Duration } from './duration-schema';
import { monitorActions } from './vocabulary';

/** The platform's defaults, written once: what a monitor starts with where nothing says otherwise. */
export const DEFAULT_MONITOR_SETTINGS = {
  interval: '1h', window: '24h', minRows: 200, driftShare: 0.5, retrainOnDrift: true, retrainOnPerformanceDrop: 0.05 as number | null,
  minLabels: 50, cooldown: '24h', tests: null as DriftTestMode | null, watch: false,
};

/** Each setting's rule, without its default: a patch names only what it changes. */
const fields = {
  interval: Duration.openapi({ description: 'how often the monitor checks' }),
  window: Duration.openapi({ description: 'how far back a check reads the prediction log (at most the last 1,000,000 rows)' }),
  minRows: z.number().int().min(1).max(1_000_000).openapi({ description: 'a window with fewer logged predictions is reported, not judged' }),
  driftShare: z.number().min(0).max(1).openapi({ description: 'dataset drift when this share of features drifted' }),
  retrainOnDrift: z.boolean(),
  retrainOnPerformanceDrop: z.number().min(0).max(1).nullable()
    .openapi({ description: 'retrain when accuracy on labelled feedback falls this far below the version\'s evaluation (classifiers); null: never' }),
  minLabels: z.number().int().min(1).max(1_000_000).openapi({ description: 'the labelled predictions a window needs before its performance counts' }),
  cooldown: Duration.openapi({ description: 'after a retraining starts, drift does not start another for this long' }),
  tests: z.enum(driftTestModes).nullable()
    .openapi({ description: 'null or "calibrated": thresholds calibrated to the window; "evidently": Evidently 0.7\'s fixed defaults' }),
  watch: z.boolean().openapi({ description: 'every interval, read the training source again: new bytes start a retraining on them' }),
};

/** A monitor's settings, every one present (GET .../monitor shows them). */
export const MonitorSettingsSchema = z.object(fields).strict().openapi('MonitorSettings');
export type MonitorSettings = z.output<typeof MonitorSettingsSchema>;
/**
 * A change of the settings (the body of PUT .../monitor, or a pipeline's `monitor` field): only the
 * fields it names change; no defaults are filled in, so a change never resets what it left out.
 */
export const MonitorSettingsPatchSchema = z.object(fields).partial().strict().openapi('MonitorSettingsPatch');
export type MonitorSettingsPatch = z.output<typeof MonitorSettingsPatchSchema>;



export const PerformanceSchema = z.object({
  labels: z.number(),
  accuracy: z.number().optional(),
  mae: z.number().optional(),
  /** the same metric on the version's held-out evaluation */
  expected: z.number().nullable(),
  /** expected minus measured accuracy (classifiers) */
  drop: z.number().nullable(),
});

export const EstimatedPerformanceSchema = z.object({
  method: z.literal('cbpe'), accuracy: z.number(), lower: z.number(), upper: z.number(), rows: z.number(),
});

export const DriftReportSchema = DriftReportCoreSchema.extend({
  id: z.string(),
  model: z.string(),
  version: z.number(),
  windowStart: z.string(),
  windowEnd: z.string(),
  reference: z.object({ rows: z.number(), datasetHash: z.string() }),
  prediction: z.object({ test: z.string(), statistic: z.number(), threshold: z.number(), drifted: z.boolean() }).nullable()
    .openapi({ description: "the model's answers against its answers on its held-out rows at evaluation: class shares (classifiers) or values (regression)" }),
  performance: PerformanceSchema.nullable(),
  estimated: EstimatedPerformanceSchema.nullable(),
  action: z.enum(monitorActions),
  pipelineId: z.string().nullable(),
  /** why a retraining was or was not started */
  reason: z.string().nullable(),
  at: z.string(),
}).openapi('DriftReport');
export type DriftReport = z.output<typeof DriftReportSchema>;

/** A window too small to judge: the rows it had, and nothing else. */
export const TooFewRowsSchema = z.object({ rows: z.number(), minRows: z.number() });

export const MonitorStatusSchema = z.object({
  model: z.string(),
  version: z.number().nullable(),
  state: z.enum(['watching', 'paused', 'stopped']),
  interval: z.string(),
  lastCheck: z.string().nullable(),
  nextCheck: z.string().nullable(),
  lastReportId: z.string().nullable(),
  lastAction: z.enum(monitorActions).nullable(),
  lastRetrainingAt: z.string().nullable(),
  checks: z.number(),
  failedChecks: z.number().openapi({ description: 'scheduled checks that failed (the monitor keeps watching)' }),
  lastError: z.string().nullable().openapi({ description: 'why the last scheduled check failed; null once one succeeds' }),
  workflowId: z.string(),
  temporalUiUrl: z.string().optional(),
  settings: MonitorSettingsSchema,
}).openapi('MonitorStatus');
export type MonitorStatus = z.output<typeof MonitorStatusSchema>;
