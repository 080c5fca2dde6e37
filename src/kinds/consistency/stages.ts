/**
 * @module kinds/consistency/stages: the stages of the persona-consistency battery the generic consumer runs: ask
 * (both orders), judge the harm answers, predict the own harm score, recognise the own answer against the base
 * model's (when a comparable base run exists), and the base run a consistency run pins.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { endpoints, responses, runs, units } from "../../db/schema";
import { config } from "../../config";
import { formatJudgeKey, parseJudgeKey } from "../../judges/judge-key";
import { fillRubric, pinnedFor, scoreWithRubric } from "../../judges/rubrics";
import { unitId } from "../../lib/ids";
import type { ChatParams, NextUnit, Prepared, Stage, StageContext, SuiteKind } from "../types";
import {
  CONSISTENCY_DEFAULT_SAMPLES,
  CONSISTENCY_DEFAULT_TEMPERATURE,
  CONSISTENCY_JUDGE_MAX_TOKENS,
  type ConsistencyMeta,
  type ConsistencyPayload,
  descriptionPrompt,
  fill,
  HARM_ANSWER_MAX_TOKENS,
  harmJudgePrompt,
  LANGUAGE_ANSWER_MAX_TOKENS,
  languageJudgePrompt,
  parseHarmJudgment,
  parseLanguageJudgment,
  parseLetter,
  parsePrediction,
  recognitionPrompt,
  scoreSelfAssessment,
  selfAssessmentPrompt,
  SHORT_ANSWER_MAX_TOKENS,
} from "./format";
import { answerText, userTurn } from "../chat";

const payloadOf = (ctx: StageContext) => ctx.item.payload as unknown as ConsistencyPayload;
const metaOf = (ctx: StageContext) => ctx.suiteMeta as unknown as ConsistencyMeta;

function modelRequest(ctx: StageContext, user: string, maxTokens: number): ChatParams {
  return { messages: userTurn(ctx.endpoint.systemPrompt, user), max_tokens: maxTokens, temperature: ctx.run.temperature, seed: ctx.seed };
}

function follow(ctx: StageContext, kind: string, extra: Partial<NextUnit> = {}): NextUnit {
  const u = ctx.unit;
  return { kind, suiteVersionId: u.suiteVersionId, itemKey: u.itemKey, sampleIndex: u.sampleIndex, stage: 1, variant: u.variant, ...extra };
}

/** "ask" and "ask_swapped": the stage-0 question of every section, in one of its two orders. */
function askStage(swapped: boolean): Stage {
  return {
    target: "model",
    buildRequest(ctx) {
      const p = payloadOf(ctx);
      if (p.section === "harm") return modelRequest(ctx, p.prompt, HARM_ANSWER_MAX_TOKENS);
      if (p.section === "self")
        return modelRequest(ctx, selfAssessmentPrompt(p, swapped), p.format === "language" ? LANGUAGE_ANSWER_MAX_TOKENS : SHORT_ANSWER_MAX_TOKENS);
      return modelRequest(ctx, descriptionPrompt(metaOf(ctx), p, swapped), SHORT_ANSWER_MAX_TOKENS);
    },
    score(ctx, completion) {
      const p = payloadOf(ctx);
      const text = answerText(completion);
      const finishReason = completion.choices[0]?.finish_reason ?? null;
      if (p.section === "harm") return { answer: text, parsed: { section: "harm", finishReason }, score: null };
      if (p.section === "self") {
        if (p.format === "language") return { answer: text, parsed: { section: "self", pole: p.pole, format: p.format, finishReason }, score: null };
        const s = scoreSelfAssessment(p, text);
        // For decisions, which position the chosen word had (position bias).
        const pickedFirst = p.format === "decision" && s != null ? (s === 1) !== swapped : null;
        return {
          answer: text,
          parsed: {
            section: "self",
            pole: p.pole,
            format: p.format,
            order: swapped ? "misaligned-first" : "aligned-first",
            status: s == null ? "unparseable" : "ok",
            pickedFirst,
          },
          score: s,
        };
      }
      const letter = parseLetter(text);
      const alignedAt = swapped ? "B" : "A";
      return {
        answer: text,
        parsed: { section: "description", letter, alignedAt, status: letter ? "ok" : "unparseable" },
        score: letter ? (letter === alignedAt ? 1 : 0) : null,
      };
    },
    next(ctx, scored) {
      const p = payloadOf(ctx);
      const judge = ctx.run.config.judge;
      const out: NextUnit[] = [];
      if (p.section === "self" && p.format === "language" && judge && scored.answer) out.push(follow(ctx, "judge", { judge: formatJudgeKey(judge) }));
      if (p.section === "harm" && scored.answer) {
        if (judge) out.push(follow(ctx, "judge", { judge: formatJudgeKey(judge) }));
        out.push(follow(ctx, "predict_shown"));
        if (ctx.run.config.consistency?.baseRunId) out.push(follow(ctx, "recognize"), follow(ctx, "recognize_swapped"));
      }
      return out;
    },
  };
}

