/**
 * @module suites/constitutions: the four built-in constitutions in constitutions/, with their versioned expected
 * signatures, and the schema custom ones (POST /v1/constitutions, stored in D1) are checked against. Loading the
 * merged set is db/queries/constitutions.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import consequentialism from "../../constitutions/consequentialism.yaml";
import deontology from "../../constitutions/deontology.yaml";
import subordinate from "../../constitutions/subordinate_to_humanity.yaml";
import virtue from "../../constitutions/virtue_ethics.yaml";
import { cosine } from "../stats/vector";
import { CANONICAL_DIMENSIONS, type Dimension } from "../kinds/persona/format";

const weights = z.object(Object.fromEntries(CANONICAL_DIMENSIONS.map((d) => [d, z.number().min(-1).max(1)])) as Record<Dimension, z.ZodNumber>);

/** A constitution id: lowercase snake_case (the same shape as the built-in ones). */
export const CONSTITUTION_ID = /^[a-z][a-z0-9_]{1,63}$/;

const constitutionSchema = z.object({
  id: z.string().regex(CONSTITUTION_ID, "lowercase letters, digits and _, starting with a letter"),
  title: z.string().min(1).max(200),
  version: z.number().int().min(1),
  summary: z.string().max(4000),
  principles: z.array(z.object({ id: z.string().min(1).max(100), critique: z.string().min(1).max(4000), revision: z.string().min(1).max(4000) })).min(12),
  signature: z.object({
    version: z.number().int(),
    source: z.string(),
    weights,
    contrasts: z.array(z.object({ higher: z.enum(CANONICAL_DIMENSIONS), lower: z.enum(CANONICAL_DIMENSIONS) })),
  }),
  few_shot: z
    .array(z.object({ prompt: z.string(), response: z.string(), critique_principle: z.string(), critique: z.string(), revision: z.string() }))
    .default([]),
});

export type Constitution = z.infer<typeof constitutionSchema>;

/** The fewest critique/revision pairs a custom constitution may have (ours: one principle cannot vary the critiques; the built-ins have 12 or more). */
export const MIN_CUSTOM_PRINCIPLES = 4;

/**
 * A custom constitution as posted: principles as critique/revision pairs with unique ids, a signature over the four
 * persona dimensions (weights in [-1, 1], not all zero) with contrasts, a version; few-shot examples must name one of
 * its principles.
 */
export const customConstitutionSchema = constitutionSchema
  .extend({
    summary: z.string().max(4000).default(""),
    principles: z
      .array(z.object({ id: z.string().min(1).max(100), critique: z.string().min(1).max(4000), revision: z.string().min(1).max(4000) }))
      .min(MIN_CUSTOM_PRINCIPLES)
      .max(200),
    signature: constitutionSchema.shape.signature.extend({
      version: z.number().int().min(1).default(1),
      source: z.string().min(1).max(500).default("custom (posted through the API)"),
      contrasts: constitutionSchema.shape.signature.shape.contrasts.default([]),
    }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    c.principles.forEach((p, i) => {
      if (ids.has(p.id)) ctx.addIssue({ code: "custom", path: ["principles", i, "id"], message: `duplicate principle id ${p.id}` });
      ids.add(p.id);
    });
    c.few_shot.forEach((f, i) => {
      if (!ids.has(f.critique_principle))
        ctx.addIssue({ code: "custom", path: ["few_shot", i, "critique_principle"], message: `names no principle: ${f.critique_principle}` });
    });
    if (CANONICAL_DIMENSIONS.every((d) => c.signature.weights[d] === 0))
      ctx.addIssue({ code: "custom", path: ["signature", "weights"], message: "a signature needs a non-zero weight" });
    c.signature.contrasts.forEach((k, i) => {
      if (k.higher === k.lower) ctx.addIssue({ code: "custom", path: ["signature", "contrasts", i], message: "a contrast needs two different dimensions" });
    });
  });

export const CONSTITUTION_IDS = ["deontology", "consequentialism", "virtue_ethics", "subordinate_to_humanity"] as const;
/** The four built-in constitutions: read-only (a POST with one of these ids is refused). */
export const BUILTIN_CONSTITUTION_IDS: readonly string[] = CONSTITUTION_IDS;
export type ConstitutionId = (typeof CONSTITUTION_IDS)[number];

let cache: Map<string, Constitution> | undefined;

/** The four built-in constitutions, parsed and validated once per isolate (custom ones: loadConstitutions). */
export function constitutions(): Map<string, Constitution> {
  if (!cache) {
    cache = new Map();
    for (const text of [deontology, consequentialism, virtue, subordinate]) {
      const c = constitutionSchema.parse(parseYaml(text));
      cache.set(c.id, c);
    }
  }
  return cache;
}

export function getConstitution(id: string): Constitution | undefined {
  return constitutions().get(id);
}

/** The signature's weights as a vector in CANONICAL_DIMENSIONS order. */
export function signatureVector(c: Constitution): number[] {
  return CANONICAL_DIMENSIONS.map((d) => c.signature.weights[d]);
}

/** Cosine similarity between every pair of signatures (how distinguishable the constitutions are); default the built-ins. */
export function signatureSimilarity(all: Constitution[] = [...constitutions().values()]): { ids: string[]; matrix: number[][] } {
  return { ids: all.map((c) => c.id), matrix: all.map((a) => all.map((b) => cosine(signatureVector(a), signatureVector(b)))) };
}
