/**
 * @module kinds/safety/format: the safety suite: a taxonomy of harm categories and subcategories (some held out from
 * training), a borderline set of benign look-alikes, and the importers for HarmBench and generic CSV/JSONL.
 */
import { parse as parseCsv } from "csv-parse/browser/esm/sync";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ApiError } from "../../lib/errors";
import type { SuiteDefinition, SuiteItem } from "../../suites/types";

/** Our taxonomy's top-level categories (docs/safety.md). */
export const SAFETY_CATEGORIES = [
  "harassment_bullying",
  "illegal_activities",
  "violence_weapons",
  "self_harm",
  "hate",
  "cybercrime",
  "privacy_surveillance",
  "misinformation_manipulation",
  "dangerous_chem_bio",
  "sexual_harm",
] as const;

/** Narrow safety training covers harassment and illegal behaviour (Del Pinal et al. 2026, abstract). */
export const NARROW_TRAINING_CATEGORIES = ["harassment_bullying", "illegal_activities"];

/** Subcategory label of the benign look-alike items. */
export const BORDERLINE = "borderline";

/** The payload of a safety item as stored. */
export interface SafetyPayload {
  prompt: string;
  /** HarmBench contextual rows: a passage asked before the request. */
  context?: string;
  category: string;
  subcategory: string;
  heldOut: boolean;
  borderline: boolean;
  /** Rows left out of safety rates by default (HarmBench copyright). */
  excluded?: boolean;
  sourceId?: string;
}

const builtinSchema = z.object({
  suite: z.string(),
  kind: z.literal("safety"),
  title: z.string(),
  description: z.string().optional(),
  categories: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      subcategories: z.array(z.object({ id: z.string(), title: z.string(), held_out: z.boolean(), prompts: z.array(z.string().min(1)).min(1) })),
    }),
  ),
  borderline: z.array(z.object({ category: z.string(), prompt: z.string().min(1) })),
});

function item(key: string, p: SafetyPayload): SuiteItem {
  return { key, dimension: p.category, keying: p.subcategory, payload: p as unknown as Record<string, unknown> };
}

function safetyMeta(items: SuiteItem[], extra: Record<string, unknown> = {}) {
  const payloads = items.map((i) => i.payload as unknown as SafetyPayload);
  const heldOut = [...new Set(payloads.filter((p) => p.heldOut).map((p) => p.subcategory))].sort();
  const categories = [...new Set(payloads.filter((p) => !p.borderline).map((p) => p.category))];
  return {
    kind: "safety",
    heldOut,
    categories: categories.map((c) => ({
      id: c,
      subcategories: [...new Set(payloads.filter((p) => p.category === c && !p.borderline).map((p) => p.subcategory))],
    })),
    ...extra,
  };
}

/** Parses the built-in safety YAML. */
export function parseSafetyYaml(text: string): SuiteDefinition {
  const doc = builtinSchema.parse(parseYaml(text));
  const items: SuiteItem[] = [];
  for (const c of doc.categories) {
    for (const s of c.subcategories) {
      s.prompts.forEach((prompt, i) => {
        items.push(item(`${s.id}-${String(i + 1).padStart(2, "0")}`, { prompt, category: c.id, subcategory: s.id, heldOut: s.held_out, borderline: false }));
      });
    }
  }
  doc.borderline.forEach((b, i) => {
    items.push(
      item(`borderline-${String(i + 1).padStart(3, "0")}`, {
        prompt: b.prompt,
        category: b.category,
        subcategory: BORDERLINE,
        heldOut: false,
        borderline: true,
      }),
    );
  });
  return { id: doc.suite, kind: "safety", title: doc.title, source: "builtin", meta: safetyMeta(items, { description: doc.description }), items };
}

/**
 * HarmBench SemanticCategory -> our taxonomy (docs/safety.md). "harmful" is HarmBench's catch-all for
 * general harm; copyright rows are kept but flagged and left out of safety rates by default.
 */
export const HARMBENCH_CATEGORY_MAP: Record<string, string> = {
  chemical_biological: "dangerous_chem_bio",
  illegal: "illegal_activities",
  misinformation_disinformation: "misinformation_manipulation",
  harassment_bullying: "harassment_bullying",
  harmful: "general_harm",
  cybercrime_intrusion: "cybercrime",
  copyright: "copyright",
};

type Row = Record<string, string>;

function readCsv(text: string): Row[] {
  try {
    return parseCsv(text, { columns: true, skip_empty_lines: true, relax_column_count: false, bom: true }) as Row[];
  } catch (e) {
    throw new ApiError("invalid_request", `the CSV cannot be parsed: ${(e as Error).message}`);
  }
}

/** Options shared by the imports: which subcategories to hold out. */
export interface SafetyImportOptions {
  heldOut?: string[];
}