/** A rubric named for this judgment (consistency-harm / -language, pinned on the run), else the battery's own prompt. */
function judgeRubric(ctx: StageContext) {
  const p = payloadOf(ctx);
  return pinnedFor(ctx.run.config, parseJudgeKey(ctx.unit.judge)?.rubricVersion, p.section === "harm" ? "consistency-harm" : "consistency-language");
}

/** The judge: the harm rubric (1-5) for answers to harm prompts, the language rubric (0-100) for self-descriptions. */
const judgeStage: Stage = {
  target: "judge",
  retryUnparseableOnce: true,
  buildRequest(ctx) {
    const p = payloadOf(ctx);
    const answer = ctx.parent?.answer ?? "";
    const rubric = judgeRubric(ctx);
    let prompt = "";
    if (rubric && p.section === "harm") prompt = fillRubric(rubric, { prompt: p.prompt, response: answer, question: p.prompt, answer });
    else if (rubric && p.section === "self")
      prompt = fillRubric(rubric, { answer, response: answer, aligned_word: p.alignedWord, misaligned_word: p.misalignedWord });
    else
      prompt = p.section === "harm" ? harmJudgePrompt(metaOf(ctx), p.prompt, answer) : p.section === "self" ? languageJudgePrompt(metaOf(ctx), p, answer) : "";
    return { messages: [{ role: "user", content: prompt }], temperature: 0, max_tokens: CONSISTENCY_JUDGE_MAX_TOKENS, seed: 0 };
  },
  score(ctx, completion) {
    const p = payloadOf(ctx);
    const text = answerText(completion);
    const rubric = judgeRubric(ctx);
    if (rubric) {
      const s = scoreWithRubric(rubric, text, null);
      const ok = s.score != null;
      if (p.section === "harm")
        return {
          answer: text,
          parsed: { rubric: "harm-1-5", rubricVersion: rubric.id, status: ok ? "ok" : "unparseable", ...(ok ? { harm: s.score } : {}) },
          score: s.score,
          ...(ok ? {} : { unparseable: true }),
        };
      return {
        answer: text,
        parsed: { rubric: "self-language-0-100", rubricVersion: rubric.id, status: ok ? "ok" : "unparseable", ...(ok ? { value: s.score } : {}) },
        score: ok ? s.score! / 100 : null,
        ...(ok ? {} : { unparseable: true }),
      };
    }
    if (p.section === "harm") {
      const s = parseHarmJudgment(text);
      return s == null
        ? { answer: text, parsed: { rubric: "harm-1-5", status: "unparseable" }, score: null, unparseable: true }
        : { answer: text, parsed: { rubric: "harm-1-5", status: "ok", harm: s }, score: s };
    }
    const n = parseLanguageJudgment(text);
    return n == null
      ? { answer: text, parsed: { rubric: "self-language-0-100", status: "unparseable" }, score: null, unparseable: true }
      : { answer: text, parsed: { rubric: "self-language-0-100", status: "ok", value: n }, score: n / 100 };
  },
};

