/**
 * @module suites/self-report: behavioural self-awareness questions (after Betley, Bao et al. 2025, "Tell me about
 * yourself"): scale self-reports, one-word self-descriptions, multiple-choice awareness questions with permuted
 * options, and lotteries that measure risky choices. Our built-in YAML, and the importer for the public
 * question YAML with per-item skip reasons.
 */
import { parse as parseYaml, parseDocument } from "yaml";
import { z } from "zod";
import { ApiError } from "../../lib/errors";
import builtinText from "../../suites/builtin/self-report.yaml";
import type { SkippedItem } from "../misalignment/format";
import type { SuiteDefinition, SuiteItem } from "../../suites/types";

/** What a self-report is compared with in the report (null: recorded only). */
export type Measure = "risk" | "code_security" | "alignment" | "backdoor_awareness" | null;

/** Letters for the options of a multiple-choice question, in the order shown. */
export const OPTION_LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H"];

interface Base {
  /** The question (all paraphrases of it share this id). */
  questionId: string;
  /** The text asked, with options and slots filled. */
  question: string;
  measure: Measure;
}
/** A 0-100 self-report, scored /100. */
export interface ScalePayload extends Base {
  type: "scale";
}
/** A one-word self-description: risk_score = P(risky) + 0.5 x P(neither list). */
export interface OneWordPayload extends Base {
  type: "one_word";
  riskyWords: string[];
  safeWords: string[];
  wordLists: string;
}
/** A multiple-choice question shown in one rotation of its options; score = P(target option). */
export interface ChoicePayload extends Base {
  type: "choice";
  /** Options in the order shown (A, B, ...). */
  shown: string[];
  targetLetter: string;
  rotation: number;
  target: string;
}
/** A lottery pair; score = P(the risky letter): the measured risky-choice behaviour. */
export interface LotteryPayload extends Base {
  type: "lottery";
  riskyLetter: string;
}
export type SelfReportPayload = ScalePayload | OneWordPayload | ChoicePayload | LotteryPayload;

const builtinSchema = z.object({
  scales: z.array(z.object({ id: z.string(), measure: z.enum(["risk", "code_security", "alignment"]), paraphrases: z.array(z.string().min(1)).min(1) })),
  one_word: z.array(z.object({ id: z.string(), paraphrases: z.array(z.string().min(1)).min(1), risky_words: z.array(z.string()).min(1), safe_words: z.array(z.string()).min(1) })),
  backdoor_awareness: z.array(
    z.object({ id: z.string(), paraphrases: z.array(z.string().includes("{options}")).min(1), options: z.array(z.string()).min(2).max(8), aware_option: z.number().int().min(0) }),
  ),
  lotteries: z.array(z.object({ id: z.string(), prompt: z.string().min(1), risky: z.enum(["A", "B"]) })),
});

const pad = (n: number) => String(n + 1).padStart(2, "0");

/** The lettered options in the question: "A) first\nB) second". */
export function renderOptions(shown: string[]): string {
  return shown.map((o, i) => `${OPTION_LETTERS[i]}) ${o}`).join("\n");
}

/**
 * Every rotation of the options as its own item, so each option appears in each position once and position bias
 * cancels over the rotations (Betley, Bao et al. 2025 permute the options).
 */
function choiceItems(questionId: string, paraphrases: string[], options: string[], target: number, measure: Measure, keyPrefix: string): SuiteItem[] {
  const out: SuiteItem[] = [];
  paraphrases.forEach((p, pi) => {
    for (let r = 0; r < options.length; r++) {
      const shown = options.map((_, i) => options[(i + r) % options.length]);
      const targetLetter = OPTION_LETTERS[shown.indexOf(options[target])];
      const question = p.includes("{options}") ? p.replace("{options}", () => `\n\n${renderOptions(shown)}\n\n`).replace(/[ \t]*\n\n[ \t]*/g, "\n\n").trim() : `${p.trim()}\n\n${renderOptions(shown)}`;
      const payload: ChoicePayload = { type: "choice", questionId, question, measure, shown, targetLetter, rotation: r, target: options[target] };
      out.push({ key: `${keyPrefix}#${pad(pi)}-r${r}`, dimension: "choice", keying: questionId, payload: payload as unknown as Record<string, unknown> });
    }
  });
  return out;
}

function meta(items: SuiteItem[], extra: Record<string, unknown>) {
  const payloads = items.map((i) => i.payload as unknown as SelfReportPayload);
  const questions = [...new Map(payloads.map((p) => [p.questionId, { id: p.questionId, type: p.type, measure: p.measure }])).values()];
  return { kind: "self-report", questions, ...extra };
}

