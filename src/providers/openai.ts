/**
 * @module providers/openai: calls an OpenAI-compatible chat completions endpoint with one plain `fetch`. It once used
 * the openai SDK per call; the SDK's request building, header merging and response wrapping were a measurable share
 * of the consumer's CPU per unit (issue 15, docs/capacity.md), and a chat completion is one POST of JSON. There are
 * no retries here: retries belong to the queue, which backs off and honours Retry-After.
 */
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

/** `<baseUrl>/chat/completions`, with one slash between them (as the openai SDK joins them). */
export function chatCompletionsUrl(baseUrl: string): string {
  return `${baseUrl.endsWith("/") ? baseUrl.slice(0, -1) : baseUrl}/chat/completions`;
}

/**
 * The message of a provider's error body, worded as the openai SDK words it (so stored errors read as before):
 * "<status> <error.message>", else the `error` object as JSON, else the body text, else "<status> status code (no body)".
 */
export function providerErrorMessage(status: number, body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const error = parsed && typeof parsed === "object" ? (parsed as { error?: unknown }).error : undefined;
  const inner = error && typeof error === "object" ? (error as { message?: unknown }).message : undefined;
  const msg = inner ? (typeof inner === "string" ? inner : JSON.stringify(inner)) : error ? JSON.stringify(error) : parsed === undefined ? body : "";
  return msg ? `${status} ${msg}` : `${status} status code (no body)`;
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
  const secrets = () => Object.values(target.headers ?? {});
  // One timer covers the whole exchange, the body included, as the SDK's timeout did.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(chatCompletionsUrl(target.baseUrl), {
      method: "POST",
      // The endpoint's extra headers first: the ones we set ourselves are reserved (providers/headers.ts) and win.
      headers: {
        ...target.headers,
        authorization: `Bearer ${target.apiKey}`,
        "content-type": "application/json",
        accept: "application/json",
        "x-client-request-id": requestId,
      },
      body: JSON.stringify({ ...params, model: target.model }),
      signal: abort.signal,
    });
    const text = await res.text();
    const latencyMs = Date.now() - started;
    if (!res.ok) {
      return {
        ok: false,
        transient: isTransientStatus(res.status),
        status: res.status,
        retryAfterSeconds: retryAfterSeconds(res.headers),
        error: redactSecrets(`HTTP ${res.status}: ${providerErrorMessage(res.status, text)}`, target.apiKey, secrets()),
        latencyMs,
      };
    }
    let completion: ChatCompletion;
    try {
      completion = JSON.parse(text) as ChatCompletion;
    } catch (err) {
      // A body cut short or not JSON under a 200: worth another try.
      return {
        ok: false,
        transient: true,
        status: res.status,
        retryAfterSeconds: null,
        error: redactSecrets(`malformed response: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, target.apiKey, secrets()),
        latencyMs,
      };
    }
    if (!completion || typeof completion !== "object" || !Array.isArray(completion.choices)) {
      return { ok: false, transient: true, status: res.status, retryAfterSeconds: null, error: "malformed response: no choices", latencyMs };
    }
    return { ok: true, completion: normalizeCompletion(completion), raw: completion, latencyMs };
  } catch (err) {
    const latencyMs = Date.now() - started;
    if (abort.signal.aborted) return { ok: false, transient: true, status: null, retryAfterSeconds: null, error: `timeout after ${timeoutMs} ms`, latencyMs };
    // Connection errors: worth another try.
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, transient: true, status: null, retryAfterSeconds: null, error: redactSecrets(message, target.apiKey, secrets()), latencyMs };
  } finally {
    clearTimeout(timer);
  }
}
