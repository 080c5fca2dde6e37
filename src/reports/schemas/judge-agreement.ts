/**
 * @module reports/schemas/judge-agreement: GET /v1/runs/{id}/judge-agreement as zod schemas: the route's OpenAPI
 * response schema and, through `declared`, the check of reports/judge-agreement.ts's return type.
 */
import { z } from "@hono/zod-openapi";
import { Num } from "./common";
import { EmOverall } from "./run";

const Int = z.number().int();

/** Cohen's kappa with its 95% CI (prompt bootstrap when a prompt has several answers), or the reason it has none. */
const KappaInterval = z
  .strictObject({ n: Int, clusters: Int, agreement: Num, kappa: Num, lo: Num, hi: Num, method: z.string(), reason: z.string().optional() })
  .openapi("KappaInterval");

/** Labels (safety verdicts, safe/unsafe): kappa. */
const LabelAgreement = z.strictObject({
  kind: z.string(),
  unitKind: z.string(),
  scale: z.literal("label"),
  safe: KappaInterval,
  verdict: KappaInterval.optional(),
});

/** 0-100 or 1-5 scores: Pearson, Spearman and the mean absolute difference. */
const ScoreAgreement = z.strictObject({
  kind: z.string(),
  unitKind: z.string(),
  scale: z.string().openapi({ description: "0-100 or 1-5" }),
  unscorable: Int,
  n: Int,
  clusters: Int.optional().openapi({ description: "Prompts, when prompts have several answers: the correlations are then over prompt means (n = prompts)" }),
  pearson: z.strictObject({ r: Num, lo: Num, hi: Num, method: z.string() }),
  spearman: z.strictObject({ rho: Num, lo: Num, hi: Num, p: Num, method: z.string(), reason: z.string().optional() }),
  pooledR: Num.optional().openapi({
    description: "Pearson r over all answers: a description, without an interval (answers of one prompt are not independent)",
  }),
  pooledRho: Num.optional().openapi({ description: "Spearman rho over all answers: a description, without an interval" }),
  estimand: z.string().optional(),
  meanAbsoluteDifference: z.strictObject({
    estimate: Num,
    lo: Num,
    hi: Num,
    method: z.string(),
    clusters: Int.optional(),
    estimand: z.string().optional(),
    reason: z.string().optional(),
  }),
  meanA: Num,
  meanB: Num,
});

export const JudgeAgreement = z
  .strictObject({
    runId: z.string(),
    a: z.string().nullable().openapi({ description: "Judge key (a private judge keeps only its rubric)" }),
    b: z.string().nullable(),
    judges: z.array(z.string().nullable()),
    note: z.string(),
    sections: z.array(z.union([LabelAgreement, ScoreAgreement])),
    misalignment: z.strictObject({ shareA: EmOverall, shareB: EmOverall, misalignedClass: KappaInterval, note: z.string() }).optional(),
  })
  .openapi("JudgeAgreement");

export type JudgeAgreement = z.infer<typeof JudgeAgreement>;
