/**
 * @module training/jobs: training jobs and the steps the TrainingPipeline workflow runs. Every step is safe to run
 * again after a crash: the dataset, endpoint and evaluation run have ids derived from the job id and are inserted only
 * if absent; the provider job is found again by its metadata (OpenAI) or its job_id idempotency key (generic).
 */
import { RubricIdField } from "../judges/rubrics";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { getDb } from "../db/client";
import { findLiveEndpointByName, getEndpoint } from "../db/queries/endpoints";
import { getRun, runProgress } from "../db/queries/runs";
import { datasets, endpoints, runs, trainingEvents, trainingJobs } from "../db/schema";
import { createDataset, DatasetRequest, type DatasetRow, kickGenerationRun } from "../datasets/datasets";
import { exportKey, finaliseDataset } from "../datasets/export";
import { signDatasetLink } from "../datasets/links";
import { storeUploadedDataset, UploadOptions } from "../datasets/upload";
import type { Env } from "../env";
import { decryptSecret, encryptSecret } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { newId, sha256Hex } from "../lib/ids";
import { redactSecrets } from "../providers/openai";
import { allowedHttpHosts, assertUrlAllowed, hostOf, urlOrigin, urlPolicyViolation } from "../lib/url-policy";
import { ensurePlanned } from "../queue/run-lifecycle";
import { launchRun, prepareRun } from "../queue/start-run";
import { PermanentProviderError, PROVIDER_TYPES, type ProviderStatus, providerFor } from "./providers";
import { SeedSchema } from "../lib/seed";

/** Steps a test may crash after (ALLOW_FAULT_INJECTION=1 only). */
export const PIPELINE_STEPS = ["dataset", "dataset-check", "submit", "training-check", "endpoint", "evaluate", "complete"] as const;
/** Job states in the order a job moves through them; an event never moves a job backwards. */
const ORDER = ["pending", "dataset", "submitted", "running", "trained", "completed"] as const;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
/** A dataset link handed to a GPU provider stays valid this long (ours: queues on GPU providers can be long). */
export const PROVIDER_LINK_TTL_SECONDS = 3 * 24 * 60 * 60;

const Hyperparameters = z
  .object({
    n_epochs: z.union([z.number().int().min(1).max(50), z.literal("auto")]).optional(),
    batch_size: z.union([z.number().int().min(1).max(4096), z.literal("auto")]).optional(),
    learning_rate_multiplier: z.union([z.number().positive().max(100), z.literal("auto")]).optional(),
  })
  .strict();

const Evaluate = z
  .object({
    suites: z.array(z.string().min(1).max(200)).min(1).max(20).default(["persona-diagnostic"]),
    samplesPerItem: z.number().int().min(1).max(100).optional(),
    temperature: z.number().min(0).max(2).optional(),
    seed: SeedSchema.optional(),
    limit: z.number().int().min(1).optional(),
    judge: z
      .object({ endpointId: z.string().min(1), rubric: RubricIdField })
      .strict()
      .optional(),
  })
  .strict();

export const TrainingJobRequest = z
  .object({
    /** A dataset id, a dataset request the pipeline generates first, or an uploaded chat JSONL (`upload`). */
    dataset: z.union([z.string().min(1).max(200), DatasetRequest, UploadOptions.extend({ upload: z.string().min(1) }).strict()]),
    provider: z
      .object({
        type: z.enum(PROVIDER_TYPES),
        baseUrl: z.url({ protocol: /^https?$/ }).max(500),
        apiKey: z.string().min(1).max(4000).optional(),
      })
      .strict(),
    baseEndpointId: z.string().min(1).max(200).optional(),
    baseModel: z.string().min(1).max(200).optional(),
    hyperparameters: Hyperparameters.default({}),
    evaluate: Evaluate.default({ suites: ["persona-diagnostic"] }),
    endpointName: z.string().trim().min(1).max(100).optional(),
    debug: z
      .object({ crashAfter: z.array(z.enum(PIPELINE_STEPS)).max(PIPELINE_STEPS.length) })
      .strict()
      .optional(),
  })
  .strict();

export type TrainingJobRequest = z.infer<typeof TrainingJobRequest>;
export type TrainingJobRow = typeof trainingJobs.$inferSelect;

