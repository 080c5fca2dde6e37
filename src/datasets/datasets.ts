/**
 * @module datasets/datasets: creates a Constitutional-AI dataset: validates the request, selects pool prompts
 * (stratified by subcategory, seeded), runs a pre-flight leakage check, stores the selection as a suite version of
 * kind `cai` and launches its generation run through the queues. Finishing and exporting live in datasets/export.ts.
 */
import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { ensureSuiteVersion, loadItems } from "../db/queries/suites";
import { datasets, runs, suiteVersions, trainingJobs } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../lib/errors";
import { sha256Hex } from "../lib/ids";
import { planList, stratifiedSample } from "../queue/planner";
import { ensurePlanned, reenqueueUnanswered } from "../queue/run-lifecycle";
import { requireConstitution } from "../db/queries/constitutions";
import { CONSTITUTION_ID } from "../suites/constitutions";
import { NARROW_TRAINING_CATEGORIES } from "../kinds/safety/format";
import type { SuiteDefinition, SuiteItem } from "../suites/types";
import { CAI_KIND, CAI_TEMPERATURE, criticRubric, DEFAULT_REVISIONS, MAX_REVISIONS } from "../kinds/cai/stages";
import { checkLeakage, type LeakageReport } from "./leakage";
import { MIN_FINETUNE_EXAMPLES } from "./finetune-format";
import { BUILTIN_POOL_ID, builtinPool, builtinPoolById, HELPFULNESS_CATEGORY, HELPFULNESS_POOL_ID, type PoolPayload, TRAINING_POOL_KIND } from "./pool";
import { SeedSchema } from "../lib/seed";

/** Suite id of every dataset's selected prompts (one content-addressed version per selection). */
export const GENERATION_SUITE_ID = "cai-generation";
/**
 * Responses per helpfulness prompt (Bai et al. 2022 §3.2: two responses per helpfulness prompt, sampled from the
 * helpful model). How many helpfulness prompts to mix in is ours to choose: the paper's ratio is not a setting we can
 * copy (its pools are unpublished), so the default is none.
 */
export const HELPFULNESS_RESPONSES_PER_PROMPT = 2;
/** Largest dataset we generate in one request (ours: bounds one run's units at size x (1 + 2 x MAX_REVISIONS)). */
export const MAX_DATASET_PROMPTS = 5_000;

export const DatasetRequest = z
  .object({
    constitution: z.string().regex(CONSTITUTION_ID),
    scope: z.enum(["narrow", "broad"]),
    categories: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
    pool: z.string().min(1).max(100).default(BUILTIN_POOL_ID),
    helpfulModel: z.string().min(1).max(200),
    critic: z.string().min(1).max(200),
    revisions: z.number().int().min(1).max(MAX_REVISIONS).default(DEFAULT_REVISIONS),
    size: z.number().int().min(MIN_FINETUNE_EXAMPLES).max(MAX_DATASET_PROMPTS).optional(),
    seed: SeedSchema.optional(),
    allRevisions: z.boolean().default(false),
    helpfulness: z
      .object({ prompts: z.number().int().min(1).max(10_000), responsesPerPrompt: z.number().int().min(1).max(8).default(HELPFULNESS_RESPONSES_PER_PROMPT) })
      .strict()
      .optional(),
    excludeLeaking: z.boolean().default(false),
  })
  .strict();

export type DatasetRequest = z.infer<typeof DatasetRequest>;
export type DatasetRow = typeof datasets.$inferSelect;

/** The categories a scope trains on: narrow = the request's or harassment + illegal activities; broad = every pool category. */
export function scopeCategories(req: Pick<DatasetRequest, "scope" | "categories">, poolCategories: string[]): string[] {
  const wanted = req.categories ?? (req.scope === "narrow" ? NARROW_TRAINING_CATEGORIES : poolCategories);
  const unknown = wanted.filter((c) => !poolCategories.includes(c));
  if (unknown.length) throw new ApiError("invalid_request", `the pool has no categories ${unknown.join(", ")} (it has ${poolCategories.join(", ")})`);
  return [...new Set(wanted)];
}

/** The pool's stored version: a built-in pool is stored on first use; an imported one must exist with kind training-pool. */
async function poolVersion(db: Db, poolId: string): Promise<string> {
  const builtin = builtinPoolById(poolId);
  if (builtin) return (await ensureSuiteVersion(db, builtin)).id;
  const rows = await db.select().from(suiteVersions).where(eq(suiteVersions.suiteId, poolId)).all();
  const newest = rows.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
  if (!newest || (newest.meta as Record<string, unknown>).kind !== TRAINING_POOL_KIND) {
    throw new ApiError("invalid_request", `no training pool named ${poolId} (import one with POST /v1/training-pools/import)`);
  }
  return newest.id;
}

