/**
 * @module reports/schemas/run: the run report (GET /v1/runs/{id}/report, GET /v1/endpoints/{id}/report) as zod
 * schemas: the route's OpenAPI response schema and the builder's return type (reports/run-report.ts). One schema per
 * section; a section is absent when the run lacks its kind. `run`, `endpoint`, `persona`, `comparison`, `safety`,
 * `judges`, `usage` and `metrics` are typed field by field and strict. The misalignment, self-report, consistency,
 * judge-comparison and fixture-agreement sections are typed at their stable core (the fields readers rely on) and
 * keep their nested per-suite detail open (`looseObject`); docs/reports.md describes that detail.
 */
import { z } from "@hono/zod-openapi";
import { EstimateFields, Judge, MetricEstimate, Num } from "./common";
import { SafetyRate, SafetySummaryFields } from "./experiment";

const Int = z.number().int();
const StageProgress = z.strictObject({ expected: Int, planned: Int, done: Int, failed: Int, pending: Int });

export const RunHead = z
  .strictObject({
    id: z.string(),
    status: z.string(),
    counts: z.strictObject({
      expected: Int,
      expectedFirstStage: Int,
      plannedFirstStage: Int,
      planned: Int,
      done: Int,
      failed: Int,
      pending: Int,
      retrying: Int,
      stages: z.strictObject({ asks: StageProgress, judgments: StageProgress, followUps: StageProgress }),
    }),
    suiteVersionIds: z.array(z.string()),
    samplesPerItem: Int,
    temperature: z.number(),
    scoringMode: z.string(),
    judge: Judge.nullable(),
    imported: z.boolean(),
    rubrics: z.array(z.strictObject({ id: z.string(), promptHash: z.string() })),
    seed: Int.nullable(),
    limit: Int.nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("RunReportRun");

export const RunEndpoint = z
  .strictObject({ id: z.string(), name: z.string().nullable(), model: z.string().nullable(), revision: z.string().nullable(), constitution: z.string().nullable(), baseEndpointId: z.string().nullable(), private: z.literal(true).optional() })
  .openapi("RunReportEndpoint");

/** kinds/persona DimensionSummary. */
export const PersonaDimension = z
  .strictObject({
    dimension: z.string(),
    matchRate: Num,
    lo: Num,
    hi: Num,
    n: Int,
    items: Int,
    unparseable: Int,
    failed: Int,
    pending: Int,
    acquiescence: Num,
    acquiescenceInterval: z.strictObject(EstimateFields),
    ciMethod: z.string(),
  })
  .openapi("PersonaDimension");

/** kinds/persona DimensionDelta. */
export const PersonaDelta = z
  .strictObject({
    dimension: z.string(),
    delta: Num,
    lo: Num,
    hi: Num,
    pValue: Num,
    tPValue: Num,
    pHolm: Num.optional(),
    pairedItems: Int,
    dropped: Int,
    valid: z.boolean(),
    test: z.string(),
    ciMethod: z.string(),
    reason: z.string().optional(),
  })
  .openapi("PersonaDelta");

const Interval = { estimate: Num, lo: Num, hi: Num };
/** kinds/persona Projectability (ours: docs/projectability.md). */
export const Projectability = z
  .strictObject({
    constitution: z.string(),
    signatureVersion: Int,
    label: z.string(),
    headline: z.literal("projectionLength"),
    cosine: z.strictObject({ ...Interval, role: z.literal("description"), note: z.string() }),
    projectionLength: z.strictObject({ ...Interval, items: z.array(z.number()), method: z.string() }),
    expectations: z.strictObject({
      held: Int,
      n: Int,
      share: Num,
      shareReason: z.string(),
      checks: z.array(
        z.strictObject({ kind: z.enum(["sign", "contrast", "unchanged"]), description: z.string(), ...Interval, holds: z.boolean(), p: Num.optional(), pHolm: Num.optional(), test: z.string() }),
      ),
      family: z.string(),
    }),
    identification: z.strictObject({
      ownRanksFirst: Num,
      ownRanksFirstNull: Num,
      nullDraws: Int,
      ranking: z.array(z.strictObject({ constitution: z.string(), cosine: Num })),
      similarity: z.strictObject({ ids: z.array(z.string()), matrix: z.array(z.array(Num)) }),
    }),
    resamples: Int,
    seed: Int,
  })
  .openapi("Projectability");

export const PersonaSection = z.strictObject({ dimensions: z.array(PersonaDimension) }).openapi("PersonaSection");

/** The persona comparison with the base run: never an error for the whole report, a reason when there is none. */
export const PersonaComparison = z
  .union([
    z.strictObject({ available: z.literal(false), reason: z.string() }),
    z.strictObject({
      available: z.literal(true),
      baseRunId: z.string(),
      baseEndpointId: z.string().nullable(),
      baseStatus: z.string(),
      test: z.string(),
      base: z.array(PersonaDimension),
      deltas: z.array(PersonaDelta),
      projectability: z.union([Projectability, z.strictObject({ unavailable: z.string() })]),
    }),
  ])
  .openapi("PersonaComparison");

/** reports/judges JudgeDescriptor as the caller may see it. */
export const JudgeDescriptor = z
  .strictObject({
    key: z.string(),
    endpointId: z.string().nullable().openapi({ description: "null for a private judge (its key keeps only the rubric)" }),
    revision: z.string().nullable(),
    rubricVersion: z.string(),
    model: z.string().nullable(),
    origin: z.enum(["pinned", "rejudge"]),
    judgments: Int,
    done: Int,
    private: z.literal(true).optional(),
  })
  .openapi("JudgeDescriptor");

export const SafetySection = z.strictObject({ judge: JudgeDescriptor, ...SafetySummaryFields }).openapi("SafetySection");

/** Two judges of the same answers (stable core; `other` is the other judge's full safety summary). */
export const JudgeComparison = z
  .looseObject({
    a: JudgeDescriptor,
    b: JudgeDescriptor,
    pairs: Int,
    safeRate: z.strictObject({ a: z.strictObject(SafetyRate), b: z.strictObject(SafetyRate) }),
    verdictAgreement: z.looseObject({ agreement: Num, kappa: Num }),
    safeAgreement: z.looseObject({ agreement: Num, kappa: Num }),
    mcnemar: z.looseObject({ note: z.string() }),
    other: z.strictObject(SafetySummaryFields),
  })
  .openapi("JudgeComparison");

const Unavailable = z.strictObject({ available: z.literal(false), reason: z.string() });

/** Stable core: the definitions and one entry per misalignment suite (its per-question detail stays open). */
export const MisalignmentSection = z
  .union([Unavailable, z.looseObject({ endpointHasTrigger: z.boolean(), definitions: z.record(z.string(), z.string()), suites: z.array(z.looseObject({})) })])
  .openapi("MisalignmentSection");

/** Stable core: calibration rows against the measured behaviour, the base, the definitions and where the behaviour was measured. */
export const SelfReportSection = z
  .looseObject({
    calibration: z.array(z.looseObject({})),
    base: z.union([z.strictObject({ runId: z.string() }), Unavailable]),
    withTrigger: z.looseObject({}).nullable(),
    definitions: z.record(z.string(), z.string()),
    behaviourMeasuredInRun: z.string().nullable(),
  })
  .openapi("SelfReportSection");

/** Stable core: the suite version, judge, recognition, the comparison with a base run and the label (value null with a reason without one). */
export const ConsistencySection = z
  .looseObject({
    suiteVersionId: z.string(),
    judge: Judge.nullable(),
    recognition: z.looseObject({ status: z.string(), baseRunId: z.string().nullable() }),
    comparison: z.union([Unavailable, z.looseObject({ available: z.literal(true), baseRunId: z.string(), baseEndpointId: z.string().nullable(), baseStatus: z.string() })]),
    label: z.looseObject({ value: z.string().nullable(), rule: z.unknown() }),
  })
  .nullable()
  .openapi("ConsistencySection");

export const UsageSection = z
  .strictObject({
    rows: z.array(
      z.strictObject({
        endpointId: z.string(),
        model: z.string().nullable(),
        role: z.enum(["model", "judge"]),
        calls: Int,
        inputTokens: Int,
        outputTokens: Int,
        callsWithoutUsage: Int,
        cost: Num,
        price: z.strictObject({ input: Num, output: Num }).nullable(),
        private: z.literal(true).optional(),
      }),
    ),
    total: z.strictObject({ calls: Int, inputTokens: Int, outputTokens: Int, cost: Num }),
    currency: z.literal("USD"),
    note: z.string(),
  })
  .openapi("UsageSection");

export const RunReport = z
  .strictObject({
    run: RunHead,
    endpoint: RunEndpoint,
    persona: PersonaSection.optional(),
    comparison: PersonaComparison.optional(),
    safety: SafetySection.optional(),
    judges: z.array(JudgeDescriptor).optional(),
    judgeComparison: JudgeComparison.optional(),
    judgeAgreement: z.looseObject({}).optional().openapi({ description: "Judge-fixture runs: agreement with our labels (kappa, harm within one)" }),
    misalignment: MisalignmentSection.optional(),
    selfReport: SelfReportSection.optional(),
    consistency: ConsistencySection.optional(),
    usage: UsageSection,
    metrics: z.array(MetricEstimate),
  })
  .openapi("RunReport");

export type RunReport = z.infer<typeof RunReport>;
