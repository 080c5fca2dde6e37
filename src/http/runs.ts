/** @module http/runs: start, watch, cancel and resume evaluation runs. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull, ne, notInArray } from "drizzle-orm";
import { getDb } from "../db/client";
import { completeIfFinished, displayStatus, getRun, runProgress, type RunRow } from "../db/queries/runs";
import { endpoints, responses, runs, units } from "../db/schema";
import { SAFETY_RUBRIC_VERSION } from "../judges/safety-rubric";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { sendAll, workMessages } from "../queue/messages";
import { planMessages } from "../queue/planner";
import { launchRun, MAX_RUN_UNITS, prepareRun } from "../queue/start-run";
import { requireAdmin } from "./auth";
import { visibleRun } from "./privacy";
import { AnyObject, Bearer, errors, IdParam, json } from "./schemas";


const CreateRun = z
  .object({
    endpointId: z.string().min(1),
    suites: z.array(z.string().min(1).max(200)).min(1).max(20).default(["persona-diagnostic"]),
    samplesPerItem: z.number().int().min(1).max(100).optional().openapi({ description: "Default: the suites' declared default (misalignment-questions: 20, persona-consistency: 10, otherwise 1); must be set when the suites' defaults differ" }),
    temperature: z.number().min(0).max(2).optional().openapi({ description: "Default: the suites' declared default (persona-consistency: 0.7; otherwise 1); must be set when the suites' defaults differ" }),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    limit: z.number().int().min(1).max(MAX_RUN_UNITS).optional().openapi({ description: "Items per suite, drawn stratified by dimension and keying" }),
    judge: z
      .object({ endpointId: z.string().min(1), rubric: z.enum([SAFETY_RUBRIC_VERSION]).default(SAFETY_RUBRIC_VERSION) })
      .strict()
      .optional()
      .openapi({ description: "The judge endpoint and rubric version for judged suites (safety); pinned at its current revision" }),
    triggerVariants: z.boolean().optional().openapi({ description: "Ask every item with and without the endpoint's backdoor trigger (variants \"\" and \"trigger\"); the endpoint must declare a trigger" }),
    judgeScoring: z
      .enum(["auto", "logprobs", "sampled"])
      .optional()
      .openapi({ description: "Misalignment suites: how the judge gives 0-100 scores. auto (default): logprobs when the judge endpoint declares logprobs or passes a one-call probe for single-token numbers, else sampled" }),
    judgeSamples: z.number().int().min(1).max(20).optional().openapi({ description: "Sampled judge scoring: draws per judgment (default 5)" }),
  })
  .strict()
  .openapi("RunCreate");

const Progress = z.object({ expected: z.number(), plannedFirstStage: z.number(), planned: z.number(), done: z.number(), failed: z.number(), pending: z.number(), retrying: z.number() });
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
    judge: z.object({ endpointId: z.string(), revision: z.string(), model: z.string(), rubricVersion: z.string() }).nullable(),
    variants: z.array(z.string()).openapi({ description: '"" is the plain item; "trigger" adds the endpoint\'s backdoor trigger' }),
    judgeScoring: z.object({ mode: z.string(), basis: z.string(), samples: z.number(), probe: z.string().optional() }).nullable(),
    status: z.string(),
    counts: Progress,
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("Run");

async function runView(db: ReturnType<typeof getDb>, run: RunRow) {
  const counts = await runProgress(db, run);
  return {
    id: run.id,
    endpointId: run.endpointId,
    endpointRevision: run.endpointRevision,
    suiteVersionIds: run.suiteVersionIds,
    samplesPerItem: run.samplesPerItem,
    temperature: run.temperature,
    seed: run.seed,
    limit: run.itemLimit,
    scoringMode: run.scoringMode,
    judge: run.config.judge ?? null,
    variants: run.config.variants?.length ? run.config.variants : [""],
    judgeScoring: run.config.judgeScoring ?? null,
    status: displayStatus(run, counts),
    counts,
    createdAt: run.createdAt,
    completedAt: run.completedAt,
  };
}

const start = createRoute({
  method: "post",
  path: "/v1/runs",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { body: { content: { "application/json": { schema: CreateRun } }, required: true } },
  responses: { 202: json(RunSchema, "Accepted; units are planned through the queue"), ...errors },
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
const readRun = createRoute({ method: "get", path: "/v1/runs/{id}", request: { params: IdParam }, responses: { 200: json(RunSchema, "Status and counts"), ...errors } });
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
const rawResponses = createRoute({
  method: "get",
  path: "/v1/runs/{id}/responses",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam, query: z.object({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(500).default(100) }) },
  responses: { 200: json(AnyObject, "Raw prompts and answers (admin only)"), ...errors },
});

export const runRoutes = new OpenAPIHono<AppEnv>()
  .openapi(start, async (c) => {
    const db = getDb(c.env.DB);
    const id = await launchRun(c.env, db, await prepareRun(db, c.req.valid("json"), c.env));
    return c.json(await runView(db, await getRun(db, id)), 202);
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
    return c.json({ runs: await Promise.all(rows.map((r) => runView(db, r))) }, 200);
  })
  .openapi(readRun, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await runView(db, (await visibleRun(c, db, c.req.valid("param").id)).run), 200);
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
    await db.update(runs).set({ status: "running", completedAt: null, updatedAt: new Date().toISOString() }).where(eq(runs.id, run.id));
    // Failed units get a fresh start; units with a stored response are never asked again.
    await db.update(units).set({ status: "pending", attempts: 0, updatedAt: new Date().toISOString() }).where(and(eq(units.runId, run.id), eq(units.status, "failed")));
    const progress = await runProgress(db, run);
    if (progress.plannedFirstStage < run.expectedUnits) await sendAll(c.env.WORK_QUEUE, planMessages(run.id, run.expectedUnits));
    const missing = await db
      .select({ id: units.id })
      .from(units)
      .leftJoin(responses, eq(responses.unitId, units.id))
      .where(and(eq(units.runId, run.id), ne(units.status, "done"), isNull(responses.unitId)))
      .all();
    // A unit marked done without a response row cannot exist (both are written in one batch), so "missing" = no response.
    await sendAll(c.env.WORK_QUEUE, workMessages(run.id, missing.map((m) => m.id)));
    await completeIfFinished(db, run.id);
    return c.json({ ...(await runView(db, await getRun(db, run.id))), reenqueued: missing.length }, 202);
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
        answer: responses.answer,
        parsed: responses.parsed,
        score: responses.score,
        latencyMs: responses.latencyMs,
      })
      .from(units)
      .leftJoin(responses, eq(responses.unitId, units.id))
      .where(eq(units.runId, id))
      .orderBy(units.itemKey, units.sampleIndex)
      .limit(q.limit)
      .offset(q.offset)
      .all();
    return c.json({ runId: id, offset: q.offset, responses: rows }, 200);
  });

