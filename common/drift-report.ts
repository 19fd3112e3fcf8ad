/**
 * The drift part of a monitoring report (API.md, "Monitoring and retraining"): every statistic per
 * feature, the test that decided, and whether the dataset drifted. ml/drift-check.ts makes it; the
 * monitor extends DriftReportCoreSchema with its own fields (id, model, version, window, action).
 * Every number in it is finite, so a report equals its own JSON round trip.
 */
import { z } from '@hono/zod-openapi';

/** calibrated: thresholds from resamples of the reference at the window's size; evidently: Evidently 0.7's fixed defaults. */
export const driftTestModes = ['calibrated', 'evidently'] as const;
export type DriftTestMode = (typeof driftTestModes)[number];

/** Each name is also the field of the feature that holds that test's result. */
export const driftTests = ['wasserstein', 'jensenShannon', 'ks', 'chiSquare'] as const;
export type DriftTest = (typeof driftTests)[number];

/** Tests whose `statistic` is a p-value (drifted below the threshold); the others are distances (drifted above it). */
export const pValueTests: readonly DriftTest[] = ['ks', 'chiSquare'];

const TestResultSchema = z.object({ statistic: z.number(), pValue: z.number() });

const ChiSquareResultSchema = z.object({
  statistic: z.number().nullable().openapi({
    description: 'null: Infinity, a category the reference never saw (JSON has no Infinity); pValue is then 0',
  }),
  pValue: z.number(),
});

const FeatureDecisionShape = {
  name: z.string(),
  test: z.enum(driftTests),
  statistic: z.number().openapi({ description: "the test's score: a distance (wasserstein, jensenShannon) or a p-value (ks, chiSquare)" }),
  threshold: z.number(),
  drifted: z.boolean().openapi({ description: 'distance: statistic above the threshold (evidently mode: at or above); p-value: below it' }),
};

export const NumericFeatureDriftSchema = z.object({
  ...FeatureDecisionShape,
  kind: z.literal('numeric'),
  ks: TestResultSchema,
  psi: z.number().openapi({ description: "Population Stability Index over the reference's deciles" }),
  wasserstein: z.number().openapi({ description: "Wasserstein distance over the reference's standard deviation (Evidently's normed Wasserstein)" }),
});

export const CategoricalFeatureDriftSchema = z.object({
  ...FeatureDecisionShape,
  kind: z.literal('categorical'),
  jensenShannon: z.number().openapi({ description: 'Jensen-Shannon distance, base 2' }),
  chiSquare: ChiSquareResultSchema,
});

export const FeatureDriftSchema = z.discriminatedUnion('kind', [NumericFeatureDriftSchema, CategoricalFeatureDriftSchema]).openapi('FeatureDrift');
export type NumericFeatureDrift = z.output<typeof NumericFeatureDriftSchema>;
export type CategoricalFeatureDrift = z.output<typeof CategoricalFeatureDriftSchema>;
export type FeatureDrift = z.output<typeof FeatureDriftSchema>;

export const SkippedFeatureSchema = z.object({ name: z.string(), reason: z.string() });
export type SkippedFeature = z.output<typeof SkippedFeatureSchema>;

export const DriftCalibrationSchema = z.object({
  windowRows: z.number(),
  sampleRows: z.number().openapi({ description: 'the size of each bootstrap sample of the reference; thresholds are scaled from it to the window' }),
  resamples: z.number(), quantile: z.number(), seed: z.number(),
});
export type DriftCalibration = z.output<typeof DriftCalibrationSchema>;

export const DriftReportCoreSchema = z.object({
  rows: z.number().openapi({ description: "the window's rows" }),
  reference: z.object({ rows: z.number() }),
  tests: z.enum(driftTestModes),
  /** how the thresholds were made; null in evidently mode */
  calibration: DriftCalibrationSchema.nullable(),
  features: z.array(FeatureDriftSchema),
  /** features not compared (absent or without values on one side, or of another kind there): not counted in driftShare */
  skipped: z.array(SkippedFeatureSchema),
  driftShare: z.number().openapi({ description: 'the share of compared features that drifted' }),
  datasetDrift: z.boolean().openapi({ description: "driftShare at or above the monitor's driftShare setting" }),
});
export type DriftReportCore = z.output<typeof DriftReportCoreSchema>;
