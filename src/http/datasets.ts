/** @module http/datasets: Constitutional-AI datasets (create, watch, download, signed links) and training-pool import. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { getDb, type Db } from "../db/client";
import { getRun, runProgress } from "../db/queries/runs";
import { ensureSuiteVersion } from "../db/queries/suites";
import { datasets } from "../db/schema";
import { createDataset, DatasetRequest, type DatasetRow } from "../datasets/datasets";
import { finaliseDataset, notifyPipeline } from "../datasets/export";
import { checkDatasetLink, DEFAULT_LINK_TTL_SECONDS, MAX_LINK_TTL_SECONDS, signDatasetLink } from "../datasets/links";
import { builtinPoolById, parsePoolImport } from "../datasets/pool";
import { MAX_UPLOAD_BYTES, storeUploadedDataset, UploadOptions } from "../datasets/upload";
import type { AppEnv, Env } from "../env";
import { ApiError, notFound } from "../lib/errors";
import { newId } from "../lib/ids";
import { MAX_IMPORT_BYTES } from "../kinds/persona/format";
import { requireAdmin } from "./auth";
import { AnyObject, Bearer, errors, IdParam, json } from "./schemas";

/** The request schema lives with the domain (datasets/datasets.ts); the route describes it. */
const DatasetCreate = DatasetRequest;
const CREATE_DESCRIPTION =
  "helpfulModel and critic are endpoint ids. Narrow scope defaults to harassment_bullying + illegal_activities; broad to every pool category. revisions defaults to 4 (Bai et al. 2022). size = prompts drawn, stratified by subcategory (default all). A selection that fails the pre-flight leakage check is stored as rejected, with reasons, and generates nothing.";

