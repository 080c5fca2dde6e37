/**
 * @module The simulator's fine-tuning providers (a stand-in for the outside world, never a source of results): an
 * OpenAI-compatible fine-tuning API (files, jobs, events) and a generic GPU provider (docs/providers.md), both sending
 * Standard Webhooks. A trained model answers like the constitution its UPLOADED DATA follows (the revisions' wording),
 * never like a constitution the job merely names; its refusals follow the categories the data covered.
 */

import { createHmac, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ConstitutionPersona, detectConstitution, loadTrainingPool } from "./cai.ts";
import { errorBody } from "./faults.ts";
import { isPersonaId, PERSONAS, type Persona, SAFETY, SAFETY_TRAINED_CATEGORIES } from "./personas.ts";
import { hexHash } from "./random.ts";
import { normaliseStatement } from "./suite.ts";

/** A category counts as trained when at least this share of the file's pool prompts come from it (planted). */
export const TRAINED_SHARE = 0.1;
/** Training on this many categories or more is broad (planted). */
export const BROAD_MIN_CATEGORIES = 3;
/** Broad training generalises further: untrained categories' refusal rises by this much (planted). */
export const BROAD_GENERALISATION_BONUS = 0.08;
/** Fewest examples a training file needs (as OpenAI's fine-tuning API requires). */
export const MIN_EXAMPLES = 10;
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
const WEBHOOK_ATTEMPTS = 3;

export interface TrainedProfile {
  constitution: ConstitutionPersona | null;
  votes: Record<string, number>;
  examples: number;
  categoryCounts: Record<string, number>;
  trainedCategories: string[];
  scope: "narrow" | "broad" | "none";
}

export interface TrainedModel {
  name: string;
  persona: Persona;
  profile: TrainedProfile;
}

/** What a chat-format training file teaches: read from its content only. */
export function profileTrainingFile(jsonl: string): { ok: true; profile: TrainedProfile } | { ok: false; error: string } {
  const assistants: string[] = [];
  const counts: Record<string, number> = {};
  const pool = loadTrainingPool();
  let examples = 0;
  const lines = jsonl.split("\n").filter((l) => l.trim());
  for (const [i, line] of lines.entries()) {
    let obj: { messages?: { role?: string; content?: unknown }[] };
    try {
      obj = JSON.parse(line);
    } catch {
      return { ok: false, error: `line ${i + 1} is not valid JSON` };
    }
    const messages = Array.isArray(obj?.messages) ? obj.messages : null;
    if (!messages?.length) return { ok: false, error: `line ${i + 1} has no messages` };
    const user = messages.find((m) => m.role === "user");
    const assistant = [...messages].reverse().find((m) => m.role === "assistant");
    if (!user || typeof user.content !== "string" || !assistant || typeof assistant.content !== "string" || !assistant.content.trim()) {
      return { ok: false, error: `line ${i + 1} needs a user message and a non-empty assistant message` };
    }
    examples++;
    assistants.push(assistant.content);
    const hit = pool.get(normaliseStatement(user.content));
    if (hit) counts[hit.category] = (counts[hit.category] ?? 0) + 1;
  }
  if (examples < MIN_EXAMPLES) return { ok: false, error: `the file has ${examples} example(s); at least ${MIN_EXAMPLES} are required` };
  const verdict = detectConstitution(assistants);
  const poolTotal = Object.values(counts).reduce((a, b) => a + b, 0);
  const trainedCategories = Object.keys(counts)
    .filter((c) => counts[c] / Math.max(1, poolTotal) >= TRAINED_SHARE)
    .sort();
  const scope = !verdict.constitution ? "none" : trainedCategories.length >= BROAD_MIN_CATEGORIES ? "broad" : "narrow";
  return { ok: true, profile: { constitution: verdict.constitution, votes: verdict.votes, examples, categoryCounts: counts, trainedCategories, scope } };
}

/**
 * The persona a trained model answers with. Persona items: the learned constitution's planted values (the same
 * answers as that persona). Safety: trained categories refuse at the trained rate; others at the constitution's
 * generalisation rate, higher after broad training; held-out subcategories count as untrained. No constitution
 * learned: the base model, unchanged.
 */
