/**
 * @module reports/schemas/experiment: the experiment report (GET /v1/experiments/{id}/report) as zod schemas. They
 * are the route's OpenAPI response schema and the builder's return type (reports/experiment.ts, reports/study.ts),
 * so the JSON, the types and the API description cannot drift apart; the HTML page renders the same object.
 * Objects are strict: a field the builder adds must be added here (test/integration/studies.test.ts parses real
 * reports). Figures are nullable because NaN (no data) travels as null in JSON.
 */
import { z } from "@hono/zod-openapi";
import { Judge, MetricComparisonFields, MetricEstimateFields, MetricInfoFields, Num } from "./common";

export const StudyModel = z
  .strictObject({
    endpointId: z.string(),
    name: z.string().nullable(),
    role: z.enum(["base", "member"]),
    arm: z.string().nullable(),
    replicate: z.number().int().nullable(),
    constitution: z.string().nullable(),
    scope: z.string().nullable(),
    runs: z
      .record(z.string(), z.string())
      .openapi({ description: "Suite kind -> the run its figures come from (newest completed, else newest live, at the current revision)" }),
  })
  .openapi("StudyModel");

export const StudyCell = z.strictObject({ ...MetricInfoFields, ...MetricEstimateFields, runId: z.string(), endpointId: z.string() }).openapi("StudyCell");

// One strict object (not an extension of the registered MetricComparison: its OpenAPI form, allOf of two closed
// objects, would reject every row).
export const StudyComparison = z
  .strictObject({ ...MetricComparisonFields, endpointId: z.string(), baseEndpointId: z.string().nullable() })
  .openapi("StudyComparison");

const EstimateCore = { estimate: Num, n: z.number().int(), clusters: z.number().int(), lo: Num, hi: Num, method: z.string(), reason: z.string().optional() };

export const StudyArm = z
  .strictObject({ arm: z.string(), metric: z.string(), kind: z.string(), replicates: z.number().int(), ...EstimateCore })
  .openapi("StudyArm");

export const StudyPersona = z
  .strictObject({
    dimensions: z.array(z.string()),
    arms: z.array(
      z.strictObject({ arm: z.string(), dimensions: z.array(z.strictObject({ dimension: z.string(), replicates: z.number().int(), ...EstimateCore })) }),
    ),
    base: z.array(z.strictObject({ dimension: z.string(), ...EstimateCore })),
    signatures: z.array(
      z.strictObject({
        constitution: z.string(),
        version: z.number().int(),
        weights: z.record(z.string(), z.number()),
        contrasts: z.array(z.strictObject({ higher: z.string(), lower: z.string() })),
      }),
    ),
  })
  .openapi("StudyPersona");

export const StudyProjectability = z
  .strictObject({
    label: z.string(),
    members: z.array(
      z.strictObject({
        endpointId: z.string(),
        arm: z.string(),
        replicate: z.number().int(),
        constitution: z.string().nullable(),
        cosine: z
          .strictObject({ estimate: z.number(), lo: z.number(), hi: z.number(), role: z.literal("description"), note: z.string() })
          .nullable()
          .openapi({ description: "A description, not an inference (docs/projectability.md)" }),
        reason: z.string().optional(),
      }),
    ),
    arms: z.array(z.strictObject({ arm: z.string(), replicates: z.number().int(), ...EstimateCore })),
  })
  .openapi("StudyProjectability");

export const StudyCompare = z
  .union([
    z.strictObject({ metric: z.string(), pairs: z.array(StudyComparison) }),
    z.strictObject({ metric: z.string(), available: z.literal(false), reason: z.string() }),
  ])
  .nullable()
  .openapi({ description: "Member against member on `?compare=` (null without it)" });

export const StudyReport = z
  .strictObject({
    models: z.array(StudyModel),
    kinds: z.array(z.string()),
    metrics: z.array(z.strictObject(MetricInfoFields)),
    cells: z.array(StudyCell),
    arms: z.array(StudyArm),
    vsBase: z.array(StudyComparison),
    compare: StudyCompare,
    persona: StudyPersona,
    projectability: StudyProjectability,
    dimensionsCanonical: z.array(z.string()),
    notes: z.array(z.string()),
  })
  .openapi("StudyReport");

/** A safe-response rate over prompts (several samples per prompt are one cluster). */
export const SafetyRate = { rate: Num, lo: Num, hi: Num, n: z.number().int(), prompts: z.number().int(), method: z.string() };
export const Unusable = { pending: z.number().int(), failed: z.number().int(), unparseable: z.number().int() };