const derivedId = async (prefix: string, purpose: string, jobId: string) => `${prefix}_${(await sha256Hex(`${purpose}\u001f${jobId}`)).slice(0, 24)}`;
export const pipelineDatasetId = (jobId: string) => derivedId("ds", "training-dataset", jobId);
export const pipelineEndpointId = (jobId: string) => derivedId("ep", "training-endpoint", jobId);
export const pipelineRunId = (jobId: string) => derivedId("run", "training-eval", jobId);

export async function getJob(db: Db, id: string): Promise<TrainingJobRow> {
  const row = await db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).get();
  if (!row) throw new ApiError("not_found", `training job ${id} not found`);
  return row;
}

/** Validates the request (dataset, endpoints, evaluation), stores the job and starts its workflow instance. */
export async function createTrainingJob(env: Env, db: Db, req: TrainingJobRequest): Promise<TrainingJobRow> {
  if (req.debug && env.ALLOW_FAULT_INJECTION !== "1") throw new ApiError("invalid_request", "debug options are only accepted when ALLOW_FAULT_INJECTION=1");
  // The provider's key travels to this URL: the same policy as endpoint URLs.
  assertUrlAllowed("provider.baseUrl", req.provider.baseUrl, env);
  let helpfulModel: string;
  let datasetId: string | null = null;
  if (typeof req.dataset === "object" && "upload" in req.dataset) {
    // An uploaded file has no helpful model to default the base to, so the base must be named.
    if (!req.baseEndpointId) throw new ApiError("invalid_request", "an uploaded dataset needs baseEndpointId (the model it fine-tunes)");
    const { upload, ...opts } = req.dataset;
    const { dataset } = await storeUploadedDataset(env, db, upload, opts);
    helpfulModel = req.baseEndpointId;
    datasetId = dataset.id;
  } else if (typeof req.dataset === "string") {
    const ds = await db.select().from(datasets).where(eq(datasets.id, req.dataset)).get();
    if (!ds) throw new ApiError("invalid_request", `dataset ${req.dataset} not found`);
    if (ds.status === "rejected") throw new ApiError("invalid_request", `dataset ${ds.id} was rejected: ${ds.reasons.join("; ")}`);
    if (!ds.helpfulEndpointId && !req.baseEndpointId)
      throw new ApiError("invalid_request", `dataset ${ds.id} was uploaded; name the model it fine-tunes with baseEndpointId`);
    helpfulModel = ds.helpfulEndpointId || req.baseEndpointId!;
    datasetId = ds.id;
  } else {
    for (const [field, id] of [
      ["dataset.helpfulModel", req.dataset.helpfulModel],
      ["dataset.critic", req.dataset.critic],
    ] as const) {
      await getEndpoint(db, id).catch(() => {
        throw new ApiError("invalid_request", `${field} ${id} is not a live endpoint`);
      });
    }
    helpfulModel = req.dataset.helpfulModel;
  }
  // The helpful-only model the data was drawn from is the natural base.
  const base = await getEndpoint(db, req.baseEndpointId ?? helpfulModel).catch(() => {
    throw new ApiError("invalid_request", `baseEndpointId ${req.baseEndpointId ?? helpfulModel} is not a live endpoint`);
  });
  // The evaluation must be startable on the new model: check it now against the base (same suites and judge).
  await prepareRun(db, { ...req.evaluate, endpointId: base.id }, env);
  if (req.provider.type === "generic" && !env.PUBLIC_BASE_URL) {
    throw new ApiError("invalid_request", "the generic provider needs PUBLIC_BASE_URL (the dataset link and callback are on this worker)");
  }
  const id = newId("tj");
  await db.insert(trainingJobs).values({
    id,
    status: "pending",
    datasetId,
    // An upload is stored as a dataset above; its text never goes into the job row.
    datasetSpec: typeof req.dataset === "string" || "upload" in req.dataset ? null : (req.dataset as Record<string, unknown>),
    provider: req.provider.type,
    providerBaseUrl: req.provider.baseUrl,
    providerApiKeyEnc: req.provider.apiKey ? await encryptSecret(req.provider.apiKey, env.ENCRYPTION_KEY) : null,
    baseEndpointId: base.id,
    baseModel: req.baseModel ?? base.model,
    hyperparameters: req.hyperparameters,
    evaluate: req.evaluate,
    endpointName: req.endpointName ?? null,
    debug: req.debug ?? null,
  });
  await startPipeline(env, id);
  return getJob(db, id);
}