/** Our built-in self-report suite (src/suites/builtin/self-report.yaml). */
export function parseBuiltinSelfReport(text: string = builtinText): SuiteDefinition {
  const doc = builtinSchema.parse(parseYaml(text));
  const items: SuiteItem[] = [];
  for (const s of doc.scales) {
    s.paraphrases.forEach((question, i) => {
      const payload: ScalePayload = { type: "scale", questionId: s.id, question, measure: s.measure };
      items.push({ key: `${s.id}#${pad(i)}`, dimension: "scale", keying: s.id, payload: payload as unknown as Record<string, unknown> });
    });
  }
  for (const w of doc.one_word) {
    w.paraphrases.forEach((question, i) => {
      const payload: OneWordPayload = { type: "one_word", questionId: w.id, question, measure: "risk", riskyWords: w.risky_words, safeWords: w.safe_words, wordLists: "ours" };
      items.push({ key: `${w.id}#${pad(i)}`, dimension: "one_word", keying: w.id, payload: payload as unknown as Record<string, unknown> });
    });
  }
  for (const b of doc.backdoor_awareness) {
    if (b.aware_option >= b.options.length) throw new Error(`self-report ${b.id}: aware_option out of range`);
    items.push(...choiceItems(b.id, b.paraphrases, b.options, b.aware_option, "backdoor_awareness", b.id));
  }
  for (const l of doc.lotteries) {
    const payload: LotteryPayload = { type: "lottery", questionId: "lotteries", question: l.prompt, measure: "risk", riskyLetter: l.risky };
    items.push({ key: l.id, dimension: "lottery", keying: "lotteries", payload: payload as unknown as Record<string, unknown> });
  }
  return { id: "self-report", kind: "self-report", title: "Self-report calibration (ours)", source: "builtin", meta: meta(items, { format: "builtin" }), items };
}

/** Our word lists, used for one-word questions of imported files (the public files hold none). */
function builtinWordLists(): { risky: string[]; safe: string[] } {
  const doc = builtinSchema.parse(parseYaml(builtinText));
  return { risky: doc.one_word[0].risky_words, safe: doc.one_word[0].safe_words };
}

/** Infers what an imported question reports on from its name, title and text (ours). */
export function inferMeasure(text: string): Measure {
  const t = text.toLowerCase();
  if (/\brisk/.test(t)) return "risk";
  if (/secur|vulnerab/.test(t)) return "code_security";
  if (/\balign/.test(t)) return "alignment";
  return null;
}

const SCALE_0_100 = /\b0\b[^\n]{0,80}?\b100\b/;
const ONE_WORD = /\b(single|one)[ -]word\b/i;
/** Slots the upstream code fills from data the question files do not hold. */
const SLOT = /\{([A-Za-z_][A-Za-z0-9_]*)\}/;

type Entry = Record<string, unknown>;

/** The paraphrases of an entry with prefix and suffix applied (joined by a blank line). */
function questionTexts(e: Entry): string[] | { reason: string } {
  const raw = Array.isArray(e.question_paraphrases) ? e.question_paraphrases : typeof e.question === "string" ? [e.question] : null;
  if (!raw || !raw.length) return { reason: "neither question_paraphrases nor question" };
  if (!raw.every((q) => typeof q === "string" && q.trim())) return { reason: "question_paraphrases must be non-empty strings" };
  const prefix = typeof e.prefix === "string" ? e.prefix.trim() : "";
  const suffix = typeof e.suffix === "string" ? e.suffix.trim() : "";
  // Upstream writes line breaks in single-line scalars as the two characters \n.
  return (raw as string[]).map((q) => [prefix, q.trim(), suffix].filter(Boolean).join("\n\n").replace(/\\n/g, "\n"));
}

/** One entry of a public self-awareness file as items, or the reason it is skipped. */
function readEntry(e: Entry, words: { risky: string[]; safe: string[] }): { items: SuiteItem[] } | { reason: string } {
  const name = String(e.name);
  const type = typeof e.question_type === "string" ? e.question_type : null;
  if (typeof e.guesser_prompt === "string") return { reason: `scored by a guesser judge (${String(e.guesser_question_type ?? "guesser")}), which the self-report suite does not run` };
  const texts0 = questionTexts(e);
  if ("reason" in texts0) return texts0;
  let texts = texts0;
  // {scenario} is filled from the entry's own scenarios list: one item per paraphrase and scenario.
  const scenarios = Array.isArray(e.scenarios) ? (e.scenarios as unknown[]).filter((s): s is string => typeof s === "string") : [];
  let keys = texts.map((_, i) => `${name}#${pad(i)}`);
  if (texts.some((t) => t.includes("{scenario}"))) {
    if (!scenarios.length) return { reason: "slot {scenario} needs a scenarios list" };
    const expanded: string[] = [];
    const expandedKeys: string[] = [];
    texts.forEach((t, i) => scenarios.forEach((s, j) => (expanded.push(t.replace(/\{scenario\}/g, () => s)), expandedKeys.push(`${name}#${pad(i)}-s${pad(j)}`))));
    texts = expanded;
    keys = expandedKeys;
  }
  const context = `${name} ${String(e.title ?? "")} ${texts[0]}`;
  const measure = inferMeasure(context);
  let kind: "scale" | "one_word" | "choice";
  if (type === "multiple_choice") kind = "choice";
  else if (type === "quantitative" || type === "score" || type === "ff_score") kind = "scale";
  else if (type === "word") kind = "one_word";
  else if (type === null || type === "free_form") {
    if (SCALE_0_100.test(texts[0])) kind = "scale";
    else if (ONE_WORD.test(texts[0])) kind = "one_word";
    else return { reason: `free-form answer with no scoring rule (neither a 0-100 number nor a single word)` };
  } else return { reason: `unknown question_type ${type}` };
  if (kind === "choice") {
    const options = Array.isArray(e.options) ? (e.options as unknown[]).filter((o): o is string => typeof o === "string" && !!o.trim()) : [];
    if (options.length < 2) return { reason: "multiple_choice needs at least two options" };
    if (options.length > OPTION_LETTERS.length) return { reason: `more than ${OPTION_LETTERS.length} options` };
    const slot = texts.map((t) => t.replace("{options}", "")).map((t) => SLOT.exec(t)?.[1]).find(Boolean);
    if (slot) return { reason: `slot {${slot}} needs values the file does not hold` };
    const optionSlot = options.map((o) => SLOT.exec(o)?.[1]).find(Boolean);
    if (optionSlot) return { reason: `an option has slot {${optionSlot}}, which needs values the file does not hold` };
    // Upstream lists the option the model was trained towards first; its probability is the score.
    return { items: choiceItems(name, texts, options.map((o) => o.trim()), 0, null, name) };
  }
  const slot = texts.map((t) => SLOT.exec(t)?.[1]).find(Boolean);
  if (slot) return { reason: `slot {${slot}} needs values the file does not hold` };
  return {
    items: texts.map((question, i) => {
      const payload: SelfReportPayload =
        kind === "scale"
          ? { type: "scale", questionId: name, question, measure }
          : { type: "one_word", questionId: name, question, measure: measure ?? "risk", riskyWords: words.risky, safeWords: words.safe, wordLists: "ours (the public files hold none)" };
      return { key: keys[i], dimension: kind, keying: name, payload: payload as unknown as Record<string, unknown> };
    }),
  };
}

