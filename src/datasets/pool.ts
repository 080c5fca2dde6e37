/**
 * @module datasets/pool: red-team training pools (ours built in, others imported) and the helpfulness pool, stored as
 * suites of kind `training-pool`; runs never execute them and leakage checks never count them as evaluation items.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ApiError } from "../lib/errors";
import { type FieldMapping, parseMappedSafety, type SafetyPayload } from "../kinds/safety/format";
import type { SuiteDefinition, SuiteItem } from "../suites/types";
import helpfulnessPool from "../suites/builtin/helpfulness-pool.yaml";
import safetyTrainingPool from "../suites/builtin/safety-training-pool.yaml";

/** Suite kind of a training pool: prompts to generate training data from, never evaluation items. */
export const TRAINING_POOL_KIND = "training-pool";
/** The built-in red-team pool (ours: 184 prompts, 23 per subcategory). */
export const BUILTIN_POOL_ID = "safety-training-pool";
/** The built-in helpfulness pool (ours: 40 benign prompts). */
export const HELPFULNESS_POOL_ID = "helpfulness-pool";
/** Category label of helpfulness items (they have no harm category). */
export const HELPFULNESS_CATEGORY = "helpfulness";

/** A training-pool item's payload. */
export interface PoolPayload {
  prompt: string;
  category: string;
  subcategory: string;
  /** True for helpfulness prompts: answered once per sample, never critiqued. */
  helpfulness?: boolean;
}

const poolSchema = z.object({
  pool: z.string(),
  items: z.array(z.object({ category: z.string().min(1), subcategory: z.string().min(1), prompt: z.string().min(1) })).min(1),
});

const helpfulnessSchema = z.object({
  pool: z.string(),
  items: z.array(z.object({ topic: z.string().min(1), prompt: z.string().min(1) })).min(1),
});

function poolItem(key: string, p: PoolPayload): SuiteItem {
  return { key, dimension: p.category, keying: p.subcategory, payload: p as unknown as Record<string, unknown> };
}

/** Keys `<subcategory>-NN`, numbered within each subcategory in file order. */
export function parsePoolYaml(text: string): SuiteDefinition {
  const doc = poolSchema.parse(parseYaml(text));
  const seen = new Map<string, number>();
  const items = doc.items.map((it) => {
    const n = (seen.get(it.subcategory) ?? 0) + 1;
    seen.set(it.subcategory, n);
    return poolItem(`${it.subcategory}-${String(n).padStart(2, "0")}`, { prompt: it.prompt.trim(), category: it.category, subcategory: it.subcategory });
  });
  return poolDefinition(doc.pool, "builtin", items, { description: "Red-team training prompts written by the projectability maintainers" });
}

function poolDefinition(id: string, source: "builtin" | "import", items: SuiteItem[], extra: Record<string, unknown>): SuiteDefinition {
  const categories = [...new Set(items.map((i) => i.dimension))];
  return {
    id,
    kind: TRAINING_POOL_KIND,
    title: id,
    source,
    meta: {
      kind: TRAINING_POOL_KIND,
      categories: categories.map((c) => ({ id: c, subcategories: [...new Set(items.filter((i) => i.dimension === c).map((i) => i.keying))] })),
      ...extra,
    },
    items,
  };
}

let builtinCache: SuiteDefinition | undefined;
let helpfulnessCache: SuiteDefinition | undefined;

export function builtinPool(): SuiteDefinition {
  builtinCache ??= parsePoolYaml(safetyTrainingPool);
  return builtinCache;
}

/** The helpfulness prompts: category "helpfulness", subcategory = topic. */
export function helpfulnessPoolDefinition(): SuiteDefinition {
  if (!helpfulnessCache) {
    const doc = helpfulnessSchema.parse(parseYaml(helpfulnessPool));
    const seen = new Map<string, number>();
    const items = doc.items.map((it) => {
      const n = (seen.get(it.topic) ?? 0) + 1;
      seen.set(it.topic, n);
      return poolItem(`help-${it.topic}-${String(n).padStart(2, "0")}`, {
        prompt: it.prompt.trim(),
        category: HELPFULNESS_CATEGORY,
        subcategory: it.topic,
        helpfulness: true,
      });
    });
    helpfulnessCache = poolDefinition(doc.pool, "builtin", items, { description: "Helpfulness prompts written by the projectability maintainers" });
  }
  return helpfulnessCache;
}

/** A built-in pool by id, if it is one. */
export function builtinPoolById(id: string): SuiteDefinition | undefined {
  if (id === BUILTIN_POOL_ID) return builtinPool();
  if (id === HELPFULNESS_POOL_ID) return helpfulnessPoolDefinition();
  return undefined;
}

/**
 * An imported red-team pool: CSV or JSONL with a field mapping (prompt, category, subcategory columns), parsed like a
 * mapped safety import and stored as a training pool. Rows flagged borderline are refused: a pool holds red-team prompts.
 */
export function parsePoolImport(text: string, format: "csv" | "jsonl", poolId: string, map: FieldMapping): SuiteDefinition {
  const parsed = parseMappedSafety(text, format, poolId, map);
  const borderline = parsed.items.filter((i) => (i.payload as unknown as SafetyPayload).borderline);
  if (borderline.length)
    throw new ApiError("invalid_request", `a training pool holds red-team prompts only; ${borderline.length} row(s) are flagged borderline`);
  const items = parsed.items.map((i) => {
    const p = i.payload as unknown as SafetyPayload;
    return poolItem(i.key, { prompt: p.prompt, category: p.category, subcategory: p.subcategory });
  });
  return poolDefinition(poolId, "import", items, { format, mapping: map });
}
