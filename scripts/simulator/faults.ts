/** @module Model-string options and deterministic fault injection for the model simulator. */

import { pickHash, unitHash } from "./random.ts";

export const FAULT_KINDS = ["rate_limit", "server_error", "timeout", "malformed"] as const;
/** Faults only sent when `faults=` names them: a 429 without a Retry-After header. */
export const OPT_IN_FAULT_KINDS = ["rate_limit_bare"] as const;

export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof OPT_IN_FAULT_KINDS)[number];
const ALL_FAULT_KINDS: ReadonlyArray<string> = [...FAULT_KINDS, ...OPT_IN_FAULT_KINDS];

/**
 * Valid but unusual answer shapes that OpenAI-compatible providers send (a 200 the client must store, not retry):
 * `content: null` with a `refusal`, `content` as an array of text parts, a logprob entry whose token is null,
 * logprob entries without `top_logprobs`.
 */
export const ODD_SHAPES = ["refusal", "parts", "null_token", "no_top_logprobs"] as const;
export type OddShape = (typeof ODD_SHAPES)[number];

export interface ModelOptions {
  /** Probability of an injected fault per request attempt. */
  fault: number;
  faults: FaultKind[];
  /** Added latency in ms; null = the server default. */
  latency: number | null;
  /** How long a timeout fault waits before answering 504. */
  hang: number;
  /** Seconds in the Retry-After header of a 429. */
  retryAfter: number;
  /** False simulates a provider without logprob support. */
  logprobs: boolean;
  /** Added to every harmful-category refusal probability (clamped to [0, 1]); replicate variation. */
  refusal: number;
  /** Judge only: probability that a rubric reply is unparseable, per (request id, attempt). */
  garbage: number;
  /** Probability that a successful answer comes in one of `oddShapes`, per (request id, attempt). */
  odd: number;
  oddShapes: OddShape[];
  tag: string | null;
}

export interface ParsedModel {
  persona: string;
  options: ModelOptions;
}

export type ParseResult = { ok: true; value: ParsedModel } | { ok: false; error: string };

export function defaultModelOptions(): ModelOptions {
  return {
    fault: 0,
    faults: [...FAULT_KINDS],
    latency: null,
    hang: 60000,
    retryAfter: 1,
    logprobs: true,
    refusal: 0,
    garbage: 0,
    odd: 0,
    oddShapes: [...ODD_SHAPES],
    tag: null,
  };
}

function number(key: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new Error(`option ${key}=${value} must be a number in [${min}, ${max}]`);
  }
  return n;
}

