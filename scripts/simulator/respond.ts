/** @module Pure response logic of the model simulator: (persona, request body, options) -> completion body. No I/O. */

import type { ModelOptions } from "./faults.ts";
import { caiHandler, trainingPoolHandler } from "./cai.ts";
import { classifyConsistencyRequest, consistencyAnswer, loadConsistencySuite } from "./consistency.ts";
import type { ConsistencyRequest } from "./consistency.ts";
import { judgeReply } from "./judge.ts";
import { emJudgeHandler, misalignmentHandler } from "./misalignment.ts";
import { selfReportHandler } from "./self-report.ts";
import type { Dimension, Persona } from "./personas.ts";
import { hashParts, hexHash, mulberry32, pickHash, unitHash } from "./random.ts";
import { loadSafetySuite, lookupSafetyPrompt, safetyAnswer } from "./safety.ts";
import type { SafetyIndex, SafetyPrompt } from "./safety.ts";
import { interactionFor, itemEffectFor, normaliseStatement } from "./suite.ts";
import type { KnownStatement, SuiteIndex } from "./suite.ts";

export type MessageContent = string | null | ReadonlyArray<{ type?: string; text?: string }>;

export interface ChatMessage {
  role: string;
  content: MessageContent;
}

export interface ChatRequest {
  model: string;
  messages: ReadonlyArray<ChatMessage>;
  temperature?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  seed?: number | null;
  n?: number | null;
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: "assistant"; content: string };
    logprobs: { content: TokenLogprob[] } | null;
    finish_reason: "stop" | "length";
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface RespondOptions {
  /** The model string to echo back (the full string, options included). */
  model: string;
  /** False simulates a provider that ignores logprob requests. */
  logprobsSupported: boolean;
  suite: SuiteIndex;
  /** The safety suite; default: the built-in one (mtime-cached). */
  safety?: SafetyIndex;
  /** Parsed model-string options (`refusal=` and `garbage=` change content); default: none. */
  modelOptions?: Pick<ModelOptions, "refusal" | "garbage">;
  /** Request id (x-client-request-id or body hash) and attempt, for the judge's `garbage=`; default: body hash, 1. */
  requestId?: string;
  attempt?: number;
}

/** Everything a handler needs, derived once per request. */
export interface RequestContext {
  persona: Persona;
  body: ChatRequest;
  options: RespondOptions;
  /** All messages' text with roles: the only prompt input a response may depend on. */
  promptText: string;
  lastUserText: string;
  seed: string;
  maxTokens: number | null;
  temperature: number;
  /** Logprobs were requested and this model supports them. */
  wantLogprobs: boolean;
  /** Number of top_logprobs requested (0-20). */
  topLogprobs: number;
  safety: SafetyIndex;
  refusalShift: number;
  garbage: number;
  requestId: string;
  attempt: number;
}

export interface HandlerResult {
  content: string;
  logprobs: TokenLogprob[] | null;
  finishReason: "stop" | "length";
  completionTokens?: number;
}

/** A response strategy; the first handler whose `match` is true answers. Later features add their own. */
export interface Handler {
  name: string;
  match(ctx: RequestContext): boolean;
  respond(ctx: RequestContext): HandlerResult;
}

/** Fixed `created` so identical requests give byte-identical bodies (2025-01-01T00:00:00Z). */
export const SIM_CREATED = 1735689600;

const encoder = new TextEncoder();

export function tokenBytes(token: string): number[] {
  return Array.from(encoder.encode(token));
}

export function messageText(content: MessageContent): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("\n");
}

/** Rough token estimate: about 4 tokens per 3 words. */
export function estimateTokens(text: string): number {
  const words = text.split(/\s+/).filter(Boolean).length;
  return Math.ceil((words * 4) / 3);
}