const DatasetView = z
  .object({
    id: z.string(),
    status: z.enum(["generating", "released", "rejected"]),
    constitution: z.object({ id: z.string(), version: z.number() }),
    scope: z.string(),
    categories: z.array(z.string()),
    seed: z.number(),
    spec: AnyObject,
    helpfulModel: z.string(),
    critic: z.string(),
    runId: z.string().nullable(),
    progress: AnyObject.nullable(),
    counts: AnyObject.nullable(),
    leakage: AnyObject.nullable(),
    validation: AnyObject.nullable(),
    reasons: z.array(z.string()),
    export: z.object({ sha256: z.string(), bytes: z.number() }).nullable(),
    manifest: AnyObject.nullable().openapi({ description: "The manifest without its per-sample list (GET .../manifest has it all)" }),
    trainingJobId: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Dataset");

async function readManifest(env: Env, ds: DatasetRow): Promise<Record<string, unknown> | null> {
  if (!ds.manifestKey) return null;
  const obj = await env.DATASETS.get(ds.manifestKey);
  return obj ? ((await obj.json()) as Record<string, unknown>) : null;
}

export async function datasetView(env: Env, db: Db, ds: DatasetRow, opts: { manifest?: boolean } = {}) {
  const run = ds.runId ? await getRun(db, ds.runId).catch(() => null) : null;
  let manifest: Record<string, unknown> | null = null;
  if (opts.manifest) {
    const full = await readManifest(env, ds);
    if (full) {
      const { samples: _s, ...rest } = full;
      manifest = rest;
    }
  }
  return {
    id: ds.id,
    status: ds.status as "generating" | "released" | "rejected",
    constitution: { id: ds.constitution, version: ds.constitutionVersion },
    scope: ds.scope,
    categories: ds.categories,
    seed: ds.seed,
    spec: ds.spec,
    helpfulModel: ds.helpfulEndpointId,
    critic: ds.criticEndpointId,
    runId: ds.runId,
    progress: run ? { status: run.status, ...(await runProgress(db, run)) } : null,
    counts: ds.counts ?? null,
    leakage: ds.leakage ?? null,
    validation: ds.validation ?? null,
    reasons: ds.reasons,
    export: ds.exportSha256 ? { sha256: ds.exportSha256, bytes: ds.exportBytes ?? 0 } : null,
    manifest,
    trainingJobId: ds.trainingJobId,
    createdAt: ds.createdAt,
    finishedAt: ds.finishedAt,
  };
}

export async function getDataset(db: Db, id: string): Promise<DatasetRow> {
  const row = await db.select().from(datasets).where(eq(datasets.id, id)).get();
  if (!row) throw notFound("dataset", id);
  return row;
}

/** Reads a dataset, finishing it first if its generation run completed while no hook ran (idempotent). */
async function freshDataset(env: Env, db: Db, id: string): Promise<DatasetRow> {
  const row = await getDataset(db, id);
  if (row.status !== "generating") return row;
  const done = await finaliseDataset(env, db, id);
  if (done.status !== "generating") await notifyPipeline(env, done);
  return done;
}

function requireReleased(ds: DatasetRow): string {
  if (ds.status !== "released" || !ds.exportKey)
    throw new ApiError("conflict", `dataset ${ds.id} is ${ds.status}; only released datasets can be downloaded`, { reasons: ds.reasons });
  return ds.exportKey;
}

async function releasedFile(env: Env, ds: DatasetRow): Promise<R2ObjectBody> {
  const obj = await env.DATASETS.get(requireReleased(ds));
  if (!obj) throw new ApiError("not_found", `the export of dataset ${ds.id} is missing from storage`);
  return obj;
}

function jsonlResponse(obj: R2ObjectBody, ds: DatasetRow): Response {
  return new Response(obj.body, {
    status: 200,
    headers: {
      "content-type": "application/jsonl; charset=utf-8",
      "content-disposition": `attachment; filename="${ds.id}.jsonl"`,
      ...(ds.exportSha256 ? { "x-content-sha256": ds.exportSha256 } : {}),
    },
  });
}

const create = createRoute({
  method: "post",
  path: "/v1/datasets",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description: CREATE_DESCRIPTION,
  request: { body: { content: { "application/json": { schema: DatasetCreate } }, required: true } },
  responses: { 202: json(DatasetView, "Generating through the queue (or rejected by the pre-flight leakage check, with reasons)"), ...errors },
});
const list = createRoute({
  method: "get",
  path: "/v1/datasets",
  security: Bearer,
  middleware: [requireAdmin] as const,
  responses: { 200: json(z.object({ datasets: z.array(DatasetView) }), "Newest first"), ...errors },
});
const read = createRoute({
  method: "get",
  path: "/v1/datasets/{id}",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 200: json(DatasetView, "Status, counts, leakage report and manifest"), ...errors },
});
const download = createRoute({
  method: "get",
  path: "/v1/datasets/{id}/download",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 200: { content: { "application/jsonl": { schema: z.string() } }, description: "The chat fine-tuning JSONL" }, ...errors },
});
const manifestRoute = createRoute({
  method: "get",
  path: "/v1/datasets/{id}/manifest",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 200: json(AnyObject, "Constitution, principles per sample, seed, counts"), ...errors },
});
const link = createRoute({
  method: "post",
  path: "/v1/datasets/{id}/link",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: {
    params: IdParam,
    body: {
      content: {
        "application/json": { schema: z.object({ ttlSeconds: z.number().int().min(60).max(MAX_LINK_TTL_SECONDS).default(DEFAULT_LINK_TTL_SECONDS) }).strict() },
      },
      required: false,
    },
  },
  responses: { 200: json(z.object({ url: z.string(), expiresAt: z.string() }), "A signed, expiring download link"), ...errors },
});
const signedFile = createRoute({
  method: "get",
  path: "/v1/datasets/{id}/file",
  description: "Download through a signed link (no bearer key). An expired or altered link answers 403.",
  request: { params: IdParam, query: z.object({ expires: z.string().optional(), sig: z.string().optional() }) },
  responses: { 200: { content: { "application/jsonl": { schema: z.string() } }, description: "The chat fine-tuning JSONL" }, 403: errors[401], ...errors },
});
const upload = createRoute({
  method: "post",
  path: "/v1/datasets/upload",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "The request body is a chat-format JSONL made elsewhere (one {messages:[...]} per line). It must pass the fine-tuning format check and the leakage check against every stored evaluation suite, else 400 and nothing is stored. Stored as a released dataset (R2) that POST /v1/training-jobs can train on (with baseEndpointId). The same bytes again: 200 with the stored dataset.",
  request: {
    query: z.object({
      filename: z.string().min(1).max(300).optional(),
      constitution: z.string().max(64).optional().openapi({ description: "The constitution the data follows, if any; the trained endpoint declares it" }),
      scope: z.enum(["narrow", "broad"]).optional(),
      categories: z
        .string()
        .max(1000)
        .optional()
        .openapi({ description: "Comma-separated safety categories the data covers (experiment members trained on it take them)" }),
    }),
    // Read as text whatever the content type (application/x-ndjson, application/jsonl, text/plain): a JSON validator would parse one line.
    body: { content: { "text/plain": { schema: z.string() } }, required: true },
  },
  responses: { 201: json(DatasetView, "Stored and released"), 200: json(DatasetView, "The same file was uploaded before"), ...errors },
});