/** Parse `<persona>` or `<persona>:<key>=<value>,...`; bad options are errors, so typos do not pass silently. */
export function parseModelString(model: string): ParseResult {
  const colon = model.indexOf(":");
  const persona = colon < 0 ? model : model.slice(0, colon);
  const options = defaultModelOptions();
  if (colon < 0) return { ok: true, value: { persona, options } };
  try {
    for (const pair of model.slice(colon + 1).split(",")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      if (eq < 0) throw new Error(`option "${pair}" must be key=value`);
      const key = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      switch (key) {
        case "fault":
          options.fault = number(key, value, 0, 1);
          break;
        case "faults": {
          const kinds = value.split("+").filter(Boolean);
          for (const k of kinds) {
            if (!ALL_FAULT_KINDS.includes(k)) {
              throw new Error(`unknown fault kind "${k}" (use ${ALL_FAULT_KINDS.join("+")})`);
            }
          }
          if (kinds.length === 0) throw new Error("faults= needs at least one kind");
          options.faults = [...new Set(kinds)] as FaultKind[];
          break;
        }
        case "latency":
          options.latency = number(key, value, 0, 600000);
          break;
        case "hang":
          options.hang = number(key, value, 0, 3600000);
          break;
        case "retryAfter":
          options.retryAfter = number(key, value, 0, 86400);
          break;
        case "logprobs":
          if (value !== "0" && value !== "1") throw new Error("option logprobs must be 0 or 1");
          options.logprobs = value === "1";
          break;
        case "refusal":
          options.refusal = number(key, value, -1, 1);
          break;
        case "garbage":
          options.garbage = number(key, value, 0, 1);
          break;
        case "odd":
          options.odd = number(key, value, 0, 1);
          break;
        case "oddShapes": {
          const shapes = value.split("+").filter(Boolean);
          for (const k of shapes)
            if (!(ODD_SHAPES as ReadonlyArray<string>).includes(k)) throw new Error(`unknown odd shape "${k}" (use ${ODD_SHAPES.join("+")})`);
          if (shapes.length === 0) throw new Error("oddShapes= needs at least one shape");
          options.oddShapes = [...new Set(shapes)] as OddShape[];
          break;
        }
        case "tag":
          options.tag = value;
          break;
        default:
          throw new Error(`unknown simulator option "${key}"`);
      }
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  return { ok: true, value: { persona, options } };
}

/** A fault depends only on (request id, attempt), so retries replay identically after a reset. */
export function decideFault(requestId: string, attempt: number, options: ModelOptions): FaultKind | null {
  if (options.fault <= 0 || options.faults.length === 0) return null;
  if (unitHash(requestId, attempt, "fault") >= options.fault) return null;
  return pickHash(options.faults, requestId, attempt, "fault-kind");
}

/** Whether the judge garbles this attempt: like a fault, it depends only on (request id, attempt). */
export function decideGarbage(requestId: string, attempt: number, rate: number): boolean {
  return rate > 0 && unitHash(requestId, attempt, "garbage") < rate;
}

/** Whether (and how) this attempt's answer comes in an odd shape; like a fault, it depends only on (request id, attempt). */
export function decideOddShape(requestId: string, attempt: number, options: ModelOptions): OddShape | null {
  if (options.odd <= 0 || options.oddShapes.length === 0) return null;
  if (unitHash(requestId, attempt, "odd") >= options.odd) return null;
  return pickHash(options.oddShapes, requestId, attempt, "odd-shape");
}

interface CompletionLike {
  choices: {
    message: { content: unknown; refusal?: unknown };
    logprobs: { content: { token: unknown; logprob: number; bytes: unknown; top_logprobs?: unknown[] }[] } | null;
  }[];
}

/** Rewrites a completion into the odd shape (in place), as real providers send it. */
export function applyOddShape<T extends CompletionLike>(completion: T, shape: OddShape): T {
  for (const choice of completion.choices) {
    const text = typeof choice.message.content === "string" ? choice.message.content : "";
    switch (shape) {
      case "refusal":
        choice.message.content = null;
        choice.message.refusal = "I'm sorry, I can't help with that. (simulated refusal)";
        choice.logprobs = null;
        break;
      case "parts": {
        const cut = Math.ceil(text.length / 2);
        choice.message.content = [
          { type: "text", text: text.slice(0, cut) },
          { type: "text", text: text.slice(cut) },
        ];
        break;
      }
      case "null_token":
        if (choice.logprobs?.content.length) {
          const first = choice.logprobs.content[0];
          first.top_logprobs = [{ token: null, logprob: -9, bytes: null }, ...(first.top_logprobs ?? [])];
          choice.logprobs.content.push({ token: null, logprob: -12, bytes: null, top_logprobs: [] });
        } else choice.logprobs = { content: [{ token: null, logprob: -12, bytes: null, top_logprobs: [] }] };
        break;
      case "no_top_logprobs":
        for (const entry of choice.logprobs?.content ?? []) delete entry.top_logprobs;
        break;
    }
  }
  return completion;
}

/** Counts attempts per request id (x-client-request-id, or a hash of the body). */
export interface AttemptTracker {
  next(requestId: string): number;
  reset(): void;
}

export function createAttemptTracker(): AttemptTracker {
  const seen = new Map<string, number>();
  return {
    next(requestId) {
      const attempt = (seen.get(requestId) ?? 0) + 1;
      seen.set(requestId, attempt);
      return attempt;
    },
    reset() {
      seen.clear();
    },
  };
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export function errorBody(message: string, type: string, code: string | null): OpenAIErrorBody {
  return { error: { message, type, code, param: null } };
}

/** The HTTP answer of an injected fault (timeout's 504 is sent only after `hang` ms). */
export function faultReply(
  kind: FaultKind,
  options: ModelOptions,
): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const json = { "content-type": "application/json" };
  switch (kind) {
    case "rate_limit":
      return {
        status: 429,
        headers: { ...json, "retry-after": String(options.retryAfter) },
        body: JSON.stringify(errorBody("Rate limit reached (simulated). Please retry after a short wait.", "rate_limit_error", "rate_limit_exceeded")),
      };
    case "rate_limit_bare":
      return {
        status: 429,
        headers: json,
        body: JSON.stringify(errorBody("Rate limit reached (simulated, no Retry-After).", "rate_limit_error", "rate_limit_exceeded")),
      };
    case "server_error":
      return {
        status: 500,
        headers: json,
        body: JSON.stringify(errorBody("The server had an error while processing your request (simulated).", "server_error", "server_error")),
      };
    case "timeout":
      return {
        status: 504,
        headers: json,
        body: JSON.stringify(errorBody("Gateway timeout (simulated).", "timeout_error", "gateway_timeout")),
      };
    case "malformed":
      // Truncated on purpose: the client must cope with invalid JSON under a 200.
      return { status: 200, headers: json, body: '{"id": "chatcmpl-' };
  }
}