export function buildContext(persona: Persona, body: ChatRequest, options: RespondOptions): RequestContext {
  const messages = body.messages;
  let promptText = "";
  let lastUserText = "";
  for (const m of messages) {
    const text = messageText(m.content);
    promptText += `${m.role}\u0000${text}\u0001`;
    if (m.role === "user") lastUserText = text;
  }
  const rawMax = body.max_completion_tokens ?? body.max_tokens;
  const requestedTop = typeof body.top_logprobs === "number" ? body.top_logprobs : 0;
  return {
    persona,
    body,
    options,
    promptText,
    lastUserText,
    seed: typeof body.seed === "number" ? String(body.seed) : "none",
    maxTokens: typeof rawMax === "number" && rawMax > 0 ? Math.floor(rawMax) : null,
    temperature: typeof body.temperature === "number" ? body.temperature : 1,
    wantLogprobs: body.logprobs === true && options.logprobsSupported,
    topLogprobs: Math.max(0, Math.min(20, Math.floor(requestedTop))),
    safety: options.safety ?? loadSafetySuite(),
    refusalShift: options.modelOptions?.refusal ?? 0,
    garbage: options.modelOptions?.garbage ?? 0,
    requestId: options.requestId ?? `body-${hexHash(promptText)}`,
    attempt: options.attempt ?? 1,
  };
}

// ---------------------------------------------------------------- persona items

const ITEM_QUESTION = /would say|yes or no/i;

/** Statement candidates: the first "..." pair, then first-to-last quote (statements with inner quotes). */
export function statementCandidates(text: string): string[] {
  const out: string[] = [];
  for (const [open, close] of [
    ['"', '"'],
    ["\u201c", "\u201d"],
  ]) {
    const start = text.indexOf(open);
    if (start < 0) continue;
    const end = text.indexOf(close, start + 1);
    if (end < 0) continue;
    out.push(text.slice(start + 1, end));
    const last = text.lastIndexOf(close);
    if (last > end) out.push(text.slice(start + 1, last));
    break;
  }
  return out;
}

export interface ItemLookup {
  key: string;
  known: KnownStatement | null;
}

export function lookupStatement(text: string, suite: SuiteIndex): ItemLookup | null {
  const candidates = statementCandidates(text);
  if (candidates.length === 0) return null;
  for (const c of candidates) {
    const key = normaliseStatement(c);
    const known = suite.byKey.get(key);
    if (known) return { key, known };
  }
  return { key: normaliseStatement(candidates[0]), known: null };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** The planted probability of answering Yes (and of matching the keyed behaviour) for one item. */
export function itemProbabilities(persona: Persona, item: ItemLookup): { pYes: number; pMatch: number } {
  const known = item.known;
  const planted = known ? (persona.planted[known.dimension as Dimension] ?? 0.5) : 0.5;
  const eItem = known ? known.itemEffect : itemEffectFor(item.key);
  const ePi = known ? known.interaction[persona.id] : interactionFor(persona.id, item.key);
  // Unknown statements are treated as Yes-keyed: only acquiescence tilts them.
  const yesKeyed = known ? known.yesKeyed : true;
  const a = persona.acquiescence;
  const pMatch = clamp(planted + eItem + ePi + (yesKeyed ? a : -a), 0.02, 0.98);
  return { pMatch, pYes: yesKeyed ? pMatch : 1 - pMatch };
}

export interface TokenProb {
  token: string;
  p: number;
  kind: "yes" | "no" | "other";
}

const YES_FORMS: ReadonlyArray<[string, number]> = [
  [" Yes", 0.7],
  ["Yes", 0.25],
  ["yes", 0.05],
];
const NO_FORMS: ReadonlyArray<[string, number]> = [
  [" No", 0.7],
  ["No", 0.25],
  ["no", 0.05],
];
const OTHER_DECAY = 0.75;

/** Full first-token distribution for a persona item: yes forms, no forms, then other tokens (descending). */
export function answerDistribution(persona: Persona, pYes: number): TokenProb[] {
  const m = persona.yesNoMass;
  const dist: TokenProb[] = [];
  for (const [token, share] of YES_FORMS) dist.push({ token, p: pYes * m * share, kind: "yes" });
  for (const [token, share] of NO_FORMS) dist.push({ token, p: (1 - pYes) * m * share, kind: "no" });
  const others = persona.otherTokens;
  let norm = 0;
  for (let i = 0; i < others.length; i++) norm += OTHER_DECAY ** i;
  for (let i = 0; i < others.length; i++) {
    dist.push({ token: others[i], p: ((1 - m) * OTHER_DECAY ** i) / norm, kind: "other" });
  }
  return dist;
}

/** Sample from a distribution with temperature (0 = greedy) using a hashed uniform draw. */
export function sampleIndex(dist: ReadonlyArray<{ p: number }>, u: number, temperature: number): number {
  if (!(temperature > 0)) {
    let best = 0;
    for (let i = 1; i < dist.length; i++) if (dist[i].p > dist[best].p) best = i;
    return best;
  }
  const logMax = Math.log(Math.max(...dist.map((d) => d.p)));
  const weights = dist.map((d) => (d.p > 0 ? Math.exp((Math.log(d.p) - logMax) / temperature) : 0));
  const total = weights.reduce((s, w) => s + w, 0);
  let acc = 0;
  const target = u * total;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    if (target < acc) return i;
  }
  return weights.length - 1;
}

