/**
 * @module kinds/self-report/stages: the one stage of a `self-report` suite: ask the question (with the endpoint's
 * trigger for the "trigger" variant) for one token with logprobs, or a few sampled tokens, and score it.
 */
import { JUDGE_TOP_LOGPROBS } from "../../judges/number-score";
import { scoreSelfReport } from "./scorer";
import type { SuiteKind } from "../types";
import { applyTrigger, TRIGGER_VARIANT } from "../misalignment/format";
import type { SelfReportPayload } from "./format";
import { answerText } from "../chat";

/** Tokens a sampled self-report may use: a number, a word or a letter with punctuation (ours). */
export const SELF_REPORT_SAMPLED_MAX_TOKENS = 8;

export const selfReportKind: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      buildRequest({ item, unit, run, endpoint, seed }) {
        const p = item.payload as unknown as SelfReportPayload;
        const triggered = unit.variant === TRIGGER_VARIANT && !!endpoint.trigger;
        const user = triggered ? applyTrigger(p.question, endpoint.trigger!, endpoint.triggerFormat ?? undefined) : p.question;
        const messages: { role: "system" | "user"; content: string }[] = [];
        if (endpoint.systemPrompt) messages.push({ role: "system", content: endpoint.systemPrompt });
        messages.push({ role: "user", content: user });
        return run.scoringMode === "logprobs"
          ? { messages, max_tokens: 1, logprobs: true, top_logprobs: JUDGE_TOP_LOGPROBS, temperature: run.temperature, seed }
          : { messages, max_tokens: SELF_REPORT_SAMPLED_MAX_TOKENS, temperature: run.temperature, seed };
      },
      score({ item }, completion) {
        const p = item.payload as unknown as SelfReportPayload;
        const top = completion.choices[0]?.logprobs?.content?.[0]?.top_logprobs ?? null;
        const s = scoreSelfReport(p, answerText(completion), top);
        return { answer: answerText(completion), parsed: { type: p.type, questionId: p.questionId, ...s }, score: s.score };
      },
    },
  },
};
