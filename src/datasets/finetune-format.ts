/**
 * @module datasets/finetune-format: checks a chat fine-tuning JSONL file against the format's rules before release
 * (OpenAI supervised fine-tuning data format: one `{"messages": [...]}` object per line, chat roles, at least 10
 * examples). The same rules hold for most OpenAI-compatible fine-tuning services.
 */

/** Fewest examples a fine-tuning file may hold (OpenAI fine-tuning guide: "at least 10 examples"). */
export const MIN_FINETUNE_EXAMPLES = 10;
/**
 * Longest example we accept, in estimated tokens (ours: 65,536 is the per-example limit OpenAI documents for its
 * smaller chat models; estimated at 4 characters per token, since the worker has no tokenizer).
 */
export const MAX_EXAMPLE_TOKENS = 65_536;
const CHARS_PER_TOKEN = 4;
const ROLES = new Set(["system", "developer", "user", "assistant"]);
const MESSAGE_KEYS = new Set(["role", "content", "name", "weight"]);
/** Problems listed in a report (the count is always complete). */
const MAX_LISTED = 50;

export interface FormatReport {
  format: "chat-jsonl";
  examples: number;
  valid: boolean;
  problems: { line: number; message: string }[];
  problemCount: number;
  rules: string[];
}

/** Validates JSONL text; every problem is reported with its 1-based line. */
export function validateChatJsonl(text: string): FormatReport {
  const problems: { line: number; message: string }[] = [];
  let count = 0;
  let examples = 0;
  const add = (line: number, message: string) => {
    count++;
    if (problems.length < MAX_LISTED) problems.push({ line, message });
  };
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return add(line, "blank line");
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      return add(line, "not valid JSON");
    }
    examples++;
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) return add(line, "not a JSON object");
    const messages = (obj as { messages?: unknown }).messages;
    if (!Array.isArray(messages) || messages.length === 0) return add(line, "missing a non-empty messages array");
    let assistant = 0;
    let user = 0;
    let chars = 0;
    messages.forEach((m, j) => {
      const where = `messages[${j}]`;
      if (!m || typeof m !== "object" || Array.isArray(m)) return add(line, `${where} is not an object`);
      const msg = m as Record<string, unknown>;
      for (const k of Object.keys(msg)) if (!MESSAGE_KEYS.has(k)) add(line, `${where} has an unknown key ${k}`);
      if (typeof msg.role !== "string" || !ROLES.has(msg.role))
        return add(line, `${where} has role ${JSON.stringify(msg.role)}; expected system, developer, user or assistant`);
      if (typeof msg.content !== "string" || !msg.content.trim()) return add(line, `${where} (${msg.role}) has empty or non-text content`);
      if (msg.weight !== undefined && msg.weight !== 0 && msg.weight !== 1) add(line, `${where} weight must be 0 or 1`);
      if (msg.role === "assistant") assistant++;
      if (msg.role === "user") user++;
      chars += msg.content.length;
    });
    if (!user) add(line, "no user message");
    if (!assistant) add(line, "no assistant message to train on");
    const last = messages[messages.length - 1] as Record<string, unknown> | undefined;
    if (last && last.role !== "assistant") add(line, "the last message is not the assistant's");
    if (chars / CHARS_PER_TOKEN > MAX_EXAMPLE_TOKENS) add(line, `about ${Math.round(chars / CHARS_PER_TOKEN)} tokens; the most is ${MAX_EXAMPLE_TOKENS}`);
  });
  if (examples < MIN_FINETUNE_EXAMPLES) add(0, `${examples} example(s); a fine-tuning file needs at least ${MIN_FINETUNE_EXAMPLES}`);
  return {
    format: "chat-jsonl",
    examples,
    valid: count === 0,
    problems,
    problemCount: count,
    rules: [
      `at least ${MIN_FINETUNE_EXAMPLES} examples`,
      "one JSON object per line with a non-empty messages array",
      "roles system, developer, user or assistant; non-empty text content",
      "at least one user message; ends with an assistant message",
      `at most about ${MAX_EXAMPLE_TOKENS} tokens per example (estimated)`,
    ],
  };
}
