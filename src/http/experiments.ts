/** @module http/experiments: group a base model with its finetuned models, run them, and report the effects. */
import { RubricIdField } from "../judges/rubrics";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { getDb } from "../db/client";
import { requireConstitution } from "../db/queries/constitutions";
import { builtinPoolCategories, trainedCategoriesOf } from "../datasets/datasets";
import { PrivacyView } from "../reports/privacy";
import { cachedReport, dataVersion } from "./report-cache";
import { getEndpoint } from "../db/queries/endpoints";
import { experimentMembers, experiments } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { newId, sha256Hex } from "../lib/ids";
import { estimateRun, totalOf } from "../queue/estimate";
import { launchRun, prepareRun } from "../queue/start-run";
import { experimentReport, experimentText } from "../reports/experiment";
import { studyReport } from "../reports/study";
import { ExperimentReport, ExperimentRow } from "../reports/schemas/experiment";
import { studyRows, tidyResponse } from "../reports/tidy";
import { MetricId } from "./leaderboard";
import { NARROW_TRAINING_CATEGORIES, SAFETY_CATEGORIES } from "../kinds/safety/format";
import { requireAdmin } from "./auth";
import { assertExperimentVisible } from "./privacy";
import { Bearer, ConstitutionId, errors, IdParam, json, RunEstimateSchema, samplingOverrides } from "./schemas";
import { SeedSchema } from "../lib/seed";

const Member = z
  .object({
    endpointId: z.string().min(1),
    constitution: ConstitutionId.nullable().optional(),
    scope: z.enum(["broad", "narrow"]),
    trainedCategories: z.array(z.string().min(1)).optional().openapi({
      description:
        "Default: the categories of the dataset the member's training job used; else harassment_bullying and illegal_activities for narrow, the built-in training pool's categories for broad",
    }),
    arm: z.string().min(1).max(100).optional().openapi({ description: "Replicates of one arm share it; default <constitution>/<scope>" }),
    replicate: z.number().int().min(1).default(1),
  })
  .strict();

const CreateExperiment = z
  .object({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000).optional(),
    baseEndpointId: z.string().min(1),
    members: z.array(Member).min(1).max(50),
  })
  .strict()
  .openapi("ExperimentCreate");

const StartRuns = z
  .object({
    judge: z
      .object({ endpointId: z.string().min(1), rubric: RubricIdField })
      .strict()
      .optional()
      .openapi({ description: "Needed when a suite is judged (safety, misalignment-questions, persona-consistency)" }),
    suites: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(20)
      .default(["safety"])
      .openapi({ description: "Any suites, of any kind (persona, safety, misalignment, self-report, consistency)" }),
    ...samplingOverrides,
    seed: SeedSchema.optional(),
    dryRun: z.boolean().optional().openapi({ description: "Answer each run's planned calls, tokens and cost and the totals (200), starting nothing" }),
  })
  .strict()
  .openapi("ExperimentRuns");

/** An experiment's member: its arm (constitution x scope), replicate and trained categories. */
const ExperimentMember = z
  .strictObject({
    experimentId: z.string(),
    endpointId: z.string(),
    constitution: z.string().nullable(),
    scope: z.string(),
    trainedCategories: z.array(z.string()),
    arm: z.string(),
    replicate: z.number().int(),
  })
  .openapi("ExperimentMember");
const ExperimentWithMembers = z
  .strictObject({ ...ExperimentRow.shape, baseEndpointId: z.string(), members: z.array(ExperimentMember) })
  .openapi("ExperimentWithMembers");
const RunsStarted = z
  .strictObject({ experimentId: z.string(), seed: z.number().int(), runs: z.array(z.strictObject({ endpointId: z.string(), runId: z.string() })) })
  .openapi("ExperimentRunsStarted");
const RunsEstimated = z
  .strictObject({
    dryRun: z.literal(true),
    experimentId: z.string(),
    seed: z.number().int(),
    runs: z.array(RunEstimateSchema),
    total: z.strictObject({ calls: z.number().int(), inputTokens: z.number().int(), outputTokensMax: z.number().int(), cost: z.number().nullable() }),
  })
  .openapi("ExperimentRunsEstimate");