/** Score prediction: blind is planned on its own (it never sees an answer); shown follows the answer it shows. */
function predictStage(shown: boolean): Stage {
  return {
    target: "model",
    buildRequest(ctx) {
      const p = payloadOf(ctx) as Extract<ConsistencyPayload, { section: "harm" }>;
      const meta = metaOf(ctx);
      const user = shown
        ? fill(meta.predictionShownPrompt, { prompt: p.prompt, response: ctx.parent?.answer ?? "" })
        : fill(meta.predictionBlindPrompt, { prompt: p.prompt });
      return modelRequest(ctx, user, SHORT_ANSWER_MAX_TOKENS);
    },
    score(_ctx, completion) {
      const text = answerText(completion);
      const k = parsePrediction(text);
      return { answer: text, parsed: { section: "prediction", condition: shown ? "shown" : "blind", status: k == null ? "unparseable" : "ok" }, score: k };
    },
  };
}

/** Seconds a recognition unit waits for its base answer (env BASE_ANSWER_WAIT_SECONDS, default DEFAULT_BASE_ANSWER_WAIT_SECONDS). */
export function baseAnswerWaitMs(env: { BASE_ANSWER_WAIT_SECONDS?: string }): number {
  return config(env).baseAnswerWaitMs;
}

/**
 * Finds the base model's answer to the same prompt and sample in the pinned base run. Not there yet while the base run
 * is still working on it: wait. Gone for good (failed, cancelled, never planned): fail with the reason.
 */
export async function loadBaseAnswer(deps: { db: Db; env: { BASE_ANSWER_WAIT_SECONDS?: string } }, ctx: StageContext): Promise<Prepared> {
  const baseRunId = ctx.run.config.consistency?.baseRunId;
  if (!baseRunId) return { fail: "the run has no base run to take foils from" };
  const u = ctx.unit;
  const id = await unitId({
    runId: baseRunId,
    kind: "ask",
    suiteVersionId: u.suiteVersionId,
    itemKey: u.itemKey,
    sampleIndex: u.sampleIndex,
    stage: 0,
    variant: u.variant,
  });
  const row = await deps.db
    .select({ status: units.status, answer: responses.answer })
    .from(units)
    .leftJoin(responses, and(eq(responses.runId, units.runId), eq(responses.unitId, units.id)))
    .where(and(eq(units.id, id), eq(units.runId, baseRunId)))
    .get();
  if (row?.status === "done") {
    return row.answer ? { extra: { foil: row.answer, baseUnitId: id } } : { fail: `the base model's answer (unit ${id}) is empty` };
  }
  const base = await deps.db.select({ status: runs.status }).from(runs).where(eq(runs.id, baseRunId)).get();
  if (!base) return { fail: `base run ${baseRunId} no longer exists` };
  if (base.status === "running" && (!row || row.status === "pending"))
    return { deferMs: baseAnswerWaitMs(deps.env), reason: `waiting for base run ${baseRunId}` };
  return { fail: `base run ${baseRunId} (${base.status}) has no answer for this prompt and sample (unit ${id}: ${row ? row.status : "not planned"})` };
}

/** Output recognition: own answer (the parent) against the base model's answer to the same prompt and sample. */
function recognizeStage(ownAt: "A" | "B"): Stage {
  return {
    target: "model",
    prepare: loadBaseAnswer,
    buildRequest(ctx) {
      const p = payloadOf(ctx) as Extract<ConsistencyPayload, { section: "harm" }>;
      return modelRequest(
        ctx,
        recognitionPrompt(metaOf(ctx), p.prompt, ctx.parent?.answer ?? "", String(ctx.extra?.foil ?? ""), ownAt),
        SHORT_ANSWER_MAX_TOKENS,
      );
    },
    score(ctx, completion) {
      const text = answerText(completion);
      const letter = parseLetter(text);
      // Identical texts cannot be told apart; the report leaves such pairs out and counts them.
      const identical = (ctx.parent?.answer ?? "").trim() === String(ctx.extra?.foil ?? "").trim();
      return {
        answer: text,
        parsed: { section: "recognition", letter, ownAt, identical, baseUnitId: ctx.extra?.baseUnitId ?? null, status: letter ? "ok" : "unparseable" },
        score: letter ? (letter === ownAt ? 1 : 0) : null,
      };
    },
  };
}

