/**
 * @module kinds/chat: what every kind's stages share to talk to a model: the answer text of a completion (the
 * consumer normalises its shape first, src/providers/completion-shape.ts) and one user turn after the endpoint's
 * system prompt.
 */

/** The answer text of a completion's first choice, or null. */
export const answerText = (c: { choices: { message?: { content?: string | null } }[] }) => c.choices[0]?.message?.content ?? null;

/** The messages of one user turn, after the endpoint's system prompt when it has one. */
export function userTurn(systemPrompt: string | null, user: string) {
  const messages: { role: "system" | "user"; content: string }[] = [];
  if (systemPrompt) messages.push({ role: "system", content: systemPrompt });
  messages.push({ role: "user", content: user });
  return messages;
}