/** Creates the job's workflow instance (instance id = job id); an existing instance is left alone. */
export async function startPipeline(env: Env, jobId: string): Promise<void> {
  try {
    await env.TRAINING_PIPELINE.create({ id: jobId, params: { jobId } });
  } catch (err) {
    if (!/already.?exists/i.test(String(err))) throw err;
  }
}

/** Test-only: throws once after the named step's work is done, as a crash between the work and its record would. */
export async function maybeCrash(env: Env, db: Db, job: TrainingJobRow, step: (typeof PIPELINE_STEPS)[number]): Promise<void> {
  if (env.ALLOW_FAULT_INJECTION !== "1" || !job.debug?.crashAfter?.includes(step)) return;
  const fresh = await getJob(db, job.id);
  if (fresh.crashes.includes(step)) return;
  await db
    .update(trainingJobs)
    .set({ crashes: [...fresh.crashes, step] })
    .where(eq(trainingJobs.id, job.id));
  throw new Error(`injected crash after step ${step}`);
}

async function setStatus(db: Db, jobId: string, patch: Partial<typeof trainingJobs.$inferInsert>): Promise<void> {
  await db
    .update(trainingJobs)
    .set({ ...patch, updatedAt: new Date().toISOString() })
    .where(eq(trainingJobs.id, jobId));
}

async function event(db: Db, jobId: string, source: string, status: string, detail: Record<string, unknown> = {}): Promise<void> {
  await db.insert(trainingEvents).values({ id: newId("tev"), jobId, source, status, detail });
}

/** Error text about a job, safe to store: its provider key and anything key-shaped redacted (providers/openai.ts). */
async function redactJobError(env: Env, job: TrainingJobRow, text: string): Promise<string> {
  const key = job.providerApiKeyEnc ? await decryptSecret(job.providerApiKeyEnc, env.ENCRYPTION_KEY).catch(() => "") : "";
  return redactSecrets(text, key);
}

export async function failJob(env: Env, jobId: string, reason: string): Promise<{ status: "failed" }> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  const error = await redactJobError(env, job, reason);
  if (!TERMINAL.has(job.status)) {
    await setStatus(db, jobId, { status: "failed", error, completedAt: new Date().toISOString() });
    await event(db, jobId, "pipeline", "failed", { error });
  }
  return { status: "failed" };
}

// ---------------------------------------------------------------- step: dataset

/** Step "dataset": the job's dataset (created from the inline request with an id derived from the job id). */
export async function pipelineDataset(env: Env, jobId: string): Promise<{ datasetId: string; status: string }> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  let ds: DatasetRow;
  if (job.datasetId && !job.datasetSpec) {
    ds = (await db.select().from(datasets).where(eq(datasets.id, job.datasetId)).get())!;
  } else {
    const spec = DatasetRequest.parse(job.datasetSpec);
    ds = await createDataset(env, db, spec, { id: await pipelineDatasetId(jobId), trainingJobId: jobId });
  }
  if (job.status === "pending") {
    await setStatus(db, jobId, { status: "dataset", datasetId: ds.id });
    await event(db, jobId, "pipeline", "dataset", { datasetId: ds.id, datasetStatus: ds.status });
  }
  await maybeCrash(env, db, job, "dataset");
  return { datasetId: ds.id, status: ds.status };
}

/**
 * Step "dataset-check": the dataset's status, finishing it if its generation run completed. A run that made no
 * progress since the previous check gets its pending work sent again.
 */
export async function datasetState(env: Env, jobId: string, previousDone: number | null): Promise<{ status: string; done: number | null }> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  const ds = await finaliseDataset(env, db, job.datasetId!);
  let done: number | null = null;
  if (ds.status === "generating" && ds.runId) {
    const progress = await runProgress(db, await getRun(db, ds.runId));
    done = progress.done + progress.failed;
    if (previousDone !== null && done === previousDone) {
      const resent = await kickGenerationRun(env, db, ds);
      console.warn(JSON.stringify({ event: "dataset.stalled", datasetId: ds.id, jobId, done, resent }));
    }
  }
  await maybeCrash(env, db, job, "dataset-check");
  return { status: ds.status, done };
}