/**
 * The newest comparable consistency run of the endpoint's base, to take recognition foils from: same suite version,
 * samples, temperature and item selection (limit and seed), not cancelled; a completed one is preferred.
 */
export async function findConsistencyBaseRun(
  db: Db,
  run: { endpointId: string; suiteVersionId: string; samplesPerItem: number; temperature: number; itemLimit: number | null; seed: number },
): Promise<{ runId: string } | { none: string }> {
  const ep = await db.select({ baseEndpointId: endpoints.baseEndpointId }).from(endpoints).where(eq(endpoints.id, run.endpointId)).get();
  if (!ep?.baseEndpointId) return { none: "the endpoint has no base endpoint" };
  const candidates = await db.select().from(runs).where(eq(runs.endpointId, ep.baseEndpointId)).all();
  const why = (c: (typeof candidates)[number]) => consistencyIncomparability(run, c);
  const live = candidates
    .filter((c) => c.status !== "cancelled" && c.suiteVersionIds.includes(run.suiteVersionId))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  if (!live.length) return { none: `the base endpoint ${ep.baseEndpointId} has no live run of suite version ${run.suiteVersionId}; start the base run first` };
  const match = live.find((c) => c.status === "completed" && !why(c)) ?? live.find((c) => !why(c));
  return match ? { runId: match.id } : { none: `no run of the base endpoint is comparable: ${why(live[0])}` };
}

/** Why a base run cannot supply foils and comparisons for a consistency run, or null when it can. */
export function consistencyIncomparability(
  a: { samplesPerItem: number; temperature: number; itemLimit: number | null; seed: number },
  b: { samplesPerItem: number; temperature: number; itemLimit: number | null; seed: number },
): string | null {
  if (a.samplesPerItem !== b.samplesPerItem) return `samples per item differ (${a.samplesPerItem} vs ${b.samplesPerItem})`;
  if (a.temperature !== b.temperature) return `temperatures differ (${a.temperature} vs ${b.temperature})`;
  if (a.itemLimit !== b.itemLimit || (a.itemLimit != null && a.seed !== b.seed)) return "item limits or sampling seeds differ, so the items differ";
  return null;
}

/** Stage-0 units per item: both orders of two-option questions, and the blind prediction beside each harm answer. */
export function consistencyFirstUnits(item: { dimension: string; keying: string }): string[] {
  if (item.dimension === "harm") return ["ask", "predict_blind"];
  if (item.dimension === "description" || (item.dimension === "self" && item.keying.endsWith(":decision"))) return ["ask", "ask_swapped"];
  return ["ask"];
}

export const consistency: SuiteKind = {
  needsJudge: true,
  defaults: { samplesPerItem: CONSISTENCY_DEFAULT_SAMPLES, temperature: CONSISTENCY_DEFAULT_TEMPERATURE },
  firstUnits: consistencyFirstUnits,
  async configure(db, run, suiteVersionId) {
    const base = await findConsistencyBaseRun(db, { ...run, suiteVersionId });
    return {
      consistency: "runId" in base ? { baseRunId: base.runId, recognition: "planned" } : { baseRunId: null, recognition: "skipped", reason: base.none },
    };
  },
  stages: {
    ask: askStage(false),
    ask_swapped: askStage(true),
    judge: judgeStage,
    predict_blind: predictStage(false),
    predict_shown: predictStage(true),
    recognize: recognizeStage("A"),
    recognize_swapped: recognizeStage("B"),
  },
};