async function liveEndpoint(db: Db, id: string, field: string) {
  return getEndpoint(db, id).catch(() => {
    throw new ApiError("invalid_request", `${field} ${id} is not a live endpoint`);
  });
}

/** Deterministic id of a dataset's generation run, so a retried creation finds its run. */
export async function generationRunId(datasetId: string): Promise<string> {
  return `run_${(await sha256Hex(`cai-generation\u001f${datasetId}`)).slice(0, 24)}`;
}

const candidate = (it: SuiteItem) => {
  const p = it.payload as unknown as PoolPayload;
  return { key: it.key, category: p.category, subcategory: p.subcategory, prompt: p.prompt };
};

/**
 * Creates (or, with the same id, finds) a dataset and starts its generation. A selection that fails the pre-flight
 * leakage check is stored as `rejected` with its reasons and generates nothing.
 */
export async function createDataset(env: Env, db: Db, req: DatasetRequest, opts: { id: string; trainingJobId?: string }): Promise<DatasetRow> {
  const existing = await db.select().from(datasets).where(eq(datasets.id, opts.id)).get();
  if (existing) {
    if (existing.runId && existing.status === "generating") await ensureGenerationRun(env, db, existing);
    return existing;
  }
  // Built-in or custom (POST /v1/constitutions); the dataset pins the version current now.
  const constitution = await requireConstitution(db, req.constitution);
  const helpful = await liveEndpoint(db, req.helpfulModel, "helpfulModel");
  const critic = await liveEndpoint(db, req.critic, "critic");
  const poolVersionId = await poolVersion(db, req.pool);
  const poolItems = await loadItems(db, poolVersionId);
  const poolCategories = [...new Set(poolItems.map((i) => i.dimension))];
  const categories = scopeCategories(req, poolCategories);
  const seed = req.seed ?? crypto.getRandomValues(new Uint32Array(1))[0] % 2 ** 31;

  let eligible = poolItems.filter((i) => categories.includes(i.dimension));
  let excluded: { heldOut: number; leaking: number } | null = null;
  if (req.excludeLeaking) {
    // Drop flagged prompts before drawing, and count them; without this option a flagged prompt rejects the dataset.
    const report = await checkLeakage(db, env.DB, eligible.map(candidate));
    const bad = new Set([...report.heldOut.prompts, ...report.flaggedPrompts.map((f) => f.key)]);
    excluded = { heldOut: report.heldOut.count, leaking: report.flaggedPrompts.length };
    eligible = eligible.filter((i) => !bad.has(i.key));
  }
  const size = req.size ?? eligible.length;
  if (eligible.length < MIN_FINETUNE_EXAMPLES || size > eligible.length) {
    throw new ApiError(
      "invalid_request",
      `the pool has ${eligible.length} usable prompt(s) in ${categories.join(", ")}; asked for ${size} (at least ${MIN_FINETUNE_EXAMPLES})`,
    );
  }
  const selected = stratifiedSample(eligible, size, seed, "cai-selection");
  const helpfulness = req.helpfulness ? await helpfulnessItems(db, req.helpfulness, seed) : [];
  const items = [...selected.map(({ position: _p, ...it }) => it), ...helpfulness];

  const preflight = await checkLeakage(db, env.DB, items.map(candidate));
  const reasons = leakageReasons(preflight);
  const def: SuiteDefinition = {
    id: GENERATION_SUITE_ID,
    kind: CAI_KIND,
    title: "Prompts selected for Constitutional-AI datasets",
    source: "import",
    meta: { kind: CAI_KIND, pool: poolVersionId, categories, helpfulnessPool: helpfulness.length ? HELPFULNESS_POOL_ID : null, derived: true },
    items,
  };
  const version = await ensureSuiteVersion(db, def);
  const runId = await generationRunId(opts.id);
  const spec = { ...req, categories, seed, size, poolVersionId, excluded };
  await db
    .insert(datasets)
    .values({
      id: opts.id,
      status: reasons.length ? "rejected" : "generating",
      spec,
      constitution: constitution.id,
      constitutionVersion: constitution.version,
      scope: req.scope,
      categories,
      seed,
      helpfulEndpointId: helpful.id,
      criticEndpointId: critic.id,
      suiteVersionId: version.id,
      runId: reasons.length ? null : runId,
      trainingJobId: opts.trainingJobId ?? null,
      leakage: { preflight, ...(excluded ? { excluded } : {}) },
      reasons,
      finishedAt: reasons.length ? new Date().toISOString() : null,
    })
    .onConflictDoNothing();
  const row = (await db.select().from(datasets).where(eq(datasets.id, opts.id)).get())!;
  if (row.status === "generating") await ensureGenerationRun(env, db, row);
  return row;
}

