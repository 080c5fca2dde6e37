/**
 * @module datasets/leakage: keeps training prompts apart from evaluation prompts. Texts are normalised and cut into
 * word 5-gram shingles; an inverted index over the (few) training prompts finds, for each evaluation prompt streamed
 * from D1, the training prompts that share a shingle, and their exact Jaccard similarity is computed. No all-pairs pass.
 */
import type { Db } from "../db/client";
import { ensureSuiteVersion } from "../db/queries/suites";
import { BUILTIN_SUITE_IDS, builtinSuite } from "../suites/builtin";

/** Word n-gram length of a shingle (issue #5's specification: word 5-grams). */
export const SHINGLE_WORDS = 5;
/** Jaccard similarity of shingle sets at or above which two prompts are near duplicates (issue #5's specification). */
export const NEAR_DUPLICATE_JACCARD = 0.5;
/** Suite kinds that hold training data, not evaluation items (never checked against). */
export const TRAINING_SUITE_KINDS = ["training-pool", "cai"];
/** Payload fields that hold a prompt in the suite formats we store (persona statements and questions, safety prompts...). */
const PROMPT_FIELDS = new Set(["prompt", "question", "statement", "behavior", "request", "text", "paraphrases", "prompts", "questions"]);
/** Evaluation items read from D1 per page (ours: a page of payloads stays well under a megabyte). */
const PAGE_ROWS = 1000;
/** Near-duplicate pairs kept in a report (the count is always complete). */
const MAX_LISTED_MATCHES = 200;

/** Lowercase, Unicode-normalised, punctuation as spaces, whitespace collapsed. */
export function normaliseText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Word 5-gram shingles of a normalised text; a text shorter than 5 words is one shingle. */
export function shingles(normalised: string, size = SHINGLE_WORDS): Set<string> {
  const words = normalised.split(" ").filter(Boolean);
  const out = new Set<string>();
  if (words.length === 0) return out;
  if (words.length <= size) {
    out.add(words.join(" "));
    return out;
  }
  for (let i = 0; i + size <= words.length; i++) out.add(words.slice(i, i + size).join(" "));
  return out;
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (!a.size && !b.size) return 0;
  let shared = 0;
  for (const s of a) if (b.has(s)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Every prompt-like string in an item payload (strings, or arrays of strings, under PROMPT_FIELDS). */
export function promptTexts(payload: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(payload)) {
    if (!PROMPT_FIELDS.has(k.toLowerCase())) continue;
    if (typeof v === "string" && v.trim()) out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === "string" && x.trim()) out.push(x);
  }
  return out;
}

export interface Candidate {
  key: string;
  category: string;
  subcategory: string;
  prompt: string;
}

export interface LeakMatch {
  candidate: string;
  suiteVersionId: string;
  itemKey: string;
  kind: "exact" | "near";
  jaccard: number;
}

/** The candidates indexed by shingle, ready to be probed by evaluation texts. */
export class LeakageIndex {
  private readonly byShingle = new Map<string, number[]>();
  private readonly byText = new Map<string, number[]>();
  private readonly sizes: number[] = [];
  readonly matches: LeakMatch[] = [];
  /** Candidate index -> its matches, for counting per candidate without listing every pair. */
  readonly flagged = new Map<number, { exact: number; near: number; maxJaccard: number }>();
  matchCount = 0;
  evaluationTexts = 0;

  constructor(readonly candidates: Candidate[]) {
    candidates.forEach((c, i) => {
      const norm = normaliseText(c.prompt);
      const sh = shingles(norm);
      this.sizes.push(sh.size);
      push(this.byText, norm, i);
      for (const s of sh) push(this.byShingle, s, i);
    });
  }

  /** Checks one evaluation text against every candidate that shares a shingle with it. */
  probe(text: string, suiteVersionId: string, itemKey: string): void {
    this.evaluationTexts++;
    const norm = normaliseText(text);
    if (!norm) return;
    const exact = new Set(this.byText.get(norm) ?? []);
    const sh = shingles(norm);
    const shared = new Map<number, number>();
    for (const s of sh) for (const i of this.byShingle.get(s) ?? []) shared.set(i, (shared.get(i) ?? 0) + 1);
    for (const [i, n] of shared) {
      const j = n / (this.sizes[i] + sh.size - n);
      if (exact.has(i)) this.record(i, { candidate: this.candidates[i].key, suiteVersionId, itemKey, kind: "exact", jaccard: 1 });
      else if (j >= NEAR_DUPLICATE_JACCARD) this.record(i, { candidate: this.candidates[i].key, suiteVersionId, itemKey, kind: "near", jaccard: round(j) });
    }
  }

