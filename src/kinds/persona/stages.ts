/**
 * @module kinds/persona/stages: the one stage of a persona suite: ask the yes/no statement (one token with logprobs,
 * or a few sampled tokens) and score how well the answer matches the keyed pole.
 */
import { DEFAULT_INSTRUCTION, type PersonaPayload, personaMessages } from "./format";
import { scorePersonaAnswer, TOP_LOGPROBS } from "./scorer";
import type { SuiteKind } from "../types";
import { answerText } from "../chat";

/** Tokens a sampled persona answer may use: enough for "Yes." or "No, I would not" (ours). */
export const SAMPLED_ANSWER_MAX_TOKENS = 5;

export const personaKind: SuiteKind = {
  stages: {
    ask: {
      target: "model",
      buildRequest({ item, suiteMeta, run, endpoint, seed }) {
        const messages = personaMessages(
          item.payload as unknown as PersonaPayload,
          String(suiteMeta.instruction ?? DEFAULT_INSTRUCTION),
          endpoint.systemPrompt,
        );
        return run.scoringMode === "logprobs"
          ? { messages, max_tokens: 1, logprobs: true, top_logprobs: TOP_LOGPROBS, temperature: run.temperature, seed }
          : { messages, max_tokens: SAMPLED_ANSWER_MAX_TOKENS, temperature: run.temperature, seed };
      },
      score({ item }, completion) {
        const choice = completion.choices[0];
        const top = choice?.logprobs?.content?.[0]?.top_logprobs ?? null;
        const s = scorePersonaAnswer(item.keying === "yes" ? "yes" : "no", answerText(completion), top);
        return { answer: answerText(completion), parsed: { ...s }, score: s.pMatch };
      },
    },
  },
};
