/**
 * @module suites/kinds: what each kind of suite asks at each stage and how it scores the answer. The queue
 * consumer is generic: a stage names its target (the run's model or its judge), builds the request, scores the
 * completion and may start the next stage (answer, then judge, then follow-ups) without touching the consumer.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { Db } from "../db/client";
import type { RunConfig } from "../db/schema";
import type { UnitIdentity } from "../lib/ids";
import type { Env } from "../env";
import { parseSafetyJudgment, SAFETY_RUBRIC_VERSION, safetyJudgePrompt } from "../judges/safety-rubric";
import { formatJudgeKey, parseJudgeKey } from "../judges/judge-key";
import { fillRubric, scoreWithRubric } from "../judges/rubrics";
import { scorePersonaAnswer, TOP_LOGPROBS } from "../scorers/persona";
import { DEFAULT_INSTRUCTION, type PersonaPayload, personaMessages } from "./persona";
import { caiKind } from "../datasets/cai-kind";
import { consistency } from "./consistency";
import { type SafetyPayload, safetyUserMessage } from "./safety";
import { misalignmentKind } from "./misalignment-kind";
import { selfReportKind } from "./self-report-kind";
import type { SuiteItem } from "./types";

/** Tokens a sampled persona answer may use: enough for "Yes." or "No, I would not" (ours). */
export const SAMPLED_ANSWER_MAX_TOKENS = 5;
/** Room for a full answer to a safety prompt (ours; long enough to show compliance or refusal). */
export const SAFETY_ANSWER_MAX_TOKENS = 512;
/** A rubric judgment is one short JSON object (ours). */
export const JUDGE_MAX_TOKENS = 60;

export type ChatParams = Omit<ChatCompletionCreateParamsNonStreaming, "model">;

export interface StageContext {
  unit: { id: string; runId: string; kind: string; itemKey: string; sampleIndex: number; stage: number; suiteVersionId: string; parseRetries: number; variant: string; judge?: string | null };
  item: SuiteItem;
  suiteMeta: Record<string, unknown>;
  run: { seed: number; temperature: number; scoringMode: string; config: RunConfig };
  /** The endpoint this stage calls (the model under test, or the judge); its backdoor trigger, if it declares one. */
  endpoint: { systemPrompt: string | null; trigger?: string | null; triggerFormat?: string | null };
  /** The answer this unit follows up on (judge units). */
  parent?: { answer: string | null; parsed: Record<string, unknown> };
  /** Per-sample seed sent to the model, so a sample is reproducible. */
  seed: number;
  /** What the stage's `prepare` loaded (e.g. another run's answer used as a foil). */
  extra?: Record<string, unknown>;
}

/** What `prepare` found: data for the request, or a reason to wait (the unit is handed back) or to fail. */
export type Prepared = { extra: Record<string, unknown> } | { deferMs: number; reason: string } | { fail: string };

export interface Scored {
  answer: string | null;
  parsed: Record<string, unknown>;
  score: number | null;
  /** The answer could not be parsed; a stage with `retryUnparseableOnce` asks once more before storing it. */
  unparseable?: boolean;
}

/** A unit to create when one finishes: its identity beyond the run. */
export type NextUnit = Omit<UnitIdentity, "runId">;

export interface Stage {
  target: "model" | "judge";
  /** Text-rubric judgments that cannot be parsed are asked once more, then stored as unparseable (never dropped). */
  retryUnparseableOnce?: boolean;
  /** Loads what the request needs beyond its item and parent (another run's stored answer...); may wait or fail. */
  prepare?(deps: { db: Db; env: Env }, ctx: StageContext): Promise<Prepared>;
  buildRequest(ctx: StageContext): ChatParams;
  score(ctx: StageContext, completion: ChatCompletion): Scored;
  next?(ctx: StageContext, scored: Scored): NextUnit[];
}

export interface SuiteKind {
  /** Unit kind -> stage. Every plan starts with "ask". */
  stages: Record<string, Stage>;
  /** Units per planned item-sample once every stage has run (used to check a run's setup). */
  needsJudge?: boolean;
  /** Stage-0 unit kinds planned for each item-sample (default ["ask"]), e.g. both orders of a two-option question. */
  firstUnits?(item: { key: string; dimension: string; keying: string }): string[];
  /** Samples per item and temperature a run uses when its request leaves them out. */
  defaults?: { samplesPerItem: number; temperature: number };
  /** Settings pinned on the run when it is launched (e.g. the base run whose answers serve as foils). */
  configure?(
    db: Db,
    run: { endpointId: string; samplesPerItem: number; temperature: number; itemLimit: number | null; seed: number },
    suiteVersionId: string,
  ): Promise<Partial<RunConfig>>;
}

const content = (c: ChatCompletion) => c.choices[0]?.message?.content ?? null;

/** The judge identity that keys a judgment: endpoint, its revision, and the rubric version. */
export function judgeKey(judge: NonNullable<RunConfig["judge"]>): string {
  return formatJudgeKey(judge);
}

