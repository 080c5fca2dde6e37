/** @module reports/schemas/common: zod pieces the report schemas share (figures, judges, the metric layer's records). */
import { z } from "@hono/zod-openapi";

/** A figure; null when there is none (NaN and missing values travel as null in JSON). */
export const Num = z.number().nullable();

/** A pinned judge as a report shows it: a private judge keeps its rubric and loses its identity (reports/privacy.ts). */
export const Judge = z
  .strictObject({
    endpointId: z.string(),
    revision: z.string().nullable(),
    model: z.string().nullable().optional(),
    rubricVersion: z.string(),
    private: z.literal(true).optional(),
  })
  .openapi("ReportJudge");

/** metrics/types MetricInfo. */
export const MetricInfoFields = {
  id: z.string().openapi({ example: "persona.deontology.match" }),
  kind: z.string(),
  label: z.string(),
  better: z.enum(["higher", "lower"]).nullable(),
  rate: z.boolean(),
  headline: z.boolean(),
  definition: z.string(),
};

/** stats/inference Estimate: a figure with n, clusters and its 95% CI, or the reason it has none. */
export const EstimateFields = {
  estimate: Num,
  n: z.number().int(),
  clusters: z.number().int(),
  lo: Num,
  hi: Num,
  method: z.string(),
  reason: z.string().optional(),
};

/** metrics/aggregate MetricEstimate (without the metric's description). */
export const MetricEstimateFields = { ...EstimateFields, runId: z.string() };

export const MetricEstimate = z.strictObject({ ...MetricInfoFields, ...MetricEstimateFields }).openapi("MetricEstimate");

/** metrics/aggregate MetricComparison: a − b paired on (item, sample), its test and the Holm-adjusted p of its family. */
export const MetricComparison = z
  .strictObject({
    ...MetricInfoFields,
    ...EstimateFields,
    p: Num,
    test: z.string(),
    valid: z.boolean(),
    dropped: z.number().int(),
    runId: z.string(),
    baseRunId: z.string(),
    pHolm: Num,
    family: z.string(),
  })
  .openapi("MetricComparison");