  private record(i: number, m: LeakMatch): void {
    this.matchCount++;
    if (this.matches.length < MAX_LISTED_MATCHES) this.matches.push(m);
    const f = this.flagged.get(i) ?? { exact: 0, near: 0, maxJaccard: 0 };
    if (m.kind === "exact") f.exact++;
    else f.near++;
    f.maxJaccard = Math.max(f.maxJaccard, m.jaccard);
    this.flagged.set(i, f);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Makes sure every built-in suite's current version is stored, so the check covers it even if no run used it yet. */
export async function storeBuiltinSuites(db: Db): Promise<void> {
  for (const id of BUILTIN_SUITE_IDS) {
    const def = builtinSuite(id);
    if (def) await ensureSuiteVersion(db, def);
  }
}

/** Streams every evaluation item of every stored suite version (all kinds but training data) through the index. */
export async function probeStoredSuites(d1: D1Database, index: LeakageIndex): Promise<{ suiteVersions: number; items: number }> {
  const versions = new Set<string>();
  let items = 0;
  let after = { sv: "", key: "" };
  const kinds = TRAINING_SUITE_KINDS.map((k) => `'${k}'`).join(",");
  for (;;) {
    const { results } = await d1
      .prepare(
        `SELECT si.suite_version_id AS sv, si.item_key AS key, si.payload AS payload
           FROM suite_items si JOIN suite_versions v ON v.id = si.suite_version_id
          WHERE coalesce(json_extract(v.meta, '$.kind'), '') NOT IN (${kinds})
            AND (si.suite_version_id > ?1 OR (si.suite_version_id = ?1 AND si.item_key > ?2))
          ORDER BY si.suite_version_id, si.item_key
          LIMIT ${PAGE_ROWS}`,
      )
      .bind(after.sv, after.key)
      .all<{ sv: string; key: string; payload: string }>();
    for (const r of results) {
      versions.add(r.sv);
      items++;
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(r.payload);
      } catch {
        continue;
      }
      for (const t of promptTexts(payload)) index.probe(t, r.sv, r.key);
    }
    if (results.length < PAGE_ROWS) break;
    const last = results[results.length - 1];
    after = { sv: last.sv, key: last.key };
  }
  return { suiteVersions: versions.size, items };
}

/** Held-out subcategories named by any stored safety suite version (meta.heldOut), plus the built-in safety suite's. */
export async function heldOutSubcategories(d1: D1Database): Promise<Set<string>> {
  const { results } = await d1
    .prepare(
      `SELECT DISTINCT j.value AS sub FROM suite_versions v, json_each(json_extract(v.meta, '$.heldOut')) j WHERE json_extract(v.meta, '$.heldOut') IS NOT NULL`,
    )
    .all<{ sub: string }>();
  const out = new Set(results.map((r) => r.sub));
  const builtin = builtinSuite("safety");
  for (const s of (builtin?.meta.heldOut as string[] | undefined) ?? []) out.add(s);
  return out;
}

export interface LeakageReport {
  checkedAt: string;
  method: string;
  thresholds: { shingleWords: number; nearDuplicateJaccard: number };
  evaluation: { suiteVersions: number; items: number; texts: number };
  heldOutSubcategories: string[];
  /** Training prompts in a held-out subcategory. */
  heldOut: { count: number; prompts: string[] };
  exactDuplicates: number;
  nearDuplicates: number;
  /** Training prompts with at least one exact or near duplicate among evaluation prompts. */
  flaggedPrompts: { key: string; category: string; subcategory: string; exact: number; near: number; maxJaccard: number }[];
  /** Up to 200 of the matching pairs. */
  matches: LeakMatch[];
  perCategory: Record<string, { prompts: number; flagged: number; heldOut: number }>;
  passed: boolean;
}

/** Runs both checks (held-out subcategories, exact and near duplicates of any evaluation prompt) over the candidates. */
export async function checkLeakage(db: Db, d1: D1Database, candidates: Candidate[]): Promise<LeakageReport> {
  await storeBuiltinSuites(db);
  const held = await heldOutSubcategories(d1);
  const index = new LeakageIndex(candidates);
  const scanned = await probeStoredSuites(d1, index);
  const heldOut = candidates.filter((c) => held.has(c.subcategory));
  const flaggedPrompts = [...index.flagged.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([i, f]) => ({ key: candidates[i].key, category: candidates[i].category, subcategory: candidates[i].subcategory, ...f }));
  const perCategory: LeakageReport["perCategory"] = {};
  candidates.forEach((c, i) => {
    const row = (perCategory[c.category] ??= { prompts: 0, flagged: 0, heldOut: 0 });
    row.prompts++;
    if (index.flagged.has(i)) row.flagged++;
    if (held.has(c.subcategory)) row.heldOut++;
  });
  const exactCount = [...index.flagged.values()].reduce((a, f) => a + f.exact, 0);
  const nearCount = [...index.flagged.values()].reduce((a, f) => a + f.near, 0);
  return {
    checkedAt: new Date().toISOString(),
    method: "normalised text; word 5-gram shingles; candidates found through an inverted shingle index; exact Jaccard",
    thresholds: { shingleWords: SHINGLE_WORDS, nearDuplicateJaccard: NEAR_DUPLICATE_JACCARD },
    evaluation: { suiteVersions: scanned.suiteVersions, items: scanned.items, texts: index.evaluationTexts },
    heldOutSubcategories: [...held].sort(),
    heldOut: { count: heldOut.length, prompts: heldOut.map((c) => c.key) },
    exactDuplicates: exactCount,
    nearDuplicates: nearCount,
    flaggedPrompts,
    matches: index.matches,
    perCategory,
    passed: heldOut.length === 0 && flaggedPrompts.length === 0,
  };
}