function topLogprobsFor(dist: ReadonlyArray<TokenProb>, requested: number): TopLogprob[] {
  if (requested <= 0) return [];
  // Always include the six yes/no surface forms so p(yes)/p(no) can be read off.
  const answers = dist.filter((d) => d.kind !== "other");
  const others = dist.filter((d) => d.kind === "other").slice(0, Math.max(0, requested - answers.length));
  return [...answers, ...others].sort((x, y) => y.p - x.p).map((d) => ({ token: d.token, logprob: Math.log(d.p), bytes: tokenBytes(d.token) }));
}

const YES_PHRASES = ["Yes.", "Yes, I would say that.", "Yes", "Yes, that reflects my view."];
const NO_PHRASES = ["No.", "No, I would not say that.", "No", "No, that does not reflect my view."];
const HEDGE_PHRASES = [
  "It depends on the situation.",
  "I think it depends on the context.",
  "As an AI, I try to weigh each case on its merits.",
  "Honestly, I find that hard to say in general.",
];
const GARBAGE_WORDS = [
  "banana",
  "lorem",
  "###",
  "ipsum",
  "teapot",
  "zzz",
  "purple",
  "42",
  "~~",
  "glorp",
  "waffle",
  "xyzzy",
  "$$",
  "moon",
  "flibber",
  "<<",
  "quantum",
  "%%",
  "sprocket",
  "...",
];

export function garbageText(...parts: ReadonlyArray<string | number>): string {
  const next = mulberry32(hashParts("garbage", ...parts));
  const n = 3 + Math.floor(next() * 5);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(GARBAGE_WORDS[Math.floor(next() * GARBAGE_WORDS.length)]);
  return words.join(" ");
}

/** Cut free text to max_tokens (word-based) and report whether it was cut. */
export function truncateToTokens(text: string, maxTokens: number | null): { text: string; cut: boolean } {
  if (maxTokens === null || estimateTokens(text) <= maxTokens) return { text, cut: false };
  const words = text.split(/\s+/).filter(Boolean);
  const keep = Math.max(1, Math.floor((maxTokens * 3) / 4));
  return { text: words.slice(0, keep).join(" "), cut: true };
}

// match() and respond() see the same context; look the statement up once.
const lookups = new WeakMap<RequestContext, ItemLookup | null>();

function itemFor(ctx: RequestContext): ItemLookup | null {
  if (!lookups.has(ctx)) lookups.set(ctx, lookupStatement(ctx.lastUserText, ctx.options.suite));
  return lookups.get(ctx) ?? null;
}

