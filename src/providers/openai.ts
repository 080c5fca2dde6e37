/**
 * @module providers/openai: calls an OpenAI-compatible endpoint with the openai SDK. The SDK's own retries are
 * off (`maxRetries: 0`): retries belong to the queue, which backs off and honours Retry-After.
 */
import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { normalizeCompletion } from "./completion-shape";

export interface ModelTarget {
  baseUrl: string;
  model: string;
  apiKey: string;
  /** Extra static headers the endpoint declares (e.g. Cloudflare Access service tokens), sent on every call. */
  headers?: Record<string, string>;
}

export type CallOutcome =
  /** `completion` in the canonical shape (completion-shape.ts); `raw` the body as the provider sent it. */
  | { ok: true; completion: ChatCompletion; raw: ChatCompletion; latencyMs: number }
  | { ok: false; transient: boolean; status: number | null; retryAfterSeconds: number | null; error: string; latencyMs: number };

const clients = new Map<string, OpenAI>();

function clientFor(t: ModelTarget, timeoutMs: number): OpenAI {
  const key = `${t.baseUrl}\u0000${t.apiKey}\u0000${timeoutMs}`;
  let c = clients.get(key);
  if (!c) {
    c = new OpenAI({ baseURL: t.baseUrl, apiKey: t.apiKey, maxRetries: 0, timeout: timeoutMs });
    if (clients.size > 64) clients.clear();
    clients.set(key, c);
  }
  return c;
}

/** Statuses worth retrying: rate limits, timeouts, conflicts and server errors. */
function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function retryAfterSeconds(headers: Headers | Record<string, string> | undefined): number | null {
  if (!headers) return null;
  const value = headers instanceof Headers ? headers.get("retry-after") : (headers["retry-after"] ?? null);
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : null;
}

/** Things that look like API keys (sk-..., Bearer tokens) in a provider's error text (ours). */
const KEY_LIKE = /\b(sk|pk|rk|key|token)[-_][A-Za-z0-9_-]{8,}|Bearer\s+\S+/gi;

/**
 * A provider's error text, safe to store and log: the endpoint's own key and anything key-shaped is redacted
 * (providers echo keys back, e.g. "Incorrect API key provided: sk-...").
 */
export function redactSecrets(text: string, apiKey: string, extra: string[] = []): string {
  let out = text;
  for (const secret of [apiKey, ...extra]) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  out = out.replace(KEY_LIKE, "[redacted]");
  return out.slice(0, 300);
}

/** One chat completion; never throws. `requestId` is sent as X-Client-Request-Id for tracing. */
export async function callChat(
  target: ModelTarget,
  params: Omit<ChatCompletionCreateParamsNonStreaming, "model">,
  requestId: string,
  timeoutMs: number,
): Promise<CallOutcome> {
  const started = Date.now();
  try {
    const completion = await clientFor(target, timeoutMs).chat.completions.create(
      { ...params, model: target.model },
      { headers: { ...target.headers, "X-Client-Request-Id": requestId } },
    );
    if (!completion || !Array.isArray(completion.choices)) {
      return { ok: false, transient: true, status: 200, retryAfterSeconds: null, error: "malformed response: no choices", latencyMs: Date.now() - started };
    }
    return { ok: true, completion: normalizeCompletion(completion), raw: completion, latencyMs: Date.now() - started };
  } catch (err) {
    const latencyMs = Date.now() - started;
    if (err instanceof OpenAI.APIConnectionTimeoutError) {
      return { ok: false, transient: true, status: null, retryAfterSeconds: null, error: `timeout after ${timeoutMs} ms`, latencyMs };
    }
    if (err instanceof OpenAI.APIError && typeof err.status === "number") {
      return {
        ok: false,
        transient: isTransientStatus(err.status),
        status: err.status,
        retryAfterSeconds: retryAfterSeconds(err.headers as Headers | undefined),
        error: redactSecrets(`HTTP ${err.status}: ${String(err.message)}`, target.apiKey, Object.values(target.headers ?? {})),
        latencyMs,
      };
    }
    // Connection errors and bodies that are not JSON: worth another try.
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, transient: true, status: null, retryAfterSeconds: null, error: redactSecrets(message, target.apiKey, Object.values(target.headers ?? {})), latencyMs };
  }
}
