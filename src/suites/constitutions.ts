/** @module suites/constitutions: the four constitutions in constitutions/, with their versioned expected signatures. */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import consequentialism from "../../constitutions/consequentialism.yaml";
import deontology from "../../constitutions/deontology.yaml";
import subordinate from "../../constitutions/subordinate_to_humanity.yaml";
import virtue from "../../constitutions/virtue_ethics.yaml";
import { cosine } from "../stats/vector";
import { CANONICAL_DIMENSIONS, type Dimension } from "../kinds/persona/format";

const weights = z.object(Object.fromEntries(CANONICAL_DIMENSIONS.map((d) => [d, z.number().min(-1).max(1)])) as Record<Dimension, z.ZodNumber>);

const constitutionSchema = z.object({
  id: z.string(),
  title: z.string(),
  version: z.number().int(),
  summary: z.string(),
  principles: z.array(z.object({ id: z.string(), critique: z.string().min(1), revision: z.string().min(1) })).min(12),
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

export const CONSTITUTION_IDS = ["deontology", "consequentialism", "virtue_ethics", "subordinate_to_humanity"] as const;
export type ConstitutionId = (typeof CONSTITUTION_IDS)[number];

let cache: Map<string, Constitution> | undefined;

/** All four constitutions, parsed and validated once per isolate. */
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

/** Cosine similarity between every pair of signatures (how distinguishable the constitutions are). */
export function signatureSimilarity(): { ids: string[]; matrix: number[][] } {
  const all = [...constitutions().values()];
  return { ids: all.map((c) => c.id), matrix: all.map((a) => all.map((b) => cosine(signatureVector(a), signatureVector(b)))) };
}