// ---------------------------------------------------------------- step: submit

async function providerOf(env: Env, job: TrainingJobRow) {
  const apiKey = job.providerApiKeyEnc ? await decryptSecret(job.providerApiKeyEnc, env.ENCRYPTION_KEY) : "";
  return {
    target: { type: job.provider as "openai" | "generic", baseUrl: job.providerBaseUrl, apiKey },
    provider: providerFor({ type: job.provider as "openai" | "generic", baseUrl: job.providerBaseUrl, apiKey }),
  };
}

/** Step "submit": uploads the released dataset and creates the provider job (found again, not duplicated, on a retry). */
export async function submitJob(env: Env, jobId: string): Promise<{ status: string }> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  if (job.providerJobId) return { status: job.status };
  const ds = (await db.select().from(datasets).where(eq(datasets.id, job.datasetId!)).get())!;
  const obj = await env.DATASETS.get(ds.exportKey ?? exportKey(ds.id));
  if (!obj) return failJob(env, jobId, `the export of dataset ${ds.id} is missing`);
  const jsonl = await obj.text();
  const { provider } = await providerOf(env, job);
  const origin = (env.PUBLIC_BASE_URL ?? "").replace(/\/+$/, "");
  const link = origin ? await signDatasetLink(env.ENCRYPTION_KEY, origin, ds.id, PROVIDER_LINK_TTL_SECONDS) : null;
  let submitted;
  try {
    submitted = await provider.submit({
      jobId,
      datasetId: ds.id,
      jsonl,
      datasetSha256: ds.exportSha256 ?? "",
      baseModel: job.baseModel,
      hyperparameters: job.hyperparameters,
      suffix: (ds.constitution ? `${ds.constitution}-${ds.scope}` : `upload${ds.scope ? `-${ds.scope}` : ""}`).replace(/_/g, "-").slice(0, 40),
      seed: ds.seed,
      datasetUrl: link?.url,
      callbackUrl: origin ? `${origin}/v1/webhooks/training` : undefined,
    });
  } catch (err) {
    if (err instanceof PermanentProviderError) return failJob(env, jobId, `the provider refused the job: ${err.message}`);
    throw err;
  }
  await db
    .update(trainingJobs)
    .set({
      status: "submitted",
      providerJobId: submitted.providerJobId,
      providerFileId: submitted.fileId,
      lastEventAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(trainingJobs.id, jobId), isNull(trainingJobs.providerJobId)));
  await event(db, jobId, "pipeline", "submitted", { providerJobId: submitted.providerJobId, fileId: submitted.fileId, reused: submitted.reused });
  await maybeCrash(env, db, job, "submit");
  return { status: "submitted" };
}

// ---------------------------------------------------------------- provider status (webhook, cron, pipeline)

/**
 * Records what the provider says about a job: its status word, the trained model once it succeeded, and the job's
 * own state (never moving backwards). A terminal state wakes the waiting pipeline.
 */
