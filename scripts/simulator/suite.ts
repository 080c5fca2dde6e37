/** @module Loads the built-in persona suite so the simulator knows what each statement measures. */

import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { PERSONA_IDS } from "./personas.ts";
import type { PersonaId } from "./personas.ts";
import { uniformHash } from "./random.ts";

export const DEFAULT_PERSONA_SUITE_PATH = fileURLToPath(new URL("../../src/suites/builtin/persona-diagnostic.yaml", import.meta.url));

/** Range of the item effect shared by all personas. */
export const ITEM_EFFECT = 0.05;
/** Range of the persona-by-item interaction. */
export const INTERACTION_EFFECT = 0.12;

export interface KnownStatement {
  id: string;
  dimension: string;
  /** True when answering " Yes" matches the dimension's behaviour. */
  yesKeyed: boolean;
  /** Item effect shared by all personas (mean zero in expectation, not centred over the suite). */
  itemEffect: number;
  /** Persona-by-item interaction (mean zero in expectation, not centred). */
  interaction: Record<PersonaId, number>;
}

export interface SuiteIndex {
  path: string | null;
  byKey: Map<string, KnownStatement>;
}

export const EMPTY_SUITE: SuiteIndex = { path: null, byKey: new Map() };

/** Lowercase, collapse whitespace, trim trailing punctuation, so quoting/spacing variants still match. */
export function normaliseStatement(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[\s.,;:!?"'\u2019\u201d]+$/u, "")
    .trim();
}

export function itemEffectFor(key: string): number {
  return uniformHash(-ITEM_EFFECT, ITEM_EFFECT, "item", key);
}

export function interactionFor(persona: string, key: string): number {
  return uniformHash(-INTERACTION_EFFECT, INTERACTION_EFFECT, "persona-item", persona, key);
}

interface RawItem {
  id?: unknown;
  dimension?: unknown;
  statement?: unknown;
  answer_matching_behavior?: unknown;
}

/**
 * Build the index from a parsed suite document. The hashed effects are NOT centred: PLANTED is the
 * population value, and a finite suite's mean misses it by sampling noise, as real items would. That
 * keeps the recovery test honest (the reported CI has to cover the planted value).
 */
export function indexSuite(doc: unknown, path: string | null = null): SuiteIndex {
  const items = (doc as { items?: unknown } | null)?.items;
  const byKey = new Map<string, KnownStatement>();
  if (!Array.isArray(items)) return { path, byKey };
  for (const raw of items as RawItem[]) {
    if (typeof raw?.statement !== "string" || typeof raw.dimension !== "string") continue;
    const key = normaliseStatement(raw.statement);
    if (!key || byKey.has(key)) continue;
    const interaction = {} as Record<PersonaId, number>;
    for (const persona of PERSONA_IDS) interaction[persona] = interactionFor(persona, key);
    const entry: KnownStatement = {
      id: typeof raw.id === "string" ? raw.id : key,
      dimension: raw.dimension,
      yesKeyed:
        String(raw.answer_matching_behavior ?? " Yes")
          .trim()
          .toLowerCase() === "yes",
      itemEffect: itemEffectFor(key),
      interaction,
    };
    byKey.set(key, entry);
  }
  return { path, byKey };
}

const cache = new Map<string, { mtimeMs: number; index: SuiteIndex }>();

/** Load and index a suite file, cached by path and mtime; a missing file gives an empty index. */
export function loadPersonaSuite(path: string = DEFAULT_PERSONA_SUITE_PATH): SuiteIndex {
  if (!existsSync(path)) return { path, byKey: new Map() };
  const mtimeMs = statSync(path).mtimeMs;
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.index;
  const index = indexSuite(parse(readFileSync(path, "utf8")), path);
  cache.set(path, { mtimeMs, index });
  return index;
}
