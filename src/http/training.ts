/**
 * @module http/training: training jobs (dataset -> provider -> endpoint -> evaluation) and the signed webhooks that
 * drive them and re-scoring: POST /v1/webhooks/training (WEBHOOK_SECRET) and POST /v1/webhooks/rescore
 * (RESCORE_WEBHOOK_SECRET), both Standard Webhooks, each delivery processed once.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { desc } from "drizzle-orm";
import { getDb } from "../db/client";
import { trainingJobs } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { CheckpointEvent, RejudgeEvent, rejudgeRun, rescoreCheckpoint } from "../rescore/rescore";
import { createTrainingJob, getJob, jobView, TrainingJobRequest } from "../training/jobs";
import { recordDelivery, releaseDelivery, type VerifiedDelivery, verifyDelivery } from "../webhooks/deliveries";
import { handleTrainingEvent } from "../webhooks/training";
import { requireAdmin } from "./auth";
import { Bearer, ErrorSchema, errors, IdParam, json, RejudgeResult } from "./schemas";

const JobCreate = TrainingJobRequest;
const CREATE_DESCRIPTION =
  "dataset: a dataset id, or a dataset request (as POST /v1/datasets) the pipeline generates first. provider: { type: openai | generic, baseUrl, apiKey }. baseEndpointId defaults to the dataset's helpful model; baseModel (the provider's name for it) to that endpoint's model. evaluate: the suites started on the trained model.";

/** training/jobs jobView: a job as the API shows it (the provider key only as `hasApiKey`). */
const TrainingJob = z
  .strictObject({
    id: z.string(),
    status: z.string(),
    datasetId: z.string().nullable(),
    provider: z.strictObject({
      type: z.string(),
      baseUrl: z.string(),
      hasApiKey: z.boolean(),
      jobId: z.string().nullable(),
      fileId: z.string().nullable(),
      status: z.string().nullable(),
    }),
    baseEndpointId: z.string(),
    baseModel: z.string(),
    hyperparameters: z.record(z.string(), z.unknown()).openapi({ description: "Passed to the provider as given" }),
    evaluate: z.record(z.string(), z.unknown()).openapi({ description: "The evaluation settings of the request (suites, sampling)" }),
    fineTunedModel: z.string().nullable(),
    endpointId: z.string().nullable(),
    evaluationRun: z.strictObject({ id: z.string(), status: z.string().nullable() }).nullable(),
    error: z.string().nullable(),
    workflow: z.string().nullable(),
    crashesInjected: z.array(z.string()),
    events: z.array(
      z.strictObject({
        at: z.string(),
        source: z.string(),
        status: z.string(),
        detail: z.record(z.string(), z.unknown()).openapi({ description: "What the source reported" }),
      }),
    ),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi("TrainingJob");

const createJob = createRoute({
  method: "post",
  path: "/v1/training-jobs",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description: CREATE_DESCRIPTION,
  request: { body: { content: { "application/json": { schema: JobCreate } }, required: true } },
  responses: { 202: json(TrainingJob, "Accepted; the pipeline workflow runs it"), ...errors },
});
const listJobs = createRoute({
  method: "get",
  path: "/v1/training-jobs",
  security: Bearer,
  middleware: [requireAdmin] as const,
  responses: { 200: json(z.strictObject({ jobs: z.array(TrainingJob) }), "Newest first"), ...errors },
});
const readJob = createRoute({
  method: "get",
  path: "/v1/training-jobs/{id}",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: { 200: json(TrainingJob, "Status, provider job, events, endpoint and evaluation run"), ...errors },
});

/** rescore/rescore rescoreCheckpoint: the run a new checkpoint started (or found, on a retried delivery). */
const CheckpointResult = z
  .strictObject({
    runId: z.string(),
    endpointId: z.string(),
    revision: z.string(),
    previousRevision: z.string().nullable(),
    suiteVersionIds: z.array(z.string()),
    skipped: z.array(z.strictObject({ suite: z.string(), reason: z.string() })),
    created: z.boolean(),
  })
  .openapi("RescoreCheckpoint");
const WebhookAck = z
  .strictObject({
    received: z.literal(true),
    duplicate: z.boolean(),
    outcome: z.string().optional(),
    result: z
      .union([CheckpointResult, RejudgeResult])
      .optional()
      .openapi({ description: "The rescore webhook's result: the checkpoint's run, or the re-judging's units" }),
  })
  .openapi("WebhookAck");
const signedHeaders = z.object({
  "webhook-id": z.string().optional().openapi({ description: "Delivery id; each is processed once" }),
  "webhook-timestamp": z.string().optional().openapi({ description: "Unix seconds; at most 5 minutes away from now" }),
  "webhook-signature": z.string().optional().openapi({ description: "v1,<base64 HMAC-SHA256 of id.timestamp.body>" }),
});
/** A missing or malformed secret is the deployment's fault, not the sender's. */
const WebhookMisconfigured = {
  content: { "application/json": { schema: ErrorSchema } },
  description: "webhook_misconfigured: the route's secret is not set or not whsec_<base64>",
};
const trainingHook = createRoute({
  method: "post",
  path: "/v1/webhooks/training",
  description:
    "Provider status events, signed with WEBHOOK_SECRET (Standard Webhooks). OpenAI-style fine_tuning.job.succeeded | failed | cancelled (data.id = the provider's job id; the job is fetched) and the generic contract's training.job.* (docs/providers.md). Unknown types are acknowledged and ignored.",
  request: { headers: signedHeaders },
  responses: {
    200: json(WebhookAck, "Processed, ignored, or a replay (nothing changed)"),
    401: errors[401],
    400: errors[400],
    413: errors[413],
    500: WebhookMisconfigured,
  },
});
const rescoreHook = createRoute({
  method: "post",
  path: "/v1/webhooks/rescore",
  description:
    'Re-scoring, signed with RESCORE_WEBHOOK_SECRET (Standard Webhooks). {"type": "rescore.checkpoint", "data": {endpointId, revision?, suites?, judge?, samplesPerItem?, temperature?, seed?, limit?}} bumps the revision and re-runs; {"type": "rescore.rejudge", "data": {runId | endpointId, judge: {endpointId, rubric?}}} re-judges stored answers without calling the model.',
  request: { headers: signedHeaders },
  responses: {
    200: json(WebhookAck, "Processed, ignored, or a replay (nothing changed)"),
    401: errors[401],
    400: errors[400],
    404: errors[404],
    409: errors[409],
    413: errors[413],
    500: WebhookMisconfigured,
  },
});

/** Runs a claimed delivery's work; when it fails, the claim is given back so the sender's retry redoes it. */
async function processOnce<T>(db: ReturnType<typeof getDb>, d: VerifiedDelivery, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await releaseDelivery(db, d).catch(() => undefined);
    throw err;
  }
}

function parse<T extends z.ZodType>(schema: T, data: unknown, type: string): z.infer<T> {
  const r = schema.safeParse(data);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message, code: i.code }));
    throw new ApiError("invalid_request", `${type}: ${issues.map((i) => `data.${i.path || ""}: ${i.message}`).join("; ")}`, { issues });
  }
  return r.data;
}

