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
export const MetricComparisonFields = {
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
};

/** Keys of a union's members together. */
type KeysOf<T> = T extends unknown ? keyof T : never;
/** A property's type across a union's members that have it. */
type PropOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/**
 * The paths of fields a builder's value `B` has that its schema type `S` does not declare, at any depth (objects,
 * arrays, unions; a record in `S` declares every key); never when there are none.
 */
export type Undeclared<B, S, P extends string = ""> = B extends readonly (infer BE)[]
  ? Undeclared<BE, NonNullable<S> extends readonly (infer SE)[] ? SE : never, `${P}[]`>
  : B extends object
    ? string extends KeysOf<NonNullable<S>>
      ? never
      : { [K in keyof B & string]-?: K extends KeysOf<NonNullable<S>> ? Undeclared<B[K], PropOf<NonNullable<S>, K>, `${P}.${K}`> : `${P}.${K}` }[keyof B &
          string]
    : never;

/**
 * Compile-time check that what a report builder returns is what its schema declares: every field the schema requires
 * with a type it allows (`B extends S`) and no field it lacks (else tsc asks for a second argument naming the paths).
 * So tsc catches a drift between a builder and the OpenAPI schema, not only the strict parse in the tests.
 */
export const declared =
  <S>() =>
  <B extends S>(built: B, ...undeclared: [Undeclared<B, S>] extends [never] ? [] : [undeclared: Undeclared<B, S>]): S =>
    built;
