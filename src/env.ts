/** @module env: the worker's bindings, vars and secrets. */
import type { EndpointGate } from "./providers/gate";

export interface Env {
  DB: D1Database;
  WORK_QUEUE: Queue<unknown>;
  ENDPOINT_GATE: DurableObjectNamespace<EndpointGate>;
  /** Model-call timeout in ms (default 30000). */
  MODEL_TIMEOUT_MS?: string;
  /** Base of the exponential retry backoff in seconds (default 2); tests set 0. */
  RETRY_BASE_SECONDS?: string;
  /** Model calls in flight per consumer invocation (default 6, Cloudflare's connection cap). */
  MAX_CALLS_PER_INVOCATION?: string;
  /** Secrets. */
  ENCRYPTION_KEY: string;
  ADMIN_API_KEY: string;
  WEBHOOK_SECRET?: string;
}

export type AppEnv = { Bindings: Env; Variables: { isAdmin: boolean } };
