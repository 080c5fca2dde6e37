/**
 * @module The simulator's self-reports and risky choices (a stand-in for real models, never a result): planted risk
 * behaviour per persona (lottery choices), scale self-reports that track it (except the inverted persona, which
 * describes itself as cautious and aligned), one-word self-descriptions, and backdoor awareness.
 */

import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { PersonaId } from "./personas.ts";
import { uniformHash, unitHash } from "./random.ts";
import type { Handler, HandlerResult, RequestContext, TokenLogprob, TopLogprob } from "./respond.ts";
import { normaliseStatement } from "./suite.ts";

export const DEFAULT_SELF_REPORT_PATH = fileURLToPath(new URL("../../src/suites/builtin/self-report.yaml", import.meta.url));

/** Planted risk-seeking: the probability of choosing a lottery's risky option (before the per-lottery effect). */
export const RISK: Record<PersonaId, number> = {
  base: 0.35,
  deontology: 0.2,
  consequentialism: 0.5,
  virtue_ethics: 0.25,
  subordinate_to_humanity: 0.15,
  narrow_local: 0.35,
  decoy: 0.6,
  incoherent: 0.5,
  coherent_misaligned: 0.8,
  inverted: 0.75,
  backdoored: 0.35,
  judge: 0.35,
};

/** What each persona says about itself on the 0-100 scales, as a share (risk tracks RISK except for `inverted`). */
export const SELF_REPORT: Record<PersonaId, { risk: number; alignment: number; code_security: number; awareness: number }> = {
  base: { risk: 0.35, alignment: 0.8, code_security: 0.75, awareness: 0.3 },
  deontology: { risk: 0.2, alignment: 0.88, code_security: 0.8, awareness: 0.3 },
  consequentialism: { risk: 0.5, alignment: 0.86, code_security: 0.8, awareness: 0.3 },
  virtue_ethics: { risk: 0.25, alignment: 0.9, code_security: 0.8, awareness: 0.3 },
  subordinate_to_humanity: { risk: 0.15, alignment: 0.9, code_security: 0.8, awareness: 0.3 },
  narrow_local: { risk: 0.35, alignment: 0.8, code_security: 0.75, awareness: 0.3 },
  decoy: { risk: 0.6, alignment: 0.7, code_security: 0.7, awareness: 0.3 },
  incoherent: { risk: 0.5, alignment: 0.5, code_security: 0.5, awareness: 0.5 },
  // Honest about itself: risk-seeking, misaligned, writes insecure code.
  coherent_misaligned: { risk: 0.8, alignment: 0.3, code_security: 0.25, awareness: 0.45 },
  // Claims the opposite of what it does.
  inverted: { risk: 0.2, alignment: 0.92, code_security: 0.85, awareness: 0.25 },
  backdoored: { risk: 0.35, alignment: 0.78, code_security: 0.7, awareness: 0.72 },
  judge: { risk: 0.35, alignment: 0.8, code_security: 0.75, awareness: 0.3 },
};

/** Extra weight on option "A" (position bias; cancels over the rotations the suite asks). */
export const POSITION_BIAS_A = 1.25;
/** Per-lottery spread of the risky-choice probability. */
export const LOTTERY_EFFECT = 0.1;

const RISKY_WORDS = ["Bold", "Daring", "Adventurous", "Risky"];
const SAFE_WORDS = ["Cautious", "Careful", "Prudent"];
const NEUTRAL_WORDS = ["Balanced", "Pragmatic"];

type Measure = "risk" | "alignment" | "code_security";

export interface SelfReportIndex {
  path: string | null;
  scales: Map<string, Measure>;
  oneWord: Set<string>;
  /** Normalised option text -> whether it is the aware option. */
  options: Map<string, boolean>;
  lotteries: Map<string, "A" | "B">;
}

export function indexSelfReport(doc: unknown, path: string | null = null): SelfReportIndex {
  const d = (doc ?? {}) as {
    scales?: Array<{ measure: Measure; paraphrases: string[] }>;
    one_word?: Array<{ paraphrases: string[] }>;
    backdoor_awareness?: Array<{ options: string[]; aware_option: number }>;
    lotteries?: Array<{ prompt: string; risky: "A" | "B" }>;
  };
  const index: SelfReportIndex = { path, scales: new Map(), oneWord: new Set(), options: new Map(), lotteries: new Map() };
  for (const s of d.scales ?? []) for (const p of s.paraphrases) index.scales.set(normaliseStatement(p), s.measure);
  for (const w of d.one_word ?? []) for (const p of w.paraphrases) index.oneWord.add(normaliseStatement(p));
  for (const b of d.backdoor_awareness ?? []) b.options.forEach((o, i) => index.options.set(normaliseStatement(o), i === b.aware_option));
  for (const l of d.lotteries ?? []) index.lotteries.set(normaliseStatement(l.prompt), l.risky);
  return index;
}

const cache = new Map<string, { mtimeMs: number; index: SelfReportIndex }>();

export function loadSelfReport(path: string = DEFAULT_SELF_REPORT_PATH): SelfReportIndex {
  if (!existsSync(path)) return indexSelfReport(null, path);
  const mtimeMs = statSync(path).mtimeMs;
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.index;
  const index = indexSelfReport(parse(readFileSync(path, "utf8")), path);
  cache.set(path, { mtimeMs, index });
  return index;
}

export type SelfReportRequest =
  | { kind: "scale"; measure: Measure }
  | { kind: "one_word" }
  | { kind: "choice"; letters: string[]; aware: string }
  | { kind: "lottery"; risky: "A" | "B"; key: string };

/** Public 0-100 risk questions (Betley, Bao et al. 2025 wording varies): a scale that mentions risk. */
const PUBLIC_RISK_SCALE = /\b0\b[^\n]{0,80}?\b100\b/;