export const trainingRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createJob, async (c) => {
    const db = getDb(c.env.DB);
    const job = await createTrainingJob(c.env, db, c.req.valid("json"));
    return c.json(await jobView(c.env, db, job), 202);
  })
  .openapi(listJobs, async (c) => {
    const db = getDb(c.env.DB);
    const rows = await db.select().from(trainingJobs).orderBy(desc(trainingJobs.createdAt)).limit(200).all();
    return c.json({ jobs: await Promise.all(rows.map((r) => jobView(c.env, db, r))) }, 200);
  })
  .openapi(readJob, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await jobView(c.env, db, await getJob(db, c.req.valid("param").id)), 200);
  })
  .openapi(trainingHook, async (c) => {
    const db = getDb(c.env.DB);
    // The body's size was checked (1 MiB, http/limits.ts) before it is read here and verified.
    const d = await verifyDelivery(db, "training", c.env.WEBHOOK_SECRET, await c.req.text(), c.req.raw.headers);
    if (d.duplicate) return c.json({ received: true as const, duplicate: true }, 200);
    const handled = await processOnce(db, d, () => handleTrainingEvent(c.env, db, d));
    await recordDelivery(db, d, "training", handled.outcome, handled.subject);
    return c.json({ received: true as const, duplicate: false, outcome: handled.outcome }, 200);
  })
  .openapi(rescoreHook, async (c) => {
    const db = getDb(c.env.DB);
    const d = await verifyDelivery(db, "rescore", c.env.RESCORE_WEBHOOK_SECRET, await c.req.text(), c.req.raw.headers);
    if (d.duplicate) return c.json({ received: true as const, duplicate: true }, 200);
    const result = await processOnce(db, d, async () => {
      if (d.type === "rescore.checkpoint") return rescoreCheckpoint(c.env, db, parse(CheckpointEvent, d.data, d.type), d.deliveryId);
      if (d.type === "rescore.rejudge") return rejudgeRun(c.env, db, parse(RejudgeEvent, d.data, d.type));
      console.log(JSON.stringify({ event: "webhook.ignored", source: "rescore", type: d.type, deliveryId: d.deliveryId, note: "unknown event type" }));
      return undefined;
    });
    await recordDelivery(db, d, "rescore", result ? "processed" : "ignored", result?.runId ?? null);
    return c.json({ received: true as const, duplicate: false, outcome: result ? "processed" : "ignored", ...(result ? { result } : {}) }, 200);
  });