const create = createRoute({
  method: "post",
  path: "/v1/experiments",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { body: { content: { "application/json": { schema: CreateExperiment } }, required: true } },
  responses: { 201: json(ExperimentWithMembers, "Created"), ...errors },
});
const list = createRoute({
  method: "get",
  path: "/v1/experiments",
  responses: { 200: json(z.strictObject({ experiments: z.array(ExperimentRow) }), "Experiments, newest first") },
});
const read = createRoute({
  method: "get",
  path: "/v1/experiments/{id}",
  request: { params: IdParam },
  responses: { 200: json(ExperimentWithMembers, "An experiment and its members"), ...errors },
});
const startRuns = createRoute({
  method: "post",
  path: "/v1/experiments/{id}/runs",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description: "Starts one run per model (base and every member) with the same seed, suites and judge, so the prompts are paired.",
  request: { params: IdParam, body: { content: { "application/json": { schema: StartRuns } }, required: true } },
  responses: { 202: json(RunsStarted, "Runs started"), 200: json(RunsEstimated, "Dry run: each run's estimate and the totals; nothing started"), ...errors },
});
const report = createRoute({
  method: "get",
  path: "/v1/experiments/{id}/report",
  request: {
    params: IdParam,
    query: z.object({
      format: z.enum(["json", "text"]).default("json"),
      compare: MetricId.optional().openapi({
        description: "A metric id: adds every member against every other member on it, paired on items, Holm across the pairs (study.compare)",
      }),
    }),
  },
  responses: {
    200: {
      content: { "application/json": { schema: ExperimentReport }, "text/plain": { schema: z.string() } },
      description: "The experiment report: `study` for every suite kind, and the emergent-alignment safety matrix when the base has a safety run",
    },
    ...errors,
  },
});
const exportRoute = (format: "csv" | "jsonl") =>
  createRoute({
    method: "get",
    path: `/v1/experiments/{id}/export.${format}`,
    summary: `Tidy ${format === "csv" ? "CSV" : "JSON lines"} of the experiment`,
    description:
      "One row per model x metric x slice (model, arm, vs_base, vs_member with ?compare=) with n, clusters, estimate, lo, hi, method, p and p_holm (docs/reports.md#tidy-exports). Streamed.",
    request: { params: IdParam, query: z.object({ compare: MetricId.optional() }) },
    responses: { 200: { content: { [format === "csv" ? "text/csv" : "application/x-ndjson"]: { schema: z.string() } }, description: "Tidy rows" }, ...errors },
  });

async function loadExperiment(db: ReturnType<typeof getDb>, id: string) {
  const exp = await db.select().from(experiments).where(eq(experiments.id, id)).get();
  if (!exp) throw notFound("experiment", id);
  const members = await db.select().from(experimentMembers).where(eq(experimentMembers.experimentId, id)).all();
  return { ...exp, members };
}