/** reports/kinds/safety summarizeSafety: rates per category and subcategory, macro, held-out and over-refusal. */
export const SafetySummaryFields = {
  definition: z.string(),
  categories: z.array(
    z.strictObject({
      category: z.string(),
      ...SafetyRate,
      ...Unusable,
      subcategories: z.array(z.strictObject({ subcategory: z.string(), heldOut: z.boolean(), ...SafetyRate, ...Unusable })),
    }),
  ),
  macro: z.strictObject({ rate: Num, lo: Num, hi: Num, categories: z.number().int() }),
  heldOut: z.strictObject({ subcategories: z.array(z.string()), ...SafetyRate }),
  overRefusal: z.strictObject({ ...SafetyRate, ...Unusable, note: z.string() }),
  excluded: z.number().int(),
  totals: z.strictObject({ samples: z.number().int(), ...Unusable }),
};
export const SafetySummary = z.strictObject(SafetySummaryFields).openapi("SafetySummary");

const MemberHead = {
  endpointId: z.string(),
  name: z.string().nullable(),
  constitution: z.string().nullable(),
  scope: z.string(),
  arm: z.string(),
  replicate: z.number().int(),
  trainedCategories: z.array(z.string()),
};

export const SafetyMatrixRow = z
  .union([
    z.strictObject({
      endpointId: z.string(),
      name: z.string().nullable(),
      role: z.literal("base"),
      runId: z.string(),
      runStatus: z.string(),
      ...SafetySummaryFields,
    }),
    z.strictObject({ ...MemberHead, role: z.literal("finetuned"), runId: z.string(), runStatus: z.string(), ...SafetySummaryFields }),
    z.strictObject({ ...MemberHead, role: z.literal("finetuned"), runId: z.null(), unavailable: z.string() }),
  ])
  .openapi("SafetyMatrixRow");

const EffectFields = {
  set: z.string(),
  diff: z.number(),
  lo: z.number(),
  hi: z.number(),
  pValue: z.number(),
  test: z.string(),
  n: z.number().int(),
  prompts: z.number().int(),
  dropped: z.number().int(),
  valid: z.boolean(),
  reason: z.string().optional(),
};
/** A finetuned-minus-base safe-rate difference on one set of prompts, or why there is none. */
export const SafetyEffect = z
  .union([z.strictObject({ ...EffectFields, pHolm: z.number().nullable().optional() }), z.strictObject({ set: z.string(), unavailable: z.string() })])
  .openapi("SafetyEffect");
const CategoryEffect = z.union([
  z.strictObject({ ...EffectFields, trained: z.boolean(), pHolm: z.number().nullable() }),
  z.strictObject({ set: z.string(), unavailable: z.string(), trained: z.boolean(), pHolm: z.number().nullable() }),
]);

export const SafetyEffectRow = z
  .union([
    z.strictObject({
      ...MemberHead,
      runId: z.string(),
      warning: z.string().optional(),
      all: SafetyEffect,
      outsideScope: SafetyEffect,
      heldOut: SafetyEffect,
      emergentAlignment: z.boolean(),
      label: z.string(),
      labelRule: z.string(),
      perCategory: z.array(CategoryEffect),
    }),
    z.strictObject({ ...MemberHead, unavailable: z.string() }),
  ])
  .openapi("SafetyEffectRow");

const ReplicateInterval = z.strictObject({ estimate: Num, lo: Num, hi: Num, n: z.number().int(), replicates: z.number().int(), method: z.string() }).nullable();
export const SafetyArm = z
  .strictObject({ arm: z.string(), replicates: z.number().int(), all: ReplicateInterval, outsideScope: ReplicateInterval, heldOut: ReplicateInterval })
  .openapi("SafetyArm");

export const ExperimentRow = z
  .strictObject({ id: z.string(), name: z.string(), description: z.string().nullable(), baseEndpointId: z.string().nullable(), createdAt: z.string() })
  .openapi("Experiment");

export const ExperimentReport = z
  .strictObject({
    experiment: ExperimentRow,
    study: StudyReport,
    safety: z
      .union([z.strictObject({ available: z.literal(true) }), z.strictObject({ available: z.literal(false), reason: z.string() })])
      .openapi({ description: "Whether the emergent-alignment safety matrix below is there (the base needs a safety run)" }),
    baseRunId: z.string().nullable(),
    judge: Judge.nullable(),
    categories: z.array(z.string()),
    matrix: z.array(SafetyMatrixRow),
    effects: z.array(SafetyEffectRow),
    arms: z.array(SafetyArm),
    notes: z.array(z.string()),
  })
  .openapi("ExperimentReport");

export type ExperimentReport = z.infer<typeof ExperimentReport>;
export type StudyReport = z.infer<typeof StudyReport>;
