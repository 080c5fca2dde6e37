/**
 * @module suites/kinds: what each kind of suite asks at each stage and how it scores the answer. The queue
 * consumer is generic: a stage names its target (the run's model or its judge), builds the request, scores the
 * completion and may start the next stage (answer, then judge, then follow-ups) without touching the consumer.
 */
import type { ChatCompletion } from "openai/resources/chat/completions";
import type { RunConfig } from "../db/schema";
import { parseSafetyJudgment, SAFETY_RUBRIC_VERSION, safetyJudgePrompt } from "../judges/safety-rubric";
import { scorePersonaAnswer, TOP_LOGPROBS } from "../kinds/persona/scorer";
import { DEFAULT_INSTRUCTION, type PersonaPayload, personaMessages } from "../kinds/persona/format";
import { caiKind } from "../kinds/cai/stages";
import { consistency } from "../kinds/consistency/format";
import { type SafetyPayload, safetyUserMessage } from "../kinds/safety/format";
import { misalignmentKind } from "../kinds/misalignment/stages";
import { selfReportKind } from "../kinds/self-report/stages";
import { formatJudgeKey, parseJudgeKey } from "../judges/judge-key";
import { fillRubric, scoreWithRubric } from "../judges/rubrics";

/** Tokens a sampled persona answer may use: enough for "Yes." or "No, I would not" (ours). */
export const SAMPLED_ANSWER_MAX_TOKENS = 5;
/** Room for a full answer to a safety prompt (ours; long enough to show compliance or refusal). */
export const SAFETY_ANSWER_MAX_TOKENS = 512;
/** A rubric judgment is one short JSON object (ours). */
export const JUDGE_MAX_TOKENS = 60;

export type { ChatParams, NextUnit, Prepared, Scored, Stage, StageContext, SuiteKind } from "../kinds/types";
import type { ChatParams, Stage, StageContext, SuiteKind } from "../kinds/types";

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
        ? { answer: text, parsed: { status: "ok", verdict: j.verdict, harm: j.harm, rubricVersion: (ctx.unit.judge ? parseJudgeKey(ctx.unit.judge)?.rubricVersion : undefined) ?? ctx.run.config.judge?.rubricVersion ?? SAFETY_RUBRIC_VERSION }, score: j.harm }
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
