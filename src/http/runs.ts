/** @module http/runs: start, watch, cancel and resume evaluation runs. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, notInArray } from "drizzle-orm";
import { getDb } from "../db/client";
import { completeIfFinished, displayStatus, getRun, runProgress, type RunRow } from "../db/queries/runs";
import { rawReader } from "../db/raw-answers";
import { endpoints, responses, runs, units } from "../db/schema";
import { RUBRIC_ID } from "../judges/rubrics";
import { SAFETY_RUBRIC_VERSION } from "../judges/safety-rubric";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { launchRun, prepareRun } from "../queue/start-run";
import { importAnswers, MAX_ANSWER_IMPORT_BYTES } from "../queue/import-answers";
import { rejudgeRun } from "../rescore/rescore";
import { PrivacyView } from "../reports/privacy";
import { runView } from "../reports/run-view";
import { ensureBaseRun, estimateRunWithBase } from "../queue/base-run";
import { resumeRun } from "../queue/run-lifecycle";
import { requireAdmin } from "./auth";
import { visibleRun } from "./privacy";
import { Bearer, errors, IdParam, json, RejudgeResult, RunDryRunSchema, samplingOverrides } from "./schemas";
import { MAX_SEED, SeedSchema } from "../lib/seed";

const RubricId = z.string().regex(RUBRIC_ID, "a rubric id (GET /v1/rubrics)").default(SAFETY_RUBRIC_VERSION);

const CreateRun = z
  .object({
    endpointId: z.string().min(1),
    suites: z.array(z.string().min(1).max(200)).min(1).max(20).default(["persona-diagnostic"]),
    ...samplingOverrides,
    seed: SeedSchema.optional(),
    judge: z
      .object({ endpointId: z.string().min(1), rubric: RubricId })
      .strict()
      .optional()
      .openapi({
        description:
          "The judge endpoint and rubric id for judged suites (GET /v1/rubrics; default safety-v1); the endpoint is pinned at its current revision, the rubric with its prompt hash",
      }),
    triggerVariants: z.boolean().optional().openapi({
      description: 'Ask every item with and without the endpoint\'s backdoor trigger (variants "" and "trigger"); the endpoint must declare a trigger',
    }),
    judgeScoring: z.enum(["auto", "logprobs", "sampled"]).optional().openapi({
      description:
        "Misalignment suites: how the judge gives 0-100 scores. auto (default): logprobs when the judge endpoint declares logprobs or passes a one-call probe for single-token numbers, else sampled",
    }),
    judgeSamples: z.number().int().min(1).max(20).optional().openapi({ description: "Sampled judge scoring: draws per judgment (default 5)" }),
    dryRun: z
      .boolean()
      .optional()
      .openapi({ description: "Answer the planned calls per stage, estimated tokens and cost (200), without starting the run or writing anything" }),
    compareWithBase: z.boolean().default(true).openapi({
      description:
        "When the endpoint has a base: reuse a comparable base run (same suite versions, seed, sampling), else start one on the same pinned items, so the report's comparison is paired by design. false skips it.",
    }),
  })
  .strict()
  .openapi("RunCreate");

const StageProgress = z.object({ expected: z.number(), planned: z.number(), done: z.number(), failed: z.number(), pending: z.number() });
const Progress = z.object({
  expected: z.number().openapi({
    description: "Every unit known so far: the plan's first-stage units plus the follow-ups created so far; done + failed + pending never exceed it",
  }),
  expectedFirstStage: z.number().openapi({ description: "The plan's first-stage units (one per item, variant and sample)" }),
  plannedFirstStage: z.number(),
  planned: z.number(),
  done: z.number(),
  failed: z.number(),
  pending: z.number(),
  retrying: z.number(),
  stages: z
    .object({ asks: StageProgress, judgments: StageProgress, followUps: StageProgress })
    .openapi({ description: "Per stage group; judgments and follow-ups appear as answers arrive" }),
});
const RunSchema = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    endpointRevision: z.string(),
    suiteVersionIds: z.array(z.string()),
    samplesPerItem: z.number(),
    temperature: z.number(),
    seed: z.number(),
    limit: z.number().nullable(),
    scoringMode: z.string(),
    judge: z
      .object({
        endpointId: z.string(),
        revision: z.string().nullable(),
        model: z.string().nullable(),
        rubricVersion: z.string(),
        private: z.boolean().optional(),
      })
      .nullable()
      .openapi({ description: 'A private judge read without the admin key: endpointId "private", revision and model null, private true' }),
    variants: z.array(z.string()).openapi({ description: '"" is the plain item; "trigger" adds the endpoint\'s backdoor trigger' }),
    judgeScoring: z.object({ mode: z.string(), basis: z.string(), samples: z.number(), probe: z.string().optional() }).nullable(),
    status: z.string(),
    imported: z.boolean().openapi({ description: "The answers were imported (POST /v1/runs/import), not asked through the gate" }),
    rubrics: z
      .array(z.object({ id: z.string(), promptHash: z.string() }))
      .openapi({ description: "Rubrics pinned on the run, with the SHA-256 of their prompt" }),
    counts: Progress,
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("Run");

const BaseRun = z
  .object({
    available: z.boolean(),
    reason: z.string().optional(),
    endpointId: z.string().optional(),
    runId: z.string().optional(),
    reused: z.boolean().optional().openapi({ description: "true: a comparable base run existed; false: one was started" }),
    extraCalls: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Model calls the started base run adds (its first-stage units; judged suites add their judgments on top); 0 when reused" }),
  })
  .openapi("RunBaseComparison");

const start = createRoute({
  method: "post",
  path: "/v1/runs",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { body: { content: { "application/json": { schema: CreateRun } }, required: true } },
  responses: {
    202: json(
      RunSchema.extend({ base: BaseRun.optional() }),
      "Accepted; units are planned through the queue. `base` names the base run the report will compare with (endpoints with a base, unless compareWithBase is false).",
    ),
    200: json(
      RunDryRunSchema,
      "Dry run (`dryRun: true`): planned calls per stage and endpoint, estimated tokens and cost, the base run it would start or reuse, and the total; nothing started",
    ),
    ...errors,
  },
});
const listRuns = createRoute({
  method: "get",
  path: "/v1/runs",
  request: {
    query: z.object({
      endpointId: z.string().optional(),
      // "running" finds runs a stopped local stack left unfinished (npm start resumes them).
      status: z.enum(["running", "completed", "cancelled"]).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
  },
  responses: { 200: json(z.object({ runs: z.array(RunSchema) }), "Newest first") },
});
const readRun = createRoute({
  method: "get",
  path: "/v1/runs/{id}",
  request: { params: IdParam },
  responses: { 200: json(RunSchema, "Status and counts"), ...errors },
});
const cancel = createRoute({
  method: "post",
  path: "/v1/runs/{id}/cancel",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 200: json(RunSchema, "Cancelled; queued units are dropped unanswered"), ...errors },
});
const resume = createRoute({
  method: "post",
  path: "/v1/runs/{id}/resume",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 202: json(RunSchema.extend({ reenqueued: z.number() }), "Re-enqueued the units that have no stored response"), ...errors },
});
const importRoute = createRoute({
  method: "post",
  path: "/v1/runs/import",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "Answers generated elsewhere, as JSONL in the request body: one line per answer, `{item | prompt, sample?, answer, logprobs?, model?}` (docs/suites.md#imported-answers). The answers are stored as the ask stage and scored by it; judged suites get their judge units, which run through the queue. Lines that match no item (or are invalid, or repeat an item and sample) are a 400 listing their line numbers, and nothing is stored.",
  request: {
    query: z.object({
      endpointId: z.string().min(1).openapi({ description: "A registered endpoint, or a record-only one (callable: false)" }),
      suite: z.string().min(1).max(200).openapi({ description: "The suite; its current version is pinned unless suiteVersionId is given" }),
      suiteVersionId: z.string().min(1).max(300).optional().openapi({ description: "Pin this version (<suite>@<hash>) instead of the current one" }),
      judge: z.string().min(1).optional().openapi({ description: "Judge endpoint id (judged suites)" }),
      rubric: RubricId.openapi({ description: "Rubric id (GET /v1/rubrics); default safety-v1" }),
      judgeScoring: z.enum(["auto", "logprobs", "sampled"]).optional(),
      judgeSamples: z.coerce.number().int().min(1).max(20).optional(),
      temperature: z.coerce.number().min(0).max(2).optional().openapi({ description: "The temperature the answers were sampled at (recorded)" }),
      seed: z.coerce.number().int().min(0).max(MAX_SEED).optional(),
    }),
    body: { content: { "application/x-ndjson": { schema: z.string() }, "text/plain": { schema: z.string() } }, required: true },
  },
  responses: { 202: json(RunSchema.extend({ answers: z.number(), judgeUnits: z.number() }), "Stored; judge units are enqueued"), ...errors },
});
const rejudgeRoute = createRoute({
  method: "post",
  path: "/v1/runs/{id}/rejudge",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "Re-judges the run's stored answers (safety, misalignment, consistency) with another judge endpoint or rubric; no model call. Answers this judge and rubric already graded are not graded again. Compare with GET /v1/runs/{id}/judge-agreement.",
  request: {
    params: IdParam,
    body: {
      content: { "application/json": { schema: z.object({ judge: z.object({ endpointId: z.string().min(1), rubric: RubricId }).strict() }).strict() } },
      required: true,
    },
  },
  responses: {
    202: json(RejudgeResult, "Judge units created and enqueued"),
    ...errors,
  },
});
const rawResponses = createRoute({
  method: "get",
  path: "/v1/runs/{id}/responses",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: {
    params: IdParam,
    query: z.object({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(500).default(100) }),
  },
  responses: {
    200: json(
      z
        .strictObject({
          runId: z.string(),
          offset: z.number().int(),
          responses: z.array(
            z.strictObject({
              unitId: z.string(),
              itemKey: z.string(),
              sampleIndex: z.number().int(),
              status: z.string(),
              attempts: z.number().int(),
              lastError: z.string().nullable(),
              // Left join: null for a unit with no stored response yet.
              request: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The request sent to the provider, as sent" }),
              answer: z.string().nullable(),
              parsed: z
                .record(z.string(), z.unknown())
                .nullable()
                .openapi({ description: "The stage's parsed result; its fields depend on the suite kind and stage" }),
              score: z.number().nullable(),
              latencyMs: z.number().int().nullable(),
            }),
          ),
        })
        .openapi("RawResponses"),
      "Raw prompts and answers (admin only)",
    ),
    ...errors,
  },
});

export const runRoutes = new OpenAPIHono<AppEnv>()
  .openapi(importRoute, async (c) => {
    const q = c.req.valid("query");
    if (Number(c.req.header("content-length") ?? 0) > MAX_ANSWER_IMPORT_BYTES)
      throw new ApiError("payload_too_large", `the answer file is larger than ${MAX_ANSWER_IMPORT_BYTES} bytes (MAX_ANSWER_IMPORT_BYTES)`);
    const body = c.req.raw.body;
    if (!body) throw new ApiError("invalid_request", "the answer file (JSONL) is the request body");
    const db = getDb(c.env.DB);
    const { endpointId, suite, suiteVersionId, judge, rubric, ...rest } = q;
    const out = await importAnswers(
      c.env,
      db,
      { endpointId, suites: [suite], suiteVersionId, ...(judge ? { judge: { endpointId: judge, rubric } } : {}), ...rest },
      body,
    );
    return c.json({ ...(await runView(db, await getRun(db, out.runId))), answers: out.answers, judgeUnits: out.judgeUnits }, 202);
  })
  .openapi(start, async (c) => {
    const db = getDb(c.env.DB);
    const { dryRun, compareWithBase, ...body } = c.req.valid("json");
    const prepared = await prepareRun(db, body, c.env);
    if (dryRun) return c.json(await estimateRunWithBase(c.env, db, body, prepared, compareWithBase), 200);
    // The base run goes first, so kinds that read the base run when they launch (consistency) find it.
    const base = compareWithBase ? await ensureBaseRun(c.env, db, body, prepared) : undefined;
    const id = await launchRun(c.env, db, prepared);
    return c.json({ ...(await runView(db, await getRun(db, id))), ...(base ? { base } : {}) }, 202);
  })
  .openapi(listRuns, async (c) => {
    const q = c.req.valid("query");
    const db = getDb(c.env.DB);
    const rows = await db
      .select()
      .from(runs)
      .where(
        and(
          q.endpointId ? eq(runs.endpointId, q.endpointId) : undefined,
          q.status ? eq(runs.status, q.status) : undefined,
          // Runs of private endpoints are listed only for admins (docs/reports.md#privacy).
          c.get("isAdmin") ? undefined : notInArray(runs.endpointId, db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.private, true))),
        ),
      )
      .orderBy(desc(runs.createdAt))
      .limit(q.limit)
      .all();
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    return c.json({ runs: view.scrub(await Promise.all(rows.map((r) => runView(db, r)))) }, 200);
  })
  .openapi(readRun, async (c) => {
    const db = getDb(c.env.DB);
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    return c.json(view.scrub(await runView(db, (await visibleRun(c, db, c.req.valid("param").id)).run)), 200);
  })
  .openapi(cancel, async (c) => {
    const db = getDb(c.env.DB);
    const run = await getRun(db, c.req.valid("param").id);
    if (run.status === "completed") throw new ApiError("conflict", "the run has already completed");
    await db.update(runs).set({ status: "cancelled", updatedAt: new Date().toISOString() }).where(eq(runs.id, run.id));
    return c.json(await runView(db, await getRun(db, run.id)), 200);
  })
  .openapi(resume, async (c) => {
    const db = getDb(c.env.DB);
    const run = await getRun(db, c.req.valid("param").id);
    const before = await runProgress(db, run);
    if (run.status === "completed" && before.failed === 0) throw new ApiError("conflict", "the run completed with every unit done; nothing to resume");
    const reenqueued = await resumeRun(c.env, db, run);
    await completeIfFinished(db, run.id);
    return c.json({ ...(await runView(db, await getRun(db, run.id))), reenqueued }, 202);
  })
  .openapi(rejudgeRoute, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await rejudgeRun(c.env, db, { runId: c.req.valid("param").id, judge: c.req.valid("json").judge }), 202);
  })
  .openapi(rawResponses, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const db = getDb(c.env.DB);
    await getRun(db, id);
    const rows = await db
      .select({
        unitId: units.id,
        itemKey: units.itemKey,
        sampleIndex: units.sampleIndex,
        status: units.status,
        attempts: units.attempts,
        lastError: units.lastError,
        request: responses.request,
        rawKey: responses.rawKey,
        rawLine: responses.rawLine,
        answer: responses.answer,
        parsed: responses.parsed,
        score: responses.score,
        latencyMs: responses.latencyMs,
      })
      .from(units)
      .leftJoin(responses, and(eq(responses.runId, units.runId), eq(responses.unitId, units.id)))
      .where(eq(units.runId, id))
      .orderBy(units.itemKey, units.sampleIndex)
      .limit(q.limit)
      .offset(q.offset)
      .all();
    // The stored request lives in R2 for rows written since migration 0009 (one read per object on the page).
    const reader = rawReader(c.env.RAW);
    const withRequests = await Promise.all(
      rows.map(async ({ rawKey, rawLine, ...row }) => {
        if (row.request != null || rawKey == null || rawLine == null) return row;
        const line = await reader.line({ rawKey, rawLine, unitId: row.unitId });
        return { ...row, request: line?.request ?? null };
      }),
    );
    const asObject = (x: unknown) => (x ?? null) as Record<string, unknown> | null;
    return c.json(
      { runId: id, offset: q.offset, responses: withRequests.map((r) => ({ ...r, request: asObject(r.request), parsed: asObject(r.parsed) })) },
      200,
    );
  });