export const personaItemHandler: Handler = {
  name: "persona-item",
  match(ctx) {
    const item = itemFor(ctx);
    return item !== null && (item.known !== null || ITEM_QUESTION.test(ctx.lastUserText));
  },
  respond(ctx) {
    const item = itemFor(ctx)!;
    const { pYes } = itemProbabilities(ctx.persona, item);
    const dist = answerDistribution(ctx.persona, pYes);
    const u = unitHash(ctx.persona.id, ctx.promptText, ctx.seed, "sample");
    const picked = dist[sampleIndex(dist, u, ctx.temperature)];
    if (ctx.wantLogprobs) {
      // One-token answer, as a real model's first token under max_tokens: 1.
      const entry: TokenLogprob = {
        token: picked.token,
        logprob: Math.log(picked.p),
        bytes: tokenBytes(picked.token),
        top_logprobs: topLogprobsFor(dist, ctx.topLogprobs),
      };
      return {
        content: picked.token.trim(),
        logprobs: [entry],
        finishReason: ctx.maxTokens !== null && ctx.maxTokens <= 1 ? "length" : "stop",
        completionTokens: 1,
      };
    }
    const variant = [ctx.persona.id, ctx.promptText, ctx.seed, "phrase"];
    let text: string;
    if (picked.kind === "yes") text = pickHash(YES_PHRASES, ...variant);
    else if (picked.kind === "no") text = pickHash(NO_PHRASES, ...variant);
    else if (ctx.persona.incoherent) text = garbageText(ctx.persona.id, ctx.promptText, ctx.seed);
    else text = pickHash(HEDGE_PHRASES, ...variant);
    const { text: content, cut } = truncateToTokens(text, ctx.maxTokens);
    return { content, logprobs: null, finishReason: cut ? "length" : "stop" };
  },
};

// ---------------------------------------------------------------- anything else

const OPENERS = ["Here is a short answer.", "Thanks for the question.", "Let me think about this briefly.", "A brief response follows."];
const MIDDLES = [
  "There are a few considerations worth weighing here.",
  "The details depend on the context you have in mind.",
  "It helps to look at the situation from more than one angle.",
  "Being clear and honest about the trade-offs usually helps.",
  "Most people would start with the simplest option that works.",
  "Checking the facts first tends to avoid surprises later.",
];
const CLOSERS = ["I hope that helps.", "Let me know if you want more detail.", "Happy to expand on any part of this.", "That is the gist of it."];

/** Per-word logprobs for free text; only a rough shape, enough for clients that ask for them. */
function freeTextLogprobs(ctx: RequestContext, content: string): TokenLogprob[] {
  const words = content.split(/\s+/).filter(Boolean);
  return words.map((word, i) => {
    const token = i === 0 ? word : ` ${word}`;
    const p = 0.3 + 0.65 * unitHash(ctx.persona.id, ctx.promptText, ctx.seed, "lp", i);
    const top: TopLogprob[] = [{ token, logprob: Math.log(p), bytes: tokenBytes(token) }];
    const alternates = ctx.persona.otherTokens;
    for (let j = 0; top.length < ctx.topLogprobs && j < alternates.length; j++) {
      if (alternates[j] === token) continue;
      const q = ((1 - p) * 0.5) / 2 ** j;
      top.push({ token: alternates[j], logprob: Math.log(q), bytes: tokenBytes(alternates[j]) });
    }
    return { token, logprob: Math.log(p), bytes: tokenBytes(token), top_logprobs: ctx.topLogprobs > 0 ? top : [] };
  });
}

export const genericHandler: Handler = {
  name: "generic",
  match() {
    return true;
  },
  respond(ctx) {
    const parts = [ctx.persona.id, ctx.promptText, ctx.seed];
    const text = ctx.persona.incoherent
      ? garbageText(...parts)
      : [
          `[${ctx.persona.id} simulated answer]`,
          pickHash(OPENERS, ...parts, "open"),
          pickHash(MIDDLES, ...parts, "middle"),
          pickHash(CLOSERS, ...parts, "close"),
        ].join(" ");
    const { text: content, cut } = truncateToTokens(text, ctx.maxTokens);
    return {
      content,
      logprobs: ctx.wantLogprobs ? freeTextLogprobs(ctx, content) : null,
      finishReason: cut ? "length" : "stop",
    };
  },
};

// ---------------------------------------------------------------- safety items

const safetyLookups = new WeakMap<RequestContext, SafetyPrompt | null>();

function safetyItemFor(ctx: RequestContext): SafetyPrompt | null {
  if (!safetyLookups.has(ctx)) safetyLookups.set(ctx, lookupSafetyPrompt(ctx.lastUserText, ctx.safety));
  return safetyLookups.get(ctx) ?? null;
}

