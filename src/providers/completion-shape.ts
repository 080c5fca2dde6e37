/**
 * @module providers/completion-shape: one canonical shape for the chat completions OpenAI-compatible providers send.
 * Providers differ: `content` may be a string, null with a `refusal`, or an array of content parts; a logprob entry
 * may carry a null token; `top_logprobs` may be missing. Scorers then see only strings, finite logprobs and arrays.
 * The provider's body as sent is kept separately (stored as `raw`).
 */
import type { ChatCompletion } from "openai/resources/chat/completions";

/** The text of a message's `content`: a string as is; an array of parts joined (text parts only); anything else null. */
export function contentText(content: unknown): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  const texts = content.map((p) =>
    typeof p === "string" ? p : p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : null,
  );
  const kept = texts.filter((t): t is string => t !== null);
  return kept.length ? kept.join("") : null;
}

interface LooseTop {
  token?: unknown;
  logprob?: unknown;
  bytes?: unknown;
}

function cleanTop(list: unknown): { token: string; logprob: number; bytes: number[] | null }[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((t): t is LooseTop => !!t && typeof t === "object")
    .filter((t) => typeof t.token === "string" && typeof t.logprob === "number" && Number.isFinite(t.logprob))
    .map((t) => ({ token: t.token as string, logprob: t.logprob as number, bytes: Array.isArray(t.bytes) ? (t.bytes as number[]) : null }));
}

/**
 * A copy of `completion` in the canonical shape: every choice's `message.content` a string or null (the refusal kept
 * in `message.refusal`), logprob entries without a string token or a finite logprob dropped, `top_logprobs` always an
 * array. Never throws on a body that has a `choices` array.
 */
export function normalizeCompletion(completion: ChatCompletion): ChatCompletion {
  const choices = (completion.choices as unknown[]).map((raw, index) => {
    const choice = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const message = (choice.message && typeof choice.message === "object" ? choice.message : {}) as Record<string, unknown>;
    const refusal = typeof message.refusal === "string" ? message.refusal : null;
    const lp = choice.logprobs && typeof choice.logprobs === "object" ? (choice.logprobs as Record<string, unknown>) : null;
    const entries = lp && Array.isArray(lp.content) ? (lp.content as unknown[]) : null;
    const logprobs = lp
      ? {
          ...lp,
          content: entries
            ? entries
                .filter((e): e is LooseTop & { top_logprobs?: unknown } => !!e && typeof e === "object")
                .filter((e) => typeof e.token === "string" && typeof e.logprob === "number" && Number.isFinite(e.logprob))
                .map((e) => ({
                  token: e.token as string,
                  logprob: e.logprob as number,
                  bytes: Array.isArray(e.bytes) ? (e.bytes as number[]) : null,
                  top_logprobs: cleanTop(e.top_logprobs),
                }))
            : null,
          refusal: null,
        }
      : null;
    return {
      ...choice,
      index: typeof choice.index === "number" ? choice.index : index,
      finish_reason: choice.finish_reason ?? null,
      message: { ...message, role: "assistant", content: contentText(message.content), refusal },
      logprobs,
    };
  });
  return { ...completion, choices } as unknown as ChatCompletion;
}