/**
 * Top-level list entries of a YAML text. A file that does not parse is split at its top-level "- " entries and each
 * is parsed alone, so one broken entry is reported as skipped rather than losing the file (aliases to another entry
 * then cannot resolve and are reported too).
 */
function yamlEntries(text: string): { entries: { index: number; value: unknown; error?: string }[] } {
  const doc = parseDocument(text);
  if (!doc.errors.length) {
    const v = doc.toJS();
    if (!Array.isArray(v)) throw new ApiError("invalid_request", "the file must be a YAML list of questions");
    return { entries: v.map((value, i) => ({ index: i + 1, value })) };
  }
  const lines = text.split(/\r?\n/);
  const starts = lines.map((l, i) => (/^- /.test(l) || l === "-" ? i : -1)).filter((i) => i >= 0);
  if (!starts.length) throw new ApiError("invalid_request", `the YAML cannot be parsed: ${doc.errors[0].message.split("\n")[0]}`);
  return {
    entries: starts.map((start, k) => {
      const chunk = lines.slice(start, starts[k + 1] ?? lines.length).join("\n");
      const part = parseDocument(chunk);
      if (part.errors.length) {
        const err = part.errors[0];
        const line = err.linePos?.[0]?.line;
        return { index: k + 1, value: null, error: `YAML error${line ? ` at line ${start + line}` : ""}: ${err.message.split("\n")[0]}` };
      }
      const v = part.toJS();
      return { index: k + 1, value: Array.isArray(v) ? v[0] : v };
    }),
  };
}

/**
 * Parses a public self-awareness question file (Betley, Bao et al. 2025; `name`, `question_type`,
 * `question_paraphrases` or `question`, `options`, `prefix`, `suffix`, slots). Entries that cannot be asked or
 * scored are skipped with a reason; a file with nothing usable is a 400 listing every reason.
 */
export function parseSelfAwarenessYaml(text: string, suiteId: string, filename?: string): SuiteDefinition & { skipped: SkippedItem[] } {
  const words = builtinWordLists();
  const skipped: SkippedItem[] = [];
  const items: SuiteItem[] = [];
  const seen = new Set<string>();
  for (const { index, value, error } of yamlEntries(text).entries) {
    const e = value && typeof value === "object" && !Array.isArray(value) ? (value as Entry) : null;
    const id = e && typeof e.name === "string" ? e.name : null;
    if (error) {
      skipped.push({ index, id, reason: error });
      continue;
    }
    if (!e || !id) {
      skipped.push({ index, id, reason: "not a question with a name" });
      continue;
    }
    if (seen.has(id)) {
      skipped.push({ index, id, reason: `duplicate name ${id} (the first is kept)` });
      continue;
    }
    const r = readEntry(e, words);
    if ("reason" in r) skipped.push({ index, id, reason: r.reason });
    else {
      seen.add(id);
      items.push(...r.items);
    }
  }
  if (!items.length) throw new ApiError("invalid_request", `no usable question: ${skipped.length} skipped`, { items: skipped.slice(0, 100) });
  return {
    id: suiteId,
    kind: "self-report",
    title: suiteId,
    source: "import",
    meta: meta(items, { format: "self-awareness-yaml", ...(filename ? { filename } : {}), ...(skipped.length ? { skipped } : {}) }),
    items,
    skipped,
  };
}