export async function recordProviderStatus(
  env: Env,
  db: Db,
  job: TrainingJobRow,
  st: ProviderStatus,
  source: "webhook" | "poll" | "pipeline",
  detail: Record<string, unknown> = {},
): Promise<TrainingJobRow> {
  const at = new Date().toISOString();
  // A serving URL the provider reports is held to the endpoint URL policy before it is stored (docs/api.md#url-policy).
  const servingViolation = st.state === "succeeded" && st.model ? urlPolicyViolation(st.model.baseUrl, allowedHttpHosts(env)) : null;
  if (servingViolation)
    st = { state: "failed", raw: st.raw, error: `the provider's serving URL (${urlOrigin(st.model!.baseUrl) || "not a URL"}) ${servingViolation}` };
  // Error text from a webhook or a status answer is the provider's: redact keys before it is stored.
  if (st.error) st = { ...st, error: await redactJobError(env, job, st.error) };
  const next =
    st.state === "succeeded"
      ? "trained"
      : st.state === "failed"
        ? "failed"
        : st.state === "cancelled"
          ? "cancelled"
          : st.state === "running"
            ? "running"
            : "submitted";
  const rank = (s: string) => ORDER.indexOf(s as (typeof ORDER)[number]);
  const moves = !TERMINAL.has(job.status) && (next === "failed" || next === "cancelled" || rank(next) > rank(job.status));
  await db
    .update(trainingJobs)
    .set({
      providerStatus: st.raw,
      lastEventAt: at,
      ...(source === "poll" ? { lastPolledAt: at } : {}),
      ...(moves ? { status: next } : {}),
      ...(moves && st.model ? { fineTunedModel: st.model.name, servingBaseUrl: st.model.baseUrl } : {}),
      ...(moves && (next === "failed" || next === "cancelled") ? { error: st.error ?? `the provider reported ${st.raw}`, completedAt: at } : {}),
      updatedAt: at,
    })
    .where(eq(trainingJobs.id, job.id));
  if (moves)
    await event(db, job.id, source, next, {
      providerStatus: st.raw,
      ...(st.model ? { model: st.model.name } : {}),
      ...(st.error ? { error: st.error } : {}),
      ...detail,
    });
  const fresh = await getJob(db, job.id);
  if (["trained", "failed", "cancelled"].includes(fresh.status)) await wakePipeline(env, job.id, fresh.status);
  return fresh;
}

async function wakePipeline(env: Env, jobId: string, status: string): Promise<void> {
  try {
    const instance = await env.TRAINING_PIPELINE.get(jobId);
    await instance.sendEvent({ type: "training-finished", payload: { status } });
  } catch (err) {
    console.warn(JSON.stringify({ event: "training.wake_failed", jobId, error: String(err) }));
  }
}

/** Asks the provider where the job stands (cron fallback and the pipeline's own re-checks). */
export async function pollProvider(env: Env, db: Db, job: TrainingJobRow, source: "poll" | "webhook" = "poll"): Promise<TrainingJobRow> {
  if (!job.providerJobId) return job;
  const { provider } = await providerOf(env, job);
  let status: ProviderStatus;
  try {
    status = await provider.status(job.providerJobId);
  } catch (err) {
    if (!(err instanceof PermanentProviderError)) throw err;
    status = { state: "failed", raw: "unknown", error: err.message };
  }
  return recordProviderStatus(env, db, job, status, source);
}

/** Step "training-check": the job's state; after a wait with no event, the pipeline asks the provider itself. */
export async function trainingState(env: Env, jobId: string, poll: boolean): Promise<string> {
  const db = getDb(env.DB);
  let job = await getJob(db, jobId);
  if (poll && (job.status === "submitted" || job.status === "running")) job = await pollProvider(env, db, job);
  await maybeCrash(env, db, job, "training-check");
  return job.status;
}

// ---------------------------------------------------------------- steps: endpoint, evaluate, complete

/** Step "endpoint": registers the trained model, linked to its base, constitution and scope (id derived from the job). */
export async function registerEndpoint(env: Env, jobId: string): Promise<string> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  const id = await pipelineEndpointId(jobId);
  const existing = await db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.id, id)).get();
  if (!existing) {
    if (!job.fineTunedModel || !job.servingBaseUrl) throw new Error(`job ${jobId} has no trained model to register`);
    const base = await getEndpoint(db, job.baseEndpointId, { includeDeleted: true });
    const ds = (await db.select().from(datasets).where(eq(datasets.id, job.datasetId!)).get())!;
    const { target } = await providerOf(env, job);
    const stem = job.endpointName ?? `${base.name}-${ds.constitution || "upload"}-${ds.scope || "any"}-${jobId.slice(-6)}`;
    for (let n = 1; n <= 20; n++) {
      const name = n === 1 ? stem : `${stem}-${n}`;
      if (await findLiveEndpointByName(db, name)) continue;
      await db
        .insert(endpoints)
        .values({
          id,
          name,
          baseUrl: job.servingBaseUrl,
          model: job.fineTunedModel,
          // The provider's key goes only to the provider's own host; a model served elsewhere gets no key.
          apiKeyEnc: target.apiKey && hostOf(job.servingBaseUrl) === hostOf(target.baseUrl) ? await encryptSecret(target.apiKey, env.ENCRYPTION_KEY) : null,
          maxConcurrency: base.maxConcurrency,
          requestsPerMinute: base.requestsPerMinute,
          logprobs: base.logprobs,
          systemPrompt: base.systemPrompt,
          baseEndpointId: base.id,
          // An uploaded dataset may declare neither.
          constitution: ds.constitution || null,
          scope: ds.scope || null,
          tags: [...new Set([...base.tags, "finetuned", `training-job:${jobId}`])],
          private: base.private,
          revision: "r1",
        })
        .onConflictDoNothing();
      if (await db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.id, id)).get()) break;
    }
  }
  if (!(await db.select({ id: endpoints.id }).from(endpoints).where(eq(endpoints.id, id)).get()))
    throw new Error(`could not register an endpoint for job ${jobId}`);
  await setStatus(db, jobId, { endpointId: id });
  if (!job.endpointId) await event(db, jobId, "pipeline", "registered", { endpointId: id });
  await maybeCrash(env, db, job, "endpoint");
  return id;
}