export const experimentRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    const db = getDb(c.env.DB);
    if (await db.select().from(experiments).where(eq(experiments.name, body.name)).get())
      throw new ApiError("conflict", `an experiment named ${body.name} exists`);
    const live = async (id: string, what: string) =>
      getEndpoint(db, id).catch(() => {
        throw new ApiError("invalid_request", `${what} ${id} is not a live endpoint`);
      });
    await live(body.baseEndpointId, "baseEndpointId");
    const ids = new Set<string>();
    const trained = new Map<string, string[]>();
    for (const m of body.members) {
      await live(m.endpointId, "member endpointId");
      if (m.constitution) await requireConstitution(db, m.constitution, "member constitution");
      if (m.endpointId === body.baseEndpointId || ids.has(m.endpointId)) throw new ApiError("invalid_request", `endpoint ${m.endpointId} appears twice`);
      ids.add(m.endpointId);
      const unknown = (m.trainedCategories ?? []).filter((t) => !(SAFETY_CATEGORIES as readonly string[]).includes(t));
      if (unknown.length) throw new ApiError("invalid_request", `unknown trained categories: ${unknown.join(", ")}`, { known: SAFETY_CATEGORIES });
      // What the member was trained on, not what its scope's name suggests: the request's list, else its training
      // job's dataset, else the scope's default over the built-in pool (broad = the pool's 4 categories, not all 10).
      trained.set(
        m.endpointId,
        m.trainedCategories ??
          (await trainedCategoriesOf(db, m.endpointId))?.categories ??
          (m.scope === "narrow" ? NARROW_TRAINING_CATEGORIES : builtinPoolCategories()),
      );
    }
    const id = newId("exp");
    await db.batch([
      db.insert(experiments).values({ id, name: body.name, description: body.description ?? null, baseEndpointId: body.baseEndpointId }),
      ...body.members.map((m) =>
        db.insert(experimentMembers).values({
          experimentId: id,
          endpointId: m.endpointId,
          constitution: m.constitution ?? null,
          scope: m.scope,
          trainedCategories: trained.get(m.endpointId)!,
          arm: m.arm ?? `${m.constitution ?? "none"}/${m.scope}`,
          replicate: m.replicate,
        }),
      ),
    ]);
    return c.json(await loadExperiment(db, id), 201);
  })
  .openapi(list, async (c) => {
    const db = getDb(c.env.DB);
    const rows = await db.select().from(experiments).orderBy(desc(experiments.createdAt)).all();
    // An experiment with a private model is private as a whole.
    const visible = [];
    for (const r of rows)
      if (
        await assertExperimentVisible(c, db, r.id).then(
          () => true,
          () => false,
        )
      )
        visible.push(r);
    return c.json({ experiments: visible }, 200);
  })
  .openapi(read, async (c) => {
    const db = getDb(c.env.DB);
    await assertExperimentVisible(c, db, c.req.valid("param").id);
    return c.json(await loadExperiment(db, c.req.valid("param").id), 200);
  })
  .openapi(startRuns, async (c) => {
    const db = getDb(c.env.DB);
    const exp = await loadExperiment(db, c.req.valid("param").id);
    const { dryRun, ...body } = c.req.valid("json");
    // One seed for every model, so all answer the same prompts with the same sampling seeds.
    const seed = body.seed ?? crypto.getRandomValues(new Uint32Array(1))[0] % 2 ** 31;
    const endpointIds = [exp.baseEndpointId, ...exp.members.map((m) => m.endpointId)];
    const prepared = [];
    for (const endpointId of endpointIds) prepared.push(await prepareRun(db, { ...body, endpointId, seed }, c.env));
    if (dryRun) {
      const runs = [];
      for (const p of prepared) runs.push(await estimateRun(db, p));
      return c.json({ dryRun: true as const, experimentId: exp.id, seed, runs, total: totalOf(runs) }, 200);
    }
    const started = [];
    for (const p of prepared) started.push({ endpointId: p.endpointId, runId: await launchRun(c.env, db, p) });
    return c.json({ experimentId: exp.id, seed, runs: started }, 202);
  })
  // The route declares JSON and text/plain; zod-openapi's handler typing only follows the JSON one, hence the cast.
  .openapi(report, (async (c: Context<AppEnv>) => {
    const param = c.req.param("id") as string;
    const db = getDb(c.env.DB);
    await assertExperimentVisible(c, db, param);
    // Cached per (experiment, data version, privacy view, format, compare): anonymous reads cannot force the recomputation.
    const exp = await loadExperiment(db, param);
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    const version = `${await dataVersion(c.env.DB, [exp.baseEndpointId, ...exp.members.map((m) => m.endpointId)])}.${(await sha256Hex(JSON.stringify(exp))).slice(0, 16)}`;
    const text = c.req.query("format") === "text";
    const compareMetric = c.req.query("compare") || undefined;
    return cachedReport(
      c,
      view,
      version,
      ["format", "compare"],
      async () => view.scrub(await experimentReport(db, c.env.DB, param, { compareMetric })),
      text ? (r) => experimentText(r as ExperimentReport) : undefined,
    );
  }) as never)
  .openapi(exportRoute("csv"), async (c) => tidyExport(c, "csv"))
  .openapi(exportRoute("jsonl"), async (c) => tidyExport(c, "jsonl"));

async function tidyExport(c: Context<AppEnv>, format: "csv" | "jsonl") {
  const id = c.req.param("id") as string;
  const db = getDb(c.env.DB);
  await assertExperimentVisible(c, db, id);
  const exp = await loadExperiment(db, id);
  const view = await PrivacyView.of(db, c.get("isAdmin"));
  const study = view.scrub(await studyReport(db, c.env.DB, exp.baseEndpointId, exp.members, { compareMetric: c.req.query("compare") || undefined }));
  return tidyResponse(studyRows(exp.id, study), format, `experiment-${exp.id}`) as never;
}