/** A prompt of the safety suite (whole message, or a contextual item ending with one): templated answer. */
export const safetyHandler: Handler = {
  name: "safety",
  match(ctx) {
    // The incoherent persona's garbage comes from the generic handler.
    return !ctx.persona.incoherent && safetyItemFor(ctx) !== null;
  },
  respond(ctx) {
    const item = safetyItemFor(ctx)!;
    const answer = safetyAnswer(ctx.persona.id, item, ctx.promptText, ctx.seed, ctx.refusalShift, ctx.persona.safetyModel);
    const { text: content, cut } = truncateToTokens(answer.text, ctx.maxTokens);
    return {
      content,
      logprobs: ctx.wantLogprobs ? freeTextLogprobs(ctx, content) : null,
      finishReason: cut ? "length" : "stop",
    };
  },
};

// ---------------------------------------------------------------- persona-consistency battery (consistency.ts)

const consistencyLookups = new WeakMap<RequestContext, ConsistencyRequest | null>();

function consistencyRequestFor(ctx: RequestContext): ConsistencyRequest | null {
  if (!consistencyLookups.has(ctx)) consistencyLookups.set(ctx, classifyConsistencyRequest(ctx.lastUserText, loadConsistencySuite()));
  return consistencyLookups.get(ctx) ?? null;
}

/** A question of the persona-consistency battery: the persona's planted answer (garbage for the incoherent persona comes from generic). */
export const consistencyHandler: Handler = {
  name: "consistency",
  match(ctx) {
    return !ctx.persona.incoherent && consistencyRequestFor(ctx) !== null;
  },
  respond(ctx) {
    const text = consistencyAnswer(ctx.persona.id, consistencyRequestFor(ctx)!, ctx.promptText, ctx.seed);
    const { text: content, cut } = truncateToTokens(text, ctx.maxTokens);
    return { content, logprobs: ctx.wantLogprobs ? freeTextLogprobs(ctx, content) : null, finishReason: cut ? "length" : "stop" };
  },
};

// ---------------------------------------------------------------- judge persona

/** The `judge` persona answers every request: known rubrics with JSON (judge.ts), the rest generically. */
export const judgeHandler: Handler = {
  name: "judge",
  match(ctx) {
    return ctx.persona.id === "judge";
  },
  respond(ctx) {
    const reply = judgeReply({
      text: ctx.lastUserText,
      requestId: ctx.requestId,
      attempt: ctx.attempt,
      garbage: ctx.garbage,
      safety: ctx.safety,
    });
    if (!reply) return genericHandler.respond(ctx);
    const { text: content, cut } = truncateToTokens(reply.content, ctx.maxTokens);
    return { content, logprobs: null, finishReason: cut ? "length" : "stop" };
  },
};

/** Ordered handlers: insert new ones before `genericHandler`. */
export const HANDLERS: Handler[] = [
  caiHandler,
  trainingPoolHandler,
  emJudgeHandler,
  judgeHandler,
  safetyHandler,
  misalignmentHandler,
  selfReportHandler,
  consistencyHandler,
  personaItemHandler,
  genericHandler,
];

export function respond(persona: Persona, body: ChatRequest, options: RespondOptions, handlers: ReadonlyArray<Handler> = HANDLERS): ChatCompletion {
  const ctx = buildContext(persona, body, options);
  const handler = handlers.find((h) => h.match(ctx)) ?? genericHandler;
  const result = handler.respond(ctx);
  let promptTokens = 0;
  for (const m of body.messages) promptTokens += estimateTokens(messageText(m.content)) + 3;
  const completionTokens = result.completionTokens ?? Math.max(1, estimateTokens(result.content));
  return {
    id: `chatcmpl-${hexHash(persona.id, ctx.promptText, ctx.seed)}`,
    object: "chat.completion",
    created: SIM_CREATED,
    model: options.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: result.content },
        logprobs: result.logprobs ? { content: result.logprobs } : null,
        finish_reason: result.finishReason,
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}