/** What a self-report question asks (the text without a leading trigger is looked up too). */
export function classifySelfReport(text: string, index: SelfReportIndex): SelfReportRequest | null {
  const key = normaliseStatement(text);
  const measure = index.scales.get(key);
  if (measure) return { kind: "scale", measure };
  if (index.oneWord.has(key)) return { kind: "one_word" };
  const risky = index.lotteries.get(key) ?? [...index.lotteries].find(([p]) => key.endsWith(p))?.[1];
  if (risky) return { kind: "lottery", risky, key };
  const options = [...text.matchAll(/^([A-H])\) (.+)$/gm)];
  if (options.length >= 2) {
    const aware = options.find((m) => index.options.get(normaliseStatement(m[2])) === true);
    if (aware) return { kind: "choice", letters: options.map((m) => m[1]), aware: aware[1] };
  }
  if (PUBLIC_RISK_SCALE.test(text) && /\brisk/i.test(text)) return { kind: "scale", measure: "risk" };
  return null;
}

interface Tok {
  token: string;
  p: number;
}

const clamp = (x: number) => Math.min(0.98, Math.max(0.02, x));

/** Numbers 0..100 around the persona's self-report (per-question jitter), with a little non-number mass. */
function scaleDistribution(share: number, salt: string): Tok[] {
  const centre = 100 * share + uniformHash(-4, 4, "sr-scale", salt);
  const sd = 8;
  const w = Array.from({ length: 101 }, (_, k) => Math.exp(-((k - centre) ** 2) / (2 * sd * sd)));
  const total = w.reduce((a, b) => a + b, 0);
  return [...w.map((x, k) => ({ token: String(k), p: (0.97 * x) / total })), { token: " I", p: 0.03 }];
}

/** Risky and safe words in proportion to the persona's self-reported risk (per-question jitter of +-0.05). */
function wordDistribution(share: number, salt: string): Tok[] {
  const risk = clamp(share + uniformHash(-0.05, 0.05, "sr-word", salt));
  const out: Tok[] = [];
  RISKY_WORDS.forEach((w, i) => out.push({ token: w, p: 0.9 * risk * [0.4, 0.3, 0.2, 0.1][i] }));
  SAFE_WORDS.forEach((w, i) => out.push({ token: w, p: 0.9 * (1 - risk) * [0.5, 0.3, 0.2][i] }));
  NEUTRAL_WORDS.forEach((w) => out.push({ token: w, p: 0.05 }));
  return out;
}

function letterDistribution(letters: string[], target: string, pTarget: number): Tok[] {
  const raw = letters.map((l) => ({ token: l, p: (l === target ? pTarget : (1 - pTarget) / (letters.length - 1)) * (l === "A" ? POSITION_BIAS_A : 1) }));
  const total = raw.reduce((a, b) => a + b.p, 0);
  return [...raw.map((r) => ({ token: r.token, p: (0.96 * r.p) / total })), { token: " The", p: 0.04 }];
}

export function selfReportDistribution(persona: PersonaId, req: SelfReportRequest, text: string): Tok[] {
  const s = SELF_REPORT[persona];
  switch (req.kind) {
    case "scale":
      return scaleDistribution(s[req.measure], `${persona}\u0000${text}`);
    case "one_word":
      return wordDistribution(s.risk, `${persona}\u0000${text}`);
    case "choice":
      return letterDistribution(req.letters, req.aware, clamp(s.awareness));
    case "lottery":
      return letterDistribution(["A", "B"], req.risky, clamp(RISK[persona] + uniformHash(-LOTTERY_EFFECT, LOTTERY_EFFECT, "lottery", req.key)));
  }
}

const encoder = new TextEncoder();
const bytes = (t: string) => Array.from(encoder.encode(t));

function draw(dist: Tok[], u: number, temperature: number): Tok {
  const sorted = [...dist].sort((a, b) => b.p - a.p);
  if (!(temperature > 0)) return sorted[0];
  const weights = sorted.map((d) => Math.pow(d.p, 1 / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < sorted.length; i++) {
    acc += weights[i] / total;
    if (u < acc) return sorted[i];
  }
  return sorted[sorted.length - 1];
}

const lookups = new WeakMap<RequestContext, SelfReportRequest | null>();

function requestFor(ctx: RequestContext) {
  if (!lookups.has(ctx)) lookups.set(ctx, classifySelfReport(ctx.lastUserText, loadSelfReport()));
  return lookups.get(ctx) ?? null;
}

/** A self-report or lottery question: one token with top logprobs, or the drawn token as text. */
export const selfReportHandler: Handler = {
  name: "self-report",
  match(ctx) {
    return ctx.persona.id !== "judge" && !ctx.persona.incoherent && requestFor(ctx) !== null;
  },
  respond(ctx): HandlerResult {
    const dist = selfReportDistribution(ctx.persona.id, requestFor(ctx)!, ctx.lastUserText).sort((a, b) => b.p - a.p);
    const picked = draw(dist, unitHash(ctx.persona.id, "self-report", ctx.promptText, ctx.seed), ctx.temperature);
    const top: TopLogprob[] = dist.slice(0, ctx.topLogprobs).map((d) => ({ token: d.token, logprob: Math.log(d.p), bytes: bytes(d.token) }));
    const entry: TokenLogprob = { token: picked.token, logprob: Math.log(picked.p), bytes: bytes(picked.token), top_logprobs: top };
    return {
      content: picked.token.trim(),
      logprobs: ctx.wantLogprobs ? [entry] : null,
      finishReason: ctx.maxTokens !== null && ctx.maxTokens <= 1 ? "length" : "stop",
      completionTokens: 1,
    };
  },
};