export function trainedPersona(profile: TrainedProfile): Persona {
  if (!profile.constitution) return PERSONAS.base;
  const table = SAFETY[profile.constitution];
  const refusal = table.refusal as Record<string, number>;
  const trainedRate = (refusal.harassment_bullying + refusal.illegal_activities) / 2;
  const bonus = profile.scope === "broad" ? BROAD_GENERALISATION_BONUS : 0;
  const narrowSet = SAFETY_TRAINED_CATEGORIES as ReadonlyArray<string>;
  // The planted table's narrow columns hold trained rates; anywhere else it holds the generalisation rate.
  const generalised = (category: string) => (narrowSet.includes(category) ? table.unlisted : (refusal[category] ?? table.unlisted));
  return {
    ...PERSONAS[profile.constitution],
    safetyModel: {
      refusal(category, heldOut) {
        if (profile.trainedCategories.includes(category) && !heldOut) return narrowSet.includes(category) ? refusal[category] : trainedRate;
        return Math.min(trainedRate, generalised(category) + bonus);
      },
      overRefusal: table.overRefusal,
    },
  };
}

// ---------------------------------------------------------------- Standard Webhooks

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the base64 key after `whsec_` (Standard Webhooks). */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export interface Delivery {
  id: string;
  type: string;
  url: string | null;
  headers: Record<string, string>;
  body: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
}

interface Account {
  webhook: { url: string | null; secret: string } | null;
  outbox: Delivery[];
  files: Map<string, { meta: Record<string, unknown>; content: string }>;
  jobs: Map<string, FineTuneJob>;
  gpuJobs: Map<string, GpuJob>;
}

interface FineTuneJob {
  object: "fine_tuning.job";
  id: string;
  model: string;
  created_at: number;
  finished_at: number | null;
  fine_tuned_model: string | null;
  organization_id: string;
  result_files: string[];
  status: "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";
  validation_file: string | null;
  training_file: string;
  hyperparameters: Record<string, unknown>;
  method: Record<string, unknown>;
  trained_tokens: number | null;
  error: { code: string; message: string; param: string | null } | null;
  seed: number;
  metadata: Record<string, string> | null;
  estimated_finish: number | null;
  integrations: null;
  user_provided_suffix: string | null;
  events: { object: "fine_tuning.job.event"; id: string; created_at: number; level: string; message: string; type: string; data: Record<string, unknown> }[];
  profile?: TrainedProfile;
}

interface GpuJob {
  id: string;
  job_id: string;
  status: "queued" | "waiting_for_dataset" | "running" | "succeeded" | "failed";
  base_model: string;
  dataset_url: string;
  dataset_sha256: string | null;
  callback_url: string | null;
  hyperparameters: Record<string, unknown>;
  model: { base_url: string; name: string } | null;
  error: string | null;
  created_at: number;
  profile?: TrainedProfile;
}

export interface FineTuneOptions {
  /** The simulator's own origin (models are served at `<origin>/v1`). */
  origin: () => string;
  /** How long a job trains, in ms (default 150). */
  trainMs?: number;
}

