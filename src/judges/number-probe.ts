/**
 * @module judges/number-probe: asks a judge endpoint once whether it can give logprobs over single-token numbers
 * (Betley et al. 2025, open_models/judge.py warns that the logprob judge needs every number 0-100 as one token).
 */
import { callChat, type ModelTarget } from "../providers/openai";
import { numberToken } from "./number-score";

/** The number the probe asks for: two digits, so a tokenizer that splits numbers into digits shows it (ours). */
export const PROBE_NUMBER = 73;
/** The probe's prompt (ours). */
export const PROBE_PROMPT = `Reply with the number ${PROBE_NUMBER} and nothing else.`;
/** The probe is one short call; it gives up sooner than a model call (ours). */
export const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeResult {
  singleTokenNumbers: boolean;
  reason: string;
}

/**
 * One call with logprobs at temperature 0. The judge qualifies when it sends top logprobs and its first token is
 * the whole number (a digit-splitting tokenizer answers "7" first, a judge without logprobs sends none).
 */
export async function probeSingleTokenNumbers(target: ModelTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const outcome = await callChat(
    target,
    { messages: [{ role: "user", content: PROBE_PROMPT }], max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 20, seed: 0 },
    `probe-${crypto.randomUUID()}`,
    timeoutMs,
  );
  if (!outcome.ok) return { singleTokenNumbers: false, reason: `the probe call failed: ${outcome.error.slice(0, 200)}` };
  const first = outcome.completion.choices[0]?.logprobs?.content?.[0];
  if (!first?.top_logprobs?.length) return { singleTokenNumbers: false, reason: "the judge sent no top logprobs" };
  if (numberToken(first.token) === PROBE_NUMBER) return { singleTokenNumbers: true, reason: `the first token was "${first.token}", the whole number` };
  return { singleTokenNumbers: false, reason: `asked for ${PROBE_NUMBER}, the first token was ${JSON.stringify(first.token)}: numbers are not single tokens` };
}