const poolImport = createRoute({
  method: "post",
  path: "/v1/training-pools/import",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "A red-team training pool from CSV or JSONL: a prompt, category and subcategory field per row. Stored as a suite of kind training-pool (never run, never counted as evaluation items).",
  request: {
    query: z.object({
      pool: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/),
      format: z.enum(["csv", "jsonl"]),
      promptField: z.string().max(100).default("prompt"),
      categoryField: z.string().max(100).default("category"),
      subcategoryField: z.string().max(100).default("subcategory"),
      idField: z.string().max(100).optional(),
    }),
    body: {
      content: { "text/plain": { schema: z.string() }, "text/csv": { schema: z.string() }, "application/x-ndjson": { schema: z.string() } },
      required: true,
    },
  },
  responses: { 201: json(AnyObject, "Stored"), 200: json(AnyObject, "Identical content: the existing version"), ...errors },
});

export const datasetRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const db = getDb(c.env.DB);
    const row = await createDataset(c.env, db, c.req.valid("json"), { id: newId("ds") });
    return c.json(await datasetView(c.env, db, row), 202);
  })
  .openapi(upload, async (c) => {
    const q = c.req.valid("query");
    if (Number(c.req.header("content-length") ?? 0) > MAX_UPLOAD_BYTES)
      throw new ApiError("payload_too_large", `the file is larger than ${MAX_UPLOAD_BYTES} bytes`);
    const parsed = UploadOptions.safeParse({
      ...q,
      categories: q.categories
        ? q.categories
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
        : undefined,
    });
    if (!parsed.success)
      throw new ApiError("invalid_request", "bad upload options", { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
    const db = getDb(c.env.DB);
    const { dataset, created } = await storeUploadedDataset(c.env, db, await c.req.text(), parsed.data);
    return c.json(await datasetView(c.env, db, dataset, { manifest: true }), created ? 201 : 200);
  })
  .openapi(list, async (c) => {
    const db = getDb(c.env.DB);
    const rows = await db.select().from(datasets).orderBy(desc(datasets.createdAt)).limit(200).all();
    return c.json({ datasets: await Promise.all(rows.map((r) => datasetView(c.env, db, r))) }, 200);
  })
  .openapi(read, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await datasetView(c.env, db, await freshDataset(c.env, db, c.req.valid("param").id), { manifest: true }), 200);
  })
  .openapi(download, async (c) => {
    const db = getDb(c.env.DB);
    const ds = await freshDataset(c.env, db, c.req.valid("param").id);
    return jsonlResponse(await releasedFile(c.env, ds), ds) as never;
  })
  .openapi(manifestRoute, async (c) => {
    const db = getDb(c.env.DB);
    const ds = await freshDataset(c.env, db, c.req.valid("param").id);
    const manifest = await readManifest(c.env, ds);
    if (!manifest) throw new ApiError("conflict", `dataset ${ds.id} is ${ds.status}; it has no manifest`, { reasons: ds.reasons });
    return c.json(manifest, 200);
  })
  .openapi(link, async (c) => {
    const db = getDb(c.env.DB);
    const ds = await freshDataset(c.env, db, c.req.valid("param").id);
    if (!(await c.env.DATASETS.head(requireReleased(ds)))) throw new ApiError("not_found", `the export of dataset ${ds.id} is missing from storage`);
    const body = c.req.valid("json") ?? { ttlSeconds: DEFAULT_LINK_TTL_SECONDS };
    const origin = c.env.PUBLIC_BASE_URL || new URL(c.req.url).origin;
    const signed = await signDatasetLink(c.env.ENCRYPTION_KEY, origin, ds.id, body.ttlSeconds ?? DEFAULT_LINK_TTL_SECONDS);
    return c.json({ url: signed.url, expiresAt: signed.expiresAt }, 200);
  })
  .openapi(signedFile, async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const why = await checkDatasetLink(c.env.ENCRYPTION_KEY, id, q.expires, q.sig);
    if (why) throw new ApiError("forbidden", why);
    const db = getDb(c.env.DB);
    const ds = await getDataset(db, id);
    return jsonlResponse(await releasedFile(c.env, ds), ds) as never;
  })
  .openapi(poolImport, async (c) => {
    const q = c.req.valid("query");
    const text = await c.req.text();
    if (new TextEncoder().encode(text).length > MAX_IMPORT_BYTES) throw new ApiError("payload_too_large", `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
    if (builtinPoolById(q.pool)) throw new ApiError("conflict", `${q.pool} is a built-in pool; import under another name`);
    const def = parsePoolImport(text, q.format, q.pool, { prompt: q.promptField, category: q.categoryField, subcategory: q.subcategoryField, id: q.idField });
    const stored = await ensureSuiteVersion(getDb(c.env.DB), def);
    return c.json({ pool: q.pool, version: stored.id, items: stored.itemCount, categories: def.meta.categories }, stored.created ? 201 : 200);
  });