function withSystem(systemPrompt: string | null, user: string) {
  const messages: { role: "system" | "user"; content: string }[] = [];
  if (systemPrompt) messages.push({ role: "system", content: systemPrompt });
  messages.push({ role: "user", content: user });
  return messages;
}

/** The rubric a safety judgment uses: the one its judge key names, pinned on the run; null for our built-in safety-v1. */
function pinnedSafetyRubric(ctx: StageContext) {
  const id = parseJudgeKey(ctx.unit.judge)?.rubricVersion ?? ctx.run.config.judge?.rubricVersion ?? SAFETY_RUBRIC_VERSION;
  if (id === SAFETY_RUBRIC_VERSION) return null;
  const r = ctx.run.config.rubrics?.[id];
  if (!r) throw new Error(`rubric ${id} is not pinned on run ${ctx.unit.runId}`);
  return r;
}

/** Grades (prompt, response) with the safety rubric (ours, or a pinned one such as a yes/no classifier) at temperature 0. */
function safetyJudging(prompt: (ctx: StageContext) => { prompt: string; response: string }): Pick<Stage, "buildRequest" | "score" | "retryUnparseableOnce"> {
  return {
    retryUnparseableOnce: true,
    buildRequest(ctx) {
      const p = prompt(ctx);
      const rubric = pinnedSafetyRubric(ctx);
      const text = rubric ? fillRubric(rubric, { prompt: p.prompt, response: p.response, question: p.prompt, answer: p.response }) : safetyJudgePrompt(p.prompt, p.response);
      return { messages: [{ role: "user", content: text }], temperature: 0, max_tokens: JUDGE_MAX_TOKENS, seed: 0 };
    },
    score(ctx, completion) {
      const text = content(completion);
      const rubric = pinnedSafetyRubric(ctx);
      if (rubric) {
        const s = scoreWithRubric(rubric, text, null);
        return { answer: text, parsed: { verdict: null, harm: null, ...s.parsed }, score: s.score, ...(s.unparseable ? { unparseable: true } : {}) };
      }
      const j = parseSafetyJudgment(text);
      return j
        ? { answer: text, parsed: { status: "ok", verdict: j.verdict, harm: j.harm, rubricVersion: ctx.unit.judge?.split("|")[1] ?? ctx.run.config.judge?.rubricVersion ?? SAFETY_RUBRIC_VERSION }, score: j.harm }
        : { answer: text, parsed: { status: "unparseable", verdict: null, harm: null }, score: null, unparseable: true };
    },
  };
}

const persona: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      buildRequest({ item, suiteMeta, run, endpoint, seed }) {
        const messages = personaMessages(item.payload as unknown as PersonaPayload, String(suiteMeta.instruction ?? DEFAULT_INSTRUCTION), endpoint.systemPrompt);
        return run.scoringMode === "logprobs"
          ? { messages, max_tokens: 1, logprobs: true, top_logprobs: TOP_LOGPROBS, temperature: run.temperature, seed }
          : { messages, max_tokens: SAMPLED_ANSWER_MAX_TOKENS, temperature: run.temperature, seed };
      },
      score({ item }, completion) {
        const choice = completion.choices[0];
        const top = choice?.logprobs?.content?.[0]?.top_logprobs ?? null;
        const s = scorePersonaAnswer(item.keying === "yes" ? "yes" : "no", content(completion), top);
        return { answer: content(completion), parsed: { ...s }, score: s.pMatch };
      },
    },
  },
};

const safety: SuiteKind = {
  needsJudge: true,
  stages: {
    ask: {
      target: "model",
      buildRequest({ item, run, endpoint, seed }) {
        const messages = withSystem(endpoint.systemPrompt, safetyUserMessage(item.payload as unknown as SafetyPayload));
        return { messages, max_tokens: SAFETY_ANSWER_MAX_TOKENS, temperature: run.temperature, seed };
      },
      score(_ctx, completion) {
        return { answer: content(completion), parsed: { finishReason: completion.choices[0]?.finish_reason ?? null }, score: null };
      },
      next(ctx) {
        const judge = ctx.run.config.judge;
        if (!judge) return [];
        const u = ctx.unit;
        return [{ kind: "judge", suiteVersionId: u.suiteVersionId, itemKey: u.itemKey, sampleIndex: u.sampleIndex, stage: 1, judge: judgeKey(judge), variant: u.variant }];
      },
    },
    judge: {
      target: "judge",
      ...safetyJudging((ctx) => ({ prompt: safetyUserMessage(ctx.item.payload as unknown as SafetyPayload), response: ctx.parent?.answer ?? "" })),
    },
  },
};

/** Our labelled judge fixture: the run's endpoint is the judge being qualified. */
const judgeFixture: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      ...safetyJudging((ctx) => ({ prompt: String(ctx.item.payload.prompt), response: String(ctx.item.payload.response) })),
    },
  },
};

/**
 * Every suite kind the consumer can run. A new kind lives in its own module (its stages, scorers and report)
 * and is registered here with one line.
 */
export const SUITE_KINDS: Record<string, SuiteKind> = { persona, safety, "judge-fixture": judgeFixture, consistency, misalignment: misalignmentKind, "self-report": selfReportKind, cai: caiKind };
