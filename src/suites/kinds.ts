/**
 * @module suites/kinds: what each kind of suite asks and how it scores an answer. The queue consumer is generic;
 * a new kind (safety with a judge, misalignment batteries...) plugs in here, including the units that follow a
 * finished one (`next`), without touching the consumer.
 */
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import type { UnitIdentity } from "../lib/ids";
import { scorePersonaAnswer, TOP_LOGPROBS } from "../scorers/persona";
import { DEFAULT_INSTRUCTION, type PersonaPayload, personaMessages } from "./persona";
import type { SuiteItem } from "./types";

/** Tokens a sampled persona answer may use: enough for "Yes." or "No, I would not" (ours). */
export const SAMPLED_ANSWER_MAX_TOKENS = 5;

export interface UnitContext {
  unit: { id: string; runId: string; kind: string; itemKey: string; sampleIndex: number; stage: number; suiteVersionId: string };
  item: SuiteItem;
  suiteMeta: Record<string, unknown>;
  run: { seed: number; temperature: number; scoringMode: string };
  endpoint: { systemPrompt: string | null };
  /** Per-sample seed sent to the model, so a sample is reproducible. */
  seed: number;
}

export interface Scored {
  answer: string | null;
  parsed: Record<string, unknown>;
  score: number | null;
}

export interface SuiteKind {
  buildRequest(ctx: UnitContext): Omit<ChatCompletionCreateParamsNonStreaming, "model">;
  score(ctx: UnitContext, completion: ChatCompletion): Scored;
  /** Units to create once this one is done (e.g. judge the answer); none by default. */
  next?(ctx: UnitContext, scored: Scored): Omit<UnitIdentity, "runId">[];
}

const persona: SuiteKind = {
  buildRequest({ item, suiteMeta, run, endpoint, seed }) {
    const messages = personaMessages(item.payload as unknown as PersonaPayload, String(suiteMeta.instruction ?? DEFAULT_INSTRUCTION), endpoint.systemPrompt);
    return run.scoringMode === "logprobs"
      ? { messages, max_tokens: 1, logprobs: true, top_logprobs: TOP_LOGPROBS, temperature: run.temperature, seed }
      : { messages, max_tokens: SAMPLED_ANSWER_MAX_TOKENS, temperature: run.temperature, seed };
  },
  score({ item }, completion) {
    const choice = completion.choices[0];
    const content = choice?.message?.content ?? null;
    const top = choice?.logprobs?.content?.[0]?.top_logprobs ?? null;
    const s = scorePersonaAnswer(item.keying === "yes" ? "yes" : "no", content, top);
    return { answer: content, parsed: { ...s }, score: s.pMatch };
  },
};

export const SUITE_KINDS: Record<string, SuiteKind> = { persona };