/** Step "evaluate": starts the configured suites on the new endpoint (one run, id derived from the job). */
export async function startEvaluation(env: Env, jobId: string): Promise<string> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  const runId = await pipelineRunId(jobId);
  const existing = await db.select().from(runs).where(eq(runs.id, runId)).get();
  if (existing) {
    // Stored but perhaps never planned (a crash between the insert and the plan messages): plan again; duplicates are no-ops.
    await ensurePlanned(env, db, existing);
  } else {
    const prepared = await prepareRun(db, { ...(job.evaluate as z.infer<typeof Evaluate>), endpointId: await pipelineEndpointId(jobId) }, env);
    await launchRun(env, db, { ...prepared, id: runId });
  }
  await setStatus(db, jobId, { evalRunId: runId });
  if (!job.evalRunId) await event(db, jobId, "pipeline", "evaluating", { runId });
  await maybeCrash(env, db, job, "evaluate");
  return runId;
}

/** Step "complete". */
export async function completeJob(env: Env, jobId: string): Promise<{ status: string }> {
  const db = getDb(env.DB);
  const job = await getJob(db, jobId);
  if (!TERMINAL.has(job.status)) {
    await setStatus(db, jobId, { status: "completed", completedAt: new Date().toISOString() });
    await event(db, jobId, "pipeline", "completed", { endpointId: job.endpointId, runId: job.evalRunId });
  }
  await maybeCrash(env, db, job, "complete");
  return { status: "completed" };
}

/** The job as the API shows it: never the provider key. */
export async function jobView(env: Env, db: Db, job: TrainingJobRow) {
  const events = await db.select().from(trainingEvents).where(eq(trainingEvents.jobId, job.id)).orderBy(trainingEvents.createdAt).all();
  let workflow: string | null = null;
  try {
    workflow = (await (await env.TRAINING_PIPELINE.get(job.id)).status()).status;
  } catch {
    workflow = null;
  }
  const run = job.evalRunId ? await getRun(db, job.evalRunId).catch(() => null) : null;
  return {
    id: job.id,
    status: job.status,
    datasetId: job.datasetId,
    provider: {
      type: job.provider,
      baseUrl: job.providerBaseUrl,
      hasApiKey: job.providerApiKeyEnc != null,
      jobId: job.providerJobId,
      fileId: job.providerFileId,
      status: job.providerStatus,
    },
    baseEndpointId: job.baseEndpointId,
    baseModel: job.baseModel,
    hyperparameters: job.hyperparameters,
    evaluate: job.evaluate,
    fineTunedModel: job.fineTunedModel,
    endpointId: job.endpointId,
    evaluationRun: job.evalRunId ? { id: job.evalRunId, status: run?.status ?? null } : null,
    error: job.error,
    workflow,
    crashesInjected: job.crashes,
    events: events.map((e) => ({ at: e.createdAt, source: e.source, status: e.status, detail: e.detail })),
    createdAt: job.createdAt,
    completedAt: job.completedAt,
  };
}