/** The public HarmBench behaviours CSV: contextual rows ask ContextString then Behavior. */
export function parseHarmbenchCsv(text: string, suiteId: string, opts: SafetyImportOptions = {}): SuiteDefinition {
  const rows = readCsv(text);
  const need = ["Behavior", "FunctionalCategory", "SemanticCategory", "ContextString", "BehaviorID"];
  const missing = need.filter((c) => rows.length && !(c in rows[0]));
  if (!rows.length || missing.length)
    throw new ApiError("invalid_request", `not a HarmBench behaviours CSV${missing.length ? `: missing ${missing.join(", ")}` : ": no rows"}`);
  const errors: { line: number; message: string }[] = [];
  const held = new Set(opts.heldOut ?? []);
  const seen = new Set<string>();
  const items: SuiteItem[] = [];
  rows.forEach((r, i) => {
    const record = i + 1;
    const category = HARMBENCH_CATEGORY_MAP[r.SemanticCategory?.trim()];
    if (!category) return void errors.push({ line: record, message: `unknown SemanticCategory ${r.SemanticCategory}` });
    if (!r.Behavior?.trim()) return void errors.push({ line: record, message: "empty Behavior" });
    if (!r.BehaviorID || seen.has(r.BehaviorID)) return void errors.push({ line: record, message: `missing or duplicate BehaviorID ${r.BehaviorID}` });
    seen.add(r.BehaviorID);
    const functional = (r.FunctionalCategory || "standard").trim();
    const subcategory = `${category}__${functional}`;
    const contextual = functional === "contextual" && r.ContextString?.trim();
    items.push(
      item(r.BehaviorID, {
        prompt: r.Behavior.trim(),
        ...(contextual ? { context: r.ContextString.trim() } : {}),
        category,
        subcategory,
        heldOut: held.has(subcategory),
        borderline: false,
        excluded: functional === "copyright" || category === "copyright",
        sourceId: r.BehaviorID,
      }),
    );
  });
  if (errors.length) throw new ApiError("invalid_request", `${errors.length} invalid record(s); nothing was imported`, { records: errors.slice(0, 100) });
  return {
    id: suiteId,
    kind: "safety",
    title: suiteId,
    source: "import",
    meta: safetyMeta(items, { format: "harmbench-csv", excludedByDefault: ["copyright"] }),
    items,
  };
}

/** Which fields of a generic CSV/JSONL file hold the prompt and its labels. */
export interface FieldMapping {
  prompt: string;
  category: string;
  subcategory?: string;
  id?: string;
  borderline?: string;
}

/** A generic CSV or JSONL file with a field mapping (prompt column, category column...). */
export function parseMappedSafety(text: string, format: "csv" | "jsonl", suiteId: string, map: FieldMapping, opts: SafetyImportOptions = {}): SuiteDefinition {
  let rows: Row[];
  const errors: { line: number; message: string }[] = [];
  if (format === "csv") rows = readCsv(text);
  else {
    rows = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const obj = JSON.parse(line);
        if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new Error("not an object");
        rows.push(Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) as Row);
      } catch {
        errors.push({ line: i + 1, message: "not a JSON object" });
        rows.push({});
      }
    });
  }
  const held = new Set(opts.heldOut ?? []);
  const items: SuiteItem[] = [];
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    if (errors.some((e) => e.line === i + 1)) return;
    const prompt = r[map.prompt]?.trim();
    const category = r[map.category]?.trim();
    if (!prompt) return void errors.push({ line: i + 1, message: `missing ${map.prompt}` });
    if (!category) return void errors.push({ line: i + 1, message: `missing ${map.category}` });
    const key = (map.id && r[map.id]?.trim()) || `row-${String(i + 1).padStart(5, "0")}`;
    if (seen.has(key)) return void errors.push({ line: i + 1, message: `duplicate id ${key}` });
    seen.add(key);
    const borderline = map.borderline ? ["1", "true", "yes"].includes(String(r[map.borderline]).trim().toLowerCase()) : false;
    const subcategory = borderline ? BORDERLINE : (map.subcategory && r[map.subcategory]?.trim()) || category;
    items.push(item(key, { prompt, category, subcategory, heldOut: held.has(subcategory), borderline }));
  });
  if (errors.length) throw new ApiError("invalid_request", `${errors.length} invalid record(s); nothing was imported`, { records: errors.slice(0, 100) });
  if (!items.length) throw new ApiError("invalid_request", "the file holds no items");
  return { id: suiteId, kind: "safety", title: suiteId, source: "import", meta: safetyMeta(items, { format, mapping: map }), items };
}

/** The user message for a safety item: a contextual item puts its passage first (as HarmBench does). */
export function safetyUserMessage(p: SafetyPayload): string {
  return p.context ? `${p.context}\n\n---\n\n${p.prompt}` : p.prompt;
}
