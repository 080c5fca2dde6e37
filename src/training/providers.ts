/**
 * @module training/providers: fine-tuning provider adapters. `openai`: any OpenAI-compatible fine-tuning API through
 * the openai SDK (files.create, fine_tuning.jobs.create / retrieve / list). `generic`: our GPU provider contract
 * (docs/providers.md): we POST a job spec with a signed, expiring dataset URL and a callback URL; the provider POSTs
 * Standard Webhooks events back and answers GET /jobs/{id}.
 */
import OpenAI, { toFile } from "openai";
import { redactSecrets } from "../providers/openai";

export const PROVIDER_TYPES = ["openai", "generic"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Provider calls time out after this long (ours: uploads of a few MB finish well within a minute). */
export const PROVIDER_TIMEOUT_MS = 60_000;
/** Metadata key our OpenAI-style jobs carry, so a retried submission finds the job it already created. */
export const JOB_METADATA_KEY = "projectability_job";
/** Uploaded files we look through for an earlier upload of the same job (ours). */
const MAX_FILES_SCANNED = 1_000;

export interface ProviderTarget {
  type: ProviderType;
  baseUrl: string;
  apiKey: string;
}

/** Where a provider job stands, in our terms. */
export type ProviderState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface ProviderStatus {
  state: ProviderState;
  /** The provider's own status word. */
  raw: string;
  /** Once trained: the model name and the OpenAI-compatible base URL it is served at. */
  model?: { name: string; baseUrl: string };
  error?: string;
}

export interface SubmitInput {
  jobId: string;
  datasetId: string;
  jsonl: string;
  datasetSha256: string;
  baseModel: string;
  hyperparameters: Record<string, unknown>;
  suffix: string;
  seed?: number;
  /** Generic provider only: the signed, expiring dataset link and where to send status events. */
  datasetUrl?: string;
  callbackUrl?: string;
}

export interface Submitted {
  providerJobId: string;
  fileId: string | null;
  /** True when an earlier attempt had already created the job (nothing new was created). */
  reused: boolean;
}

/** A provider refused the request for good (bad model, bad file...): retrying cannot help. */
export class PermanentProviderError extends Error {}

export interface TrainingProvider {
  submit(input: SubmitInput): Promise<Submitted>;
  status(providerJobId: string): Promise<ProviderStatus>;
}

const isPermanentStatus = (s: number) => s >= 400 && s < 500 && s !== 408 && s !== 409 && s !== 429;

function wrapSdkError(err: unknown): never {
  if (err instanceof OpenAI.APIError && typeof err.status === "number" && isPermanentStatus(err.status)) {
    throw new PermanentProviderError(`HTTP ${err.status}: ${String(err.message).slice(0, 300)}`);
  }
  throw err;
}

export function openAiProvider(t: ProviderTarget): TrainingProvider {
  const client = new OpenAI({ baseURL: t.baseUrl, apiKey: t.apiKey || "none", maxRetries: 1, timeout: PROVIDER_TIMEOUT_MS });
  const filename = (jobId: string) => `projectability-${jobId}.jsonl`;
  return {
    async submit(input) {
      try {
        // A retried step must not create a second job or upload a second file: look for both first.
        const existing = await client.fineTuning.jobs.list({ metadata: { [JOB_METADATA_KEY]: input.jobId }, limit: 10 });
        const job = existing.data.find((j) => j.metadata?.[JOB_METADATA_KEY] === input.jobId);
        if (job) return { providerJobId: job.id, fileId: job.training_file, reused: true };
        let fileId: string | null = null;
        let scanned = 0;
        for await (const f of client.files.list({ purpose: "fine-tune" })) {
          if (f.filename === filename(input.jobId)) {
            fileId = f.id;
            break;
          }
          if (++scanned >= MAX_FILES_SCANNED) break;
        }
        if (!fileId) {
          const file = await client.files.create({
            file: await toFile(new TextEncoder().encode(input.jsonl), filename(input.jobId), { type: "application/jsonl" }),
            purpose: "fine-tune",
          });
          fileId = file.id;
        }
        const created = await client.fineTuning.jobs.create({
          model: input.baseModel,
          training_file: fileId,
          suffix: input.suffix,
          ...(input.seed !== undefined ? { seed: input.seed } : {}),
          metadata: { [JOB_METADATA_KEY]: input.jobId, projectability_dataset: input.datasetId },
          method: { type: "supervised", supervised: { hyperparameters: input.hyperparameters } },
        });
        return { providerJobId: created.id, fileId, reused: false };
      } catch (err) {
        wrapSdkError(err);
      }
    },
    async status(id) {
      let job;
      try {
        job = await client.fineTuning.jobs.retrieve(id);
      } catch (err) {
        wrapSdkError(err);
      }
      const raw = job.status;
      const state: ProviderState =
        raw === "succeeded" ? "succeeded" : raw === "failed" ? "failed" : raw === "cancelled" ? "cancelled" : raw === "running" ? "running" : "queued";
      return {
        state,
        raw,
        ...(state === "succeeded" && job.fine_tuned_model ? { model: { name: job.fine_tuned_model, baseUrl: t.baseUrl } } : {}),
        ...(job.error?.message ? { error: job.error.message } : {}),
      };
    },
  };
}

async function genericCall(
  t: ProviderTarget,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(`${t.baseUrl.replace(/\/+$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.apiKey}`, ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    // Not JSON: reported below.
  }
  if (!res.ok) {
    const msg = `${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`;
    if (isPermanentStatus(res.status)) throw new PermanentProviderError(msg);
    throw new Error(msg);
  }
  return json;
}

/** The generic GPU provider contract (docs/providers.md). */
export function genericProvider(t: ProviderTarget): TrainingProvider {
  return {
    async submit(input) {
      if (!input.datasetUrl || !input.callbackUrl)
        throw new PermanentProviderError("the generic provider needs PUBLIC_BASE_URL for the dataset link and the callback");
      const spec = {
        job_id: input.jobId,
        dataset_url: input.datasetUrl,
        dataset_sha256: input.datasetSha256,
        dataset_format: "openai-chat-jsonl",
        base_model: input.baseModel,
        hyperparameters: input.hyperparameters,
        suffix: input.suffix,
        callback_url: input.callbackUrl,
        metadata: { dataset_id: input.datasetId },
      };
      // The provider must treat job_id as an idempotency key (contract): a retried submission returns the same job.
      const res = await genericCall(t, "POST", "/jobs", spec, { "idempotency-key": input.jobId });
      if (typeof res.id !== "string") throw new Error("the provider's answer has no job id");
      return { providerJobId: res.id, fileId: null, reused: false };
    },
    async status(id) {
      const res = await genericCall(t, "GET", `/jobs/${encodeURIComponent(id)}`);
      return genericStatus(res);
    },
  };
}

/** Reads a generic provider job (or a status event's data) into our terms. */
export function genericStatus(res: Record<string, unknown>): ProviderStatus {
  const raw = String(res.status ?? "unknown");
  const state: ProviderState =
    raw === "succeeded" ? "succeeded" : raw === "failed" ? "failed" : raw === "cancelled" ? "cancelled" : raw === "running" ? "running" : "queued";
  const model = res.model as { base_url?: unknown; name?: unknown } | null | undefined;
  return {
    state,
    raw,
    ...(state === "succeeded" && model && typeof model.name === "string" && typeof model.base_url === "string"
      ? { model: { name: model.name, baseUrl: model.base_url } }
      : {}),
    ...(typeof res.error === "string" && res.error ? { error: res.error } : {}),
  };
}

/**
 * The provider for a target. Its error texts (thrown, or a failed job's error) are stored and logged, so the key and
 * anything key-shaped is redacted from them, as for model calls (providers/openai.ts).
 */
export function providerFor(t: ProviderTarget): TrainingProvider {
  const inner = t.type === "openai" ? openAiProvider(t) : genericProvider(t);
  const redacted = (err: unknown): never => {
    if (!(err instanceof Error)) throw err;
    const message = redactSecrets(err.message, t.apiKey);
    if (message === err.message) throw err;
    throw err instanceof PermanentProviderError ? new PermanentProviderError(message) : new Error(message);
  };
  return {
    submit: (input) => inner.submit(input).catch(redacted),
    status: async (id) => {
      const st = await inner.status(id).catch(redacted);
      return st.error ? { ...st, error: redactSecrets(st.error, t.apiKey) } : st;
    },
  };
}
