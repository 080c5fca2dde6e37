/** @module env: the worker's bindings, vars and secrets. */
import type { EndpointGate } from "./providers/gate";

export interface Env {
  DB: D1Database;
  WORK_QUEUE: Queue<unknown>;
  ENDPOINT_GATE: DurableObjectNamespace<EndpointGate>;
  /** Dataset exports (JSONL + manifest); docs/training.md. */
  DATASETS: R2Bucket;
  /** The durable dataset -> training -> endpoint -> evaluation sequence (src/training/pipeline.ts). */
  TRAINING_PIPELINE: Workflow<{ jobId: string }>;
  /** This worker's public origin, used in signed dataset links and provider callback URLs (e.g. https://projectability.example.com). */
  PUBLIC_BASE_URL?: string;
  /** Seconds the training pipeline waits for an event before looking again (default 600); tests shrink it. */
  PIPELINE_WAIT_SECONDS?: string;
  /** Delay between retries of a failed pipeline step in ms (default 10000); tests shrink it. */
  PIPELINE_RETRY_DELAY_MS?: string;
  /** Minutes without a webhook before the cron asks the provider about a job (default 10). */
  TRAINING_POLL_AFTER_MINUTES?: string;
  /** Hosts that endpoint and provider URLs may reach over plain http, comma-separated (docs/api.md#url-policy); empty in production, "127.0.0.1,localhost" locally. */
  ALLOW_HTTP_HOSTS?: string;
  /** "1" lets training-job requests inject crashes after pipeline steps (tests only). */
  ALLOW_FAULT_INJECTION?: string;
  /** Model-call timeout in ms (default 30000). */
  MODEL_TIMEOUT_MS?: string;
  /** Base of the exponential retry backoff in seconds (default 2); tests set 0. */
  RETRY_BASE_SECONDS?: string;
  /** Model calls in flight per consumer invocation (default 6, Cloudflare's connection cap). */
  MAX_CALLS_PER_INVOCATION?: string;
  /** "1": each consumer batch logs a `batch.timing` line (load, calls, store ms; gate RPCs), for profiling. */
  LOG_BATCH_TIMING?: string;
  /** Seconds a recognition unit waits before looking again for the base run's answer (default 30); tests set 1. */
  BASE_ANSWER_WAIT_SECONDS?: string;
  /** Seconds a pending unit may go unchanged (with no live lease) before the cron's sweep re-enqueues it (default 600). */
  STALLED_AFTER_SECONDS?: string;
  /** "1" makes the work consumer send every work message twice (the chaos script's duplicate deliveries; never in production). */
  DUPLICATE_DELIVERIES?: string;
  /** Secrets. */
  ENCRYPTION_KEY: string;
  ADMIN_API_KEY: string;
  WEBHOOK_SECRET?: string;
  /** Standard Webhooks secret (whsec_...) of POST /v1/webhooks/rescore. */
  RESCORE_WEBHOOK_SECRET?: string;
}

export type AppEnv = { Bindings: Env; Variables: { isAdmin: boolean } };