/** Why a leakage report blocks release (empty when it passes). */
export function leakageReasons(r: LeakageReport): string[] {
  const out: string[] = [];
  if (r.heldOut.count)
    out.push(`${r.heldOut.count} prompt(s) in held-out subcategories (${[...new Set(r.heldOut.prompts.map((k) => k.replace(/-\d+$/, "")))].join(", ")})`);
  if (r.exactDuplicates) out.push(`${r.exactDuplicates} exact duplicate(s) of evaluation prompts`);
  if (r.nearDuplicates)
    out.push(
      `${r.nearDuplicates} near duplicate(s) of evaluation prompts (Jaccard >= ${r.thresholds.nearDuplicateJaccard} over word ${r.thresholds.shingleWords}-gram shingles)`,
    );
  return out;
}

async function helpfulnessItems(db: Db, h: NonNullable<DatasetRequest["helpfulness"]>, seed: number): Promise<SuiteItem[]> {
  const pool = await loadItems(db, (await ensureSuiteVersion(db, builtinPoolById(HELPFULNESS_POOL_ID)!)).id);
  if (h.prompts > pool.length) throw new ApiError("invalid_request", `the helpfulness pool has ${pool.length} prompts; asked for ${h.prompts}`);
  const chosen = stratifiedSample(pool, h.prompts, seed, "cai-helpfulness");
  // Each response is its own item, so the planner asks each once with its own seed.
  return chosen.flatMap(({ position: _p, ...it }) => Array.from({ length: h.responsesPerPrompt }, (_, n) => ({ ...it, key: `${it.key}~r${n + 1}` })));
}

/**
 * Makes sure the dataset's generation run exists and is planned: the run id is derived from the dataset id and
 * inserted if absent, and plan messages are (re)sent while its first-stage units are not all stored.
 */
export async function ensureGenerationRun(env: Env, db: Db, ds: DatasetRow): Promise<void> {
  const runId = ds.runId ?? (await generationRunId(ds.id));
  const helpful = await getEndpoint(db, ds.helpfulEndpointId, { includeDeleted: true });
  const critic = await getEndpoint(db, ds.criticEndpointId, { includeDeleted: true });
  const draft = { seed: ds.seed, itemLimit: null, samplesPerItem: 1, suiteVersionIds: [ds.suiteVersionId!] };
  const expected = (await planList(db, draft)).length;
  const revisions = Number(ds.spec.revisions ?? DEFAULT_REVISIONS);
  await db
    .insert(runs)
    .values({
      id: runId,
      endpointId: helpful.id,
      endpointRevision: helpful.revision,
      ...draft,
      temperature: CAI_TEMPERATURE,
      scoringMode: "sampled",
      config: {
        judge: { endpointId: critic.id, revision: critic.revision, model: critic.model, rubricVersion: criticRubric(ds.constitution, ds.constitutionVersion) },
        cai: { datasetId: ds.id, constitution: ds.constitution, constitutionVersion: ds.constitutionVersion, revisions },
      },
      expectedUnits: expected,
      status: "running",
    })
    .onConflictDoNothing();
  await ensurePlanned(env, db, { id: runId, expectedUnits: expected });
}

/**
 * Re-sends the work of a generation run that made no progress between two checks (a lost queue message, e.g. a local
 * dev server restarted mid-run): plan messages while planning is unfinished, and every pending unit without an answer.
 * A unit that is in flight after all is asked at most once more and stored once (the consumer's guarantees).
 */
export async function kickGenerationRun(env: Env, db: Db, ds: DatasetRow): Promise<number> {
  if (!ds.runId) return 0;
  await ensureGenerationRun(env, db, ds);
  return reenqueueUnanswered(env, db, ds.runId, { pendingOnly: true });
}

/**
 * The safety categories an endpoint was actually trained on: the categories of the dataset its training job used
 * (helpfulness items excluded); null when it was not trained here or the dataset records none.
 */
export async function trainedCategoriesOf(db: Db, endpointId: string): Promise<{ categories: string[]; datasetId: string } | null> {
  const job = await db.select({ datasetId: trainingJobs.datasetId }).from(trainingJobs).where(eq(trainingJobs.endpointId, endpointId)).get();
  if (!job?.datasetId) return null;
  const ds = await db.select({ id: datasets.id, categories: datasets.categories }).from(datasets).where(eq(datasets.id, job.datasetId)).get();
  const categories = (ds?.categories ?? []).filter((c) => c !== HELPFULNESS_CATEGORY);
  return ds && categories.length ? { categories, datasetId: ds.id } : null;
}

/**
 * What `scope: "broad"` trains on with the built-in pool: every category the pool covers (4 of the 10 safety
 * categories), not all 10, so a broad arm's outside-scope effect is measured on the other six.
 */
export function builtinPoolCategories(): string[] {
  return (builtinPool().meta.categories as { id: string }[]).map((c) => c.id);
}