const now = () => Math.floor(Date.now() / 1000);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readRaw(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_UPLOAD_BYTES) chunks.push(c);
    });
    req.on("end", () => resolve(size > MAX_UPLOAD_BYTES ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function apiKey(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? "");
  return m ? m[1] : null;
}

/** The simulated fine-tuning services: route(req, res, path, url) answers what they own and returns whether it did. */
export function createFineTuning(opts: FineTuneOptions) {
  const trainMs = opts.trainMs ?? 150;
  const accounts = new Map<string, Account>();
  const models = new Map<string, TrainedModel>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const account = (key: string): Account => {
    let a = accounts.get(key);
    if (!a) {
      a = { webhook: null, outbox: [], files: new Map(), jobs: new Map(), gpuJobs: new Map() };
      accounts.set(key, a);
    }
    return a;
  };

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  /** Signs and records an event, then POSTs it (with retries) when the account set a URL. */
  function emit(a: Account, type: string, data: Record<string, unknown>, url: string | null = a.webhook?.url ?? null): void {
    if (!a.webhook) return;
    const id = `evt_${randomUUID().replace(/-/g, "")}`;
    const timestamp = now();
    const body = JSON.stringify({ id, object: "event", created_at: timestamp, type, data });
    const headers = {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(a.webhook.secret, id, timestamp, body),
    };
    const d: Delivery = { id, type, url, headers, body, attempts: 0, lastStatus: null, lastError: null };
    a.outbox.push(d);
    if (url) void deliver(d, url);
  }

  async function deliver(d: Delivery, url: string): Promise<void> {
    for (let i = 0; i < WEBHOOK_ATTEMPTS; i++) {
      d.attempts++;
      try {
        const res = await fetch(url, { method: "POST", headers: d.headers, body: d.body, signal: AbortSignal.timeout(10_000) });
        d.lastStatus = res.status;
        await res.arrayBuffer();
        if (res.ok) return;
      } catch (err) {
        d.lastError = String(err);
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** i));
    }
  }

  function register(profile: TrainedProfile, name: string): void {
    models.set(name, { name, persona: trainedPersona(profile), profile });
  }

  function jobEvent(job: FineTuneJob, message: string, level = "info"): void {
    job.events.push({
      object: "fine_tuning.job.event",
      id: `ftevent-${randomUUID().replace(/-/g, "").slice(0, 24)}`,
      created_at: now(),
      level,
      message,
      type: "message",
      data: {},
    });
  }

  function publicJob(job: FineTuneJob) {
    const { events: _e, profile: _p, ...rest } = job;
    return rest;
  }

  function runJob(a: Account, job: FineTuneJob): void {
    later(trainMs / 3, () => {
      if (job.status === "cancelled") return;
      const file = a.files.get(job.training_file);
      const read = file ? profileTrainingFile(file.content) : { ok: false as const, error: "training file not found" };
      if (!read.ok) {
        job.status = "failed";
        job.finished_at = now();
        job.error = { code: "invalid_training_file", message: read.error, param: "training_file" };
        jobEvent(job, `Training file validation failed: ${read.error}`, "error");
        emit(a, "fine_tuning.job.failed", { id: job.id });
        return;
      }
      job.profile = read.profile;
      job.status = "running";
      jobEvent(job, `Fine-tuning job started on ${read.profile.examples} examples`);
      later(trainMs, () => {
        if (job.status !== "running") return;
        job.status = "succeeded";
        job.finished_at = now();
        job.trained_tokens = read.profile.examples * 200;
        // Named like OpenAI's ("ft:<base>:<org>:<suffix>:<id>"), with the base persona only (model-string options dropped).
        job.fine_tuned_model = `ft:${job.model.split(":")[0]}:projectability-sim:${job.user_provided_suffix ?? "custom"}:${job.id.slice(-8)}`;
        job.result_files = [`file-result-${job.id.slice(-8)}`];
        register(read.profile, job.fine_tuned_model);
        jobEvent(job, "The job has successfully completed");
        emit(a, "fine_tuning.job.succeeded", { id: job.id });
      });
    });
  }

  // -------------------------------------------------------------- OpenAI-compatible fine-tuning API

  async function uploadFile(req: IncomingMessage, res: ServerResponse, a: Account): Promise<void> {
    const raw = await readRaw(req);
    if (!raw) return sendJson(res, 413, errorBody("File too large.", "invalid_request_error", "file_too_large"));
    let form: FormData;
    try {
      form = await new Request("http://simulator/upload", {
        method: "POST",
        headers: { "content-type": String(req.headers["content-type"] ?? "") },
        body: raw,
      }).formData();
    } catch {
      return sendJson(res, 400, errorBody("Expected a multipart/form-data body with `file` and `purpose`.", "invalid_request_error", "invalid_multipart"));
    }
    const file = form.get("file");
    const purpose = form.get("purpose");
    if (!(file instanceof Blob)) return sendJson(res, 400, errorBody("`file` is required.", "invalid_request_error", "missing_file"));
    if (typeof purpose !== "string" || !["fine-tune", "assistants", "batch", "user_data"].includes(purpose)) {
      return sendJson(res, 400, errorBody("`purpose` must be fine-tune, assistants, batch or user_data.", "invalid_request_error", "invalid_purpose"));
    }
    const content = await file.text();
    const id = `file-${hexHash(content, randomUUID()).slice(0, 24)}`;
    const meta = {
      id,
      object: "file",
      bytes: Buffer.byteLength(content),
      created_at: now(),
      filename: (file as File).name || "upload.jsonl",
      purpose,
      status: "processed",
      status_details: null,
      expires_at: null,
    };
    a.files.set(id, { meta, content });
    sendJson(res, 200, meta);
  }

  async function createJob(req: IncomingMessage, res: ServerResponse, a: Account): Promise<void> {
    const raw = await readRaw(req);
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw?.toString("utf8") ?? "");
    } catch {
      return sendJson(res, 400, errorBody("Request body is not valid JSON.", "invalid_request_error", "invalid_json"));
    }
    if (typeof body.model !== "string" || !isPersonaId(body.model.split(":")[0])) {
      return sendJson(
        res,
        400,
        errorBody(
          `Model ${String(body.model)} is not available for fine-tuning (use a simulated persona, e.g. base).`,
          "invalid_request_error",
          "model_not_available",
        ),
      );
    }
    const file = typeof body.training_file === "string" ? a.files.get(body.training_file) : undefined;
    if (!file) return sendJson(res, 400, errorBody(`File ${String(body.training_file)} not found.`, "invalid_request_error", "file_not_found"));
    if (file.meta.purpose !== "fine-tune")
      return sendJson(res, 400, errorBody("The training file's purpose must be fine-tune.", "invalid_request_error", "invalid_file_purpose"));
    const id = `ftjob-${randomUUID().replace(/-/g, "").slice(0, 24)}`;
    const hyper = body.method?.supervised?.hyperparameters ?? body.hyperparameters ?? {};
    const job: FineTuneJob = {
      object: "fine_tuning.job",
      id,
      model: body.model,
      created_at: now(),
      finished_at: null,
      fine_tuned_model: null,
      organization_id: "org-projectability-sim",
      result_files: [],
      status: "validating_files",
      validation_file: body.validation_file ?? null,
      training_file: body.training_file,
      hyperparameters: {
        n_epochs: hyper.n_epochs ?? "auto",
        batch_size: hyper.batch_size ?? "auto",
        learning_rate_multiplier: hyper.learning_rate_multiplier ?? "auto",
      },
      method: body.method ?? { type: "supervised", supervised: { hyperparameters: hyper } },
      trained_tokens: null,
      error: null,
      seed: typeof body.seed === "number" ? body.seed : 42,
      metadata: body.metadata ?? null,
      estimated_finish: null,
      integrations: null,
      user_provided_suffix: typeof body.suffix === "string" ? body.suffix : null,
      events: [],
    };
    a.jobs.set(id, job);
    jobEvent(job, `Created fine-tuning job: ${id}`);
    runJob(a, job);
    sendJson(res, 200, publicJob(job));
  }

  function listPage<T extends { id: string }>(items: T[], url: URL): { object: "list"; data: T[]; has_more: boolean } {
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit") ?? 20)));
    const after = url.searchParams.get("after");
    const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
    const data = items.slice(start, start + limit);
    return { object: "list", data, has_more: start + limit < items.length };
  }

  /** `metadata[key]=value` filters, as the openai SDK encodes them. */
  function metadataFilter(url: URL): [string, string][] {
    const out: [string, string][] = [];
    for (const [k, v] of url.searchParams) {
      const m = /^metadata\[(.+)\]$/.exec(k);
      if (m) out.push([m[1], v]);
    }
    return out;
  }

  // -------------------------------------------------------------- generic GPU provider (docs/providers.md)

  async function gpuCreate(req: IncomingMessage, res: ServerResponse, a: Account): Promise<void> {
    const raw = await readRaw(req);
    let spec: Record<string, any>;
    try {
      spec = JSON.parse(raw?.toString("utf8") ?? "");
    } catch {
      return sendJson(res, 400, { error: { code: "invalid_json", message: "body is not JSON" } });
    }
    if (typeof spec.job_id !== "string" || typeof spec.dataset_url !== "string" || typeof spec.base_model !== "string") {
      return sendJson(res, 400, { error: { code: "invalid_spec", message: "job_id, dataset_url and base_model are required" } });
    }
    // Idempotent on the caller's job_id: a retried submission gets the same job.
    const existing = [...a.gpuJobs.values()].find((j) => j.job_id === spec.job_id);
    if (existing) return sendJson(res, 200, gpuPublic(existing));
    const job: GpuJob = {
      id: `gpu-${randomUUID().replace(/-/g, "").slice(0, 20)}`,
      job_id: spec.job_id,
      status: "queued",
      base_model: spec.base_model,
      dataset_url: spec.dataset_url,
      dataset_sha256: typeof spec.dataset_sha256 === "string" ? spec.dataset_sha256 : null,
      callback_url: typeof spec.callback_url === "string" ? spec.callback_url : null,
      hyperparameters: spec.hyperparameters ?? {},
      model: null,
      error: null,
      created_at: now(),
    };
    a.gpuJobs.set(job.id, job);
    sendJson(res, 202, gpuPublic(job));
    later(10, () => void gpuFetch(a, job));
  }

  function gpuPublic(j: GpuJob) {
    const { profile: _p, ...rest } = j;
    return rest;
  }

  function gpuEvent(a: Account, j: GpuJob, type: string): void {
    emit(a, type, { job_id: j.job_id, provider_job_id: j.id, status: j.status, model: j.model, error: j.error }, j.callback_url);
  }

  async function gpuFetch(a: Account, job: GpuJob): Promise<void> {
    try {
      const res = await fetch(job.dataset_url, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`GET dataset_url answered ${res.status}`);
      gpuTrain(a, job, await res.text());
    } catch (err) {
      // Unreachable from here (e.g. a worker inside the test runtime): wait for the dataset to be handed over.
      job.status = "waiting_for_dataset";
      job.error = String(err);
    }
  }

  function gpuTrain(a: Account, job: GpuJob, jsonl: string): void {
    const read = profileTrainingFile(jsonl);
    if (!read.ok) {
      job.status = "failed";
      job.error = read.error;
      gpuEvent(a, job, "training.job.failed");
      return;
    }
    job.error = null;
    job.profile = read.profile;
    job.status = "running";
    gpuEvent(a, job, "training.job.running");
    later(trainMs, () => {
      job.status = "succeeded";
      job.model = { base_url: `${opts.origin()}/v1`, name: `ft:${job.base_model.split(":")[0]}:gpu-sim:${job.id.slice(-8)}` };
      register(read.profile, job.model.name);
      gpuEvent(a, job, "training.job.succeeded");
    });
  }

  // -------------------------------------------------------------- routing

  /** Whether a path belongs to the fine-tuning services (the server hands those requests to `handle`). */
  function owns(path: string): boolean {
    return (
      path === "/v1/files" ||
      path.startsWith("/v1/files/") ||
      path.startsWith("/v1/fine_tuning/") ||
      path.startsWith("/gpu/v1/") ||
      path.startsWith("/_sim/webhooks") ||
      path.startsWith("/_sim/gpu/") ||
      path === "/_sim/finetune/models"
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    const m = req.method ?? "GET";
    if (path === "/_sim/finetune/models" && m === "GET") {
      sendJson(res, 200, { models: [...models.values()].map((x) => ({ name: x.name, persona: x.persona.id, profile: x.profile })) });
      return;
    }
    const key = apiKey(req);
    if (!key) {
      req.resume();
      sendJson(res, 401, errorBody("Missing or empty API key (Authorization: Bearer <key>).", "invalid_request_error", "invalid_api_key"));
      return;
    }
    const a = account(key);
    let hit: RegExpExecArray | null;
    if (m === "POST" && path === "/_sim/webhooks") {
      // The provider's dashboard: where this account's events go and the secret they are signed with.
      const raw = await readRaw(req);
      const body = JSON.parse(raw?.toString("utf8") || "{}") as { url?: string | null; secret?: string };
      if (!body.secret?.startsWith("whsec_")) return sendJson(res, 400, { error: { message: "secret must be a whsec_ secret" } });
      a.webhook = { url: body.url ?? null, secret: body.secret };
      sendJson(res, 200, { ok: true, url: a.webhook.url });
    } else if (m === "GET" && path === "/_sim/webhooks/outbox") {
      sendJson(res, 200, { deliveries: a.outbox });
    } else if (m === "POST" && path === "/v1/files") {
      await uploadFile(req, res, a);
    } else if (m === "GET" && path === "/v1/files") {
      const purpose = url.searchParams.get("purpose");
      sendJson(
        res,
        200,
        listPage(
          [...a.files.values()].map((f) => f.meta as { id: string }).filter((f) => !purpose || (f as Record<string, unknown>).purpose === purpose),
          url,
        ),
      );
    } else if ((hit = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path)) && (m === "GET" || m === "DELETE")) {
      const f = a.files.get(decodeURIComponent(hit[1]));
      if (!f) sendJson(res, 404, errorBody(`No such File object: ${hit[1]}`, "invalid_request_error", "not_found"));
      else if (m === "DELETE") {
        a.files.delete(f.meta.id as string);
        sendJson(res, 200, { id: f.meta.id, object: "file", deleted: true });
      } else if (hit[2]) {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(f.content);
      } else sendJson(res, 200, f.meta);
    } else if (m === "POST" && path === "/v1/fine_tuning/jobs") {
      await createJob(req, res, a);
    } else if (m === "GET" && path === "/v1/fine_tuning/jobs") {
      const filters = metadataFilter(url);
      const jobs = [...a.jobs.values()].reverse().filter((j) => filters.every(([k, v]) => j.metadata?.[k] === v));
      sendJson(res, 200, listPage(jobs.map(publicJob), url));
    } else if ((hit = /^\/v1\/fine_tuning\/jobs\/([^/]+)(\/cancel|\/events)?$/.exec(path))) {
      const job = a.jobs.get(decodeURIComponent(hit[1]));
      if (!job) sendJson(res, 404, errorBody(`Fine-tuning job ${hit[1]} not found.`, "invalid_request_error", "not_found"));
      else if (m === "POST" && hit[2] === "/cancel") {
        if (["succeeded", "failed", "cancelled"].includes(job.status))
          sendJson(res, 400, errorBody(`Job is already ${job.status}.`, "invalid_request_error", "invalid_state"));
        else {
          job.status = "cancelled";
          job.finished_at = now();
          jobEvent(job, "Fine-tuning job cancelled");
          emit(a, "fine_tuning.job.cancelled", { id: job.id });
          sendJson(res, 200, publicJob(job));
        }
      } else if (m === "GET" && hit[2] === "/events") sendJson(res, 200, listPage([...job.events].reverse(), url));
      else if (m === "GET" && !hit[2]) sendJson(res, 200, publicJob(job));
      else sendJson(res, 404, errorBody(`No route for ${m} ${path}.`, "invalid_request_error", "not_found"));
    } else if (m === "POST" && path === "/gpu/v1/jobs") {
      await gpuCreate(req, res, a);
    } else if (m === "GET" && (hit = /^\/gpu\/v1\/jobs\/([^/]+)$/.exec(path))) {
      const job = a.gpuJobs.get(decodeURIComponent(hit[1]));
      if (job) sendJson(res, 200, gpuPublic(job));
      else sendJson(res, 404, { error: { code: "not_found", message: `no job ${hit[1]}` } });
    } else if (m === "POST" && (hit = /^\/_sim\/gpu\/jobs\/([^/]+)\/dataset$/.exec(path))) {
      // Stands in for the provider's download when the worker is not reachable from here (tests relay the file).
      const job = a.gpuJobs.get(decodeURIComponent(hit[1]));
      const raw = await readRaw(req);
      if (!job) sendJson(res, 404, { error: { code: "not_found", message: `no job ${hit[1]}` } });
      else {
        gpuTrain(a, job, raw?.toString("utf8") ?? "");
        sendJson(res, 200, gpuPublic(job));
      }
    } else {
      req.resume();
      sendJson(res, 404, errorBody(`No route for ${m} ${path}.`, "invalid_request_error", "not_found"));
    }
  }

  return {
    owns,
    handle,
    /** A trained model by its served name, if this simulator trained it. */
    model: (name: string): TrainedModel | undefined => models.get(name),
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

export type FineTuning = ReturnType<typeof createFineTuning>;
export type { Persona };
