/** @module http/schemas: shared request/response schemas (they are both the validation and the API description). */
import { z } from "@hono/zod-openapi";
import { MAX_RUN_UNITS } from "../queue/start-run";
import { CONSTITUTION_ID } from "../suites/constitutions";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

const err = (description: string) => ({ content: { "application/json": { schema: ErrorSchema } }, description });

export const errors = {
  400: err("Invalid request"),
  401: err("Missing or wrong admin key"),
  404: err("Not found"),
  409: err("Conflict"),
  413: err("Body larger than the route's limit (docs/api.md#size-limits)"),
};

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "id", in: "path" } }),
});

/** A built-in or custom constitution id; handlers check that it exists (GET /v1/constitutions lists them). */
export const ConstitutionId = z.string().regex(CONSTITUTION_ID).openapi({ description: "A built-in or custom constitution id (GET /v1/constitutions)" });

export const Bearer = [{ bearerAuth: [] }];

/** Loose object for nested report structures (docs/reports.md describes them). */
export const AnyObject = z.record(z.string(), z.unknown());

/** The figures every metric value carries (metrics, badges, the leaderboard overview): estimate, 95% CI, n, clusters, method, its run. */
export const metricFigureFields = {
  value: z.number().nullable(),
  lo: z.number().nullable(),
  hi: z.number().nullable(),
  n: z.number().int(),
  clusters: z.number().int().nullable(),
  ciMethod: z.string(),
  runId: z.string(),
};

const Int = z.number().int();
const Price = z.strictObject({ input: z.number().nullable(), output: z.number().nullable() });

/** queue/estimate RunEstimate: a dry run's planned calls per stage and endpoint, tokens and cost (nothing started). */
const RunEstimateFields = {
  dryRun: z.literal(true),
  run: z.strictObject({
    endpointId: z.string(),
    endpointRevision: z.string(),
    suiteVersionIds: z.array(z.string()),
    samplesPerItem: Int,
    temperature: z.number(),
    seed: Int,
    limit: Int.nullable(),
    scoringMode: z.string(),
    judge: z.strictObject({ endpointId: z.string(), revision: z.string(), model: z.string(), rubricVersion: z.string() }).nullable(),
    variants: z.array(z.string()),
    judgeScoring: z
      .strictObject({ mode: z.enum(["logprobs", "sampled"]), basis: z.enum(["declared", "probed", "requested"]), samples: Int, probe: z.string().optional() })
      .nullable(),
  }),
  expectedUnits: Int,
  calls: z.strictObject({
    total: Int,
    byStage: z.array(
      z.strictObject({
        stage: Int,
        kind: z.string(),
        target: z.enum(["model", "judge"]),
        endpointId: z.string().nullable(),
        calls: Int,
        inputTokens: Int,
        outputTokens: Int,
      }),
    ),
    byEndpoint: z.array(
      z.strictObject({
        endpointId: z.string(),
        model: z.string().nullable(),
        role: z.enum(["model", "judge"]),
        calls: Int,
        inputTokens: Int,
        outputTokens: Int,
        price: Price.nullable(),
        cost: z.number().nullable(),
      }),
    ),
  }),
  tokens: z.strictObject({ input: Int, outputMax: Int }),
  cost: z.strictObject({ total: z.number().nullable(), currency: z.literal("USD"), upperBound: z.literal(true) }),
  method: z.string(),
  notes: z.array(z.string()),
};
export const RunEstimateSchema = z.strictObject(RunEstimateFields).openapi("RunEstimate");

const DryRunTotal = z.strictObject({ calls: Int, inputTokens: Int, outputTokensMax: Int, cost: z.number().nullable() });

/** `POST /v1/runs` with dryRun: the run's estimate, the base comparison it would get (queue/base-run), and both together. */
// Built from the fields, not by extending RunEstimate: an OpenAPI allOf with a strict base admits no extra field.
export const RunDryRunSchema = z
  .strictObject({
    ...RunEstimateFields,
    base: z
      .strictObject({
        available: z.boolean(),
        reason: z.string().optional(),
        endpointId: z.string().optional(),
        runId: z.string().optional(),
        reused: z.boolean().optional(),
        extraCalls: Int.optional().openapi({ description: "Every call the base run would make, judgments included; 0 when a comparable base run is reused" }),
        run: RunEstimateFields.run.optional(),
        expectedUnits: Int.optional(),
        calls: RunEstimateFields.calls.optional(),
        tokens: RunEstimateFields.tokens.optional(),
        cost: RunEstimateFields.cost.optional(),
        notes: RunEstimateFields.notes.optional(),
      })
      .optional()
      .openapi({
        description: "Endpoints with a base (unless compareWithBase is false): the comparable base run reused, or the estimate of the one that would start",
      }),
    total: DryRunTotal.openapi({ description: "This run plus the base run it would start" }),
  })
  .openapi("RunDryRun");

/** rescore/rescore rejudgeRun: the judge units a re-judging created and enqueued (POST /v1/runs/{id}/rejudge and the rescore webhook). */
export const RejudgeResult = z
  .strictObject({
    runId: z.string(),
    judgeKey: z.string(),
    answers: Int.openapi({ description: "Stored answers the judge grades" }),
    judgeUnits: Int,
    created: Int,
    alreadyJudged: Int,
    enqueued: Int,
  })
  .openapi("Rejudge");

/** Samples per item, temperature and the item limit a run request (or an experiment's runs) may set; otherwise the suites' defaults. */
export const samplingOverrides = {
  samplesPerItem: z.number().int().min(1).max(100).optional().openapi({
    description:
      "Default: the suites' declared default (misalignment-questions: 20, persona-consistency: 10, otherwise 1); must be set when the suites' defaults differ",
  }),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .openapi({ description: "Default: the suites' declared default (persona-consistency: 0.7; otherwise 1); must be set when the suites' defaults differ" }),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_RUN_UNITS)
    .optional()
    .openapi({ description: `Items per suite, drawn stratified by dimension and keying (at most ${MAX_RUN_UNITS}, MAX_RUN_UNITS)` }),
};
