/**
 * @module kinds/safety/stages: a safety suite asks the model the prompt, then (when the run has a judge) grades the
 * answer with the safety rubric. `safetyJudging` is also the judge fixture's one stage (src/kinds/judge-fixture).
 */
import { formatJudgeKey, parseJudgeKey } from "../../judges/judge-key";
import { fillRubric, scoreWithRubric } from "../../judges/rubrics";
import { parseSafetyJudgment, SAFETY_RUBRIC_VERSION, safetyJudgePrompt } from "../../judges/safety-rubric";
import { type SafetyPayload, safetyUserMessage } from "./format";
import type { Stage, StageContext, SuiteKind } from "../types";
import { answerText, userTurn } from "../chat";

/** Room for a full answer to a safety prompt (ours; long enough to show compliance or refusal). */
export const SAFETY_ANSWER_MAX_TOKENS = 512;
/** A rubric judgment is one short JSON object (ours). */
export const JUDGE_MAX_TOKENS = 60;

/** The rubric a safety judgment uses: the one its judge key names, pinned on the run; null for our built-in safety-v1. */
function pinnedSafetyRubric(ctx: StageContext) {
  const id = parseJudgeKey(ctx.unit.judge)?.rubricVersion ?? ctx.run.config.judge?.rubricVersion ?? SAFETY_RUBRIC_VERSION;
  if (id === SAFETY_RUBRIC_VERSION) return null;
  const r = ctx.run.config.rubrics?.[id];
  if (!r) throw new Error(`rubric ${id} is not pinned on run ${ctx.unit.runId}`);
  return r;
}

/** Grades (prompt, response) with the safety rubric (ours, or a pinned one such as a yes/no classifier) at temperature 0. */
export function safetyJudging(
  prompt: (ctx: StageContext) => { prompt: string; response: string },
): Pick<Stage, "buildRequest" | "score" | "retryUnparseableOnce"> {
  return {
    retryUnparseableOnce: true,
    buildRequest(ctx) {
      const p = prompt(ctx);
      const rubric = pinnedSafetyRubric(ctx);
      const text = rubric
        ? fillRubric(rubric, { prompt: p.prompt, response: p.response, question: p.prompt, answer: p.response })
        : safetyJudgePrompt(p.prompt, p.response);
      return { messages: [{ role: "user", content: text }], temperature: 0, max_tokens: JUDGE_MAX_TOKENS, seed: 0 };
    },
    score(ctx, completion) {
      const text = answerText(completion);
      const rubric = pinnedSafetyRubric(ctx);
      if (rubric) {
        const s = scoreWithRubric(rubric, text, null);
        return { answer: text, parsed: { verdict: null, harm: null, ...s.parsed }, score: s.score, ...(s.unparseable ? { unparseable: true } : {}) };
      }
      const j = parseSafetyJudgment(text);
      return j
        ? {
            answer: text,
            parsed: {
              status: "ok",
              verdict: j.verdict,
              harm: j.harm,
              rubricVersion:
                (ctx.unit.judge ? parseJudgeKey(ctx.unit.judge)?.rubricVersion : undefined) ?? ctx.run.config.judge?.rubricVersion ?? SAFETY_RUBRIC_VERSION,
            },
            score: j.harm,
          }
        : { answer: text, parsed: { status: "unparseable", verdict: null, harm: null }, score: null, unparseable: true };
    },
  };
}

export const safetyKind: SuiteKind = {
  needsJudge: true,
  stages: {
    ask: {
      target: "model",
      buildRequest({ item, run, endpoint, seed }) {
        const messages = userTurn(endpoint.systemPrompt, safetyUserMessage(item.payload as unknown as SafetyPayload));
        return { messages, max_tokens: SAFETY_ANSWER_MAX_TOKENS, temperature: run.temperature, seed };
      },
      score(_ctx, completion) {
        return { answer: answerText(completion), parsed: { finishReason: completion.choices[0]?.finish_reason ?? null }, score: null };
      },
      next(ctx) {
        const judge = ctx.run.config.judge;
        if (!judge) return [];
        const u = ctx.unit;
        return [
          {
            kind: "judge",
            suiteVersionId: u.suiteVersionId,
            itemKey: u.itemKey,
            sampleIndex: u.sampleIndex,
            stage: 1,
            judge: formatJudgeKey(judge),
            variant: u.variant,
          },
        ];
      },
    },
    judge: {
      target: "judge",
      ...safetyJudging((ctx) => ({ prompt: safetyUserMessage(ctx.item.payload as unknown as SafetyPayload), response: ctx.parent?.answer ?? "" })),
    },
  },
};
