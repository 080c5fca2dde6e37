/** @module http/constitutions: the built-in and custom constitutions, their expected signatures, and adding a custom one. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { findConstitution, loadConstitutions, saveConstitution } from "../db/queries/constitutions";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { signatureSimilarity } from "../suites/constitutions";
import { requireAdmin } from "./auth";
import { AnyObject, Bearer, errors, IdParam, json } from "./schemas";

const Signature = z
  .strictObject({
    version: z.number().int(),
    source: z.string(),
    weights: z.record(z.string(), z.number()).openapi({ description: "Expected change per persona dimension, in [-1, 1]" }),
    contrasts: z.array(z.strictObject({ higher: z.string(), lower: z.string() })),
  })
  .openapi("ConstitutionSignature");
const SummaryFields = {
  id: z.string(),
  title: z.string(),
  version: z.number().int(),
  builtin: z.boolean(),
  principles: z.number().int().openapi({ description: "Critique/revision pairs" }),
  signature: Signature,
};
const ConstitutionList = z
  .strictObject({
    constitutions: z.array(z.strictObject(SummaryFields)),
    similarity: z.strictObject({ ids: z.array(z.string()), matrix: z.array(z.array(z.number())) }).openapi({ description: "Cosine between the signatures" }),
  })
  .openapi("ConstitutionList");
const ConstitutionFull = z
  .strictObject({
    id: z.string(),
    title: z.string(),
    version: z.number().int(),
    summary: z.string(),
    principles: z.array(z.strictObject({ id: z.string(), critique: z.string(), revision: z.string() })),
    signature: Signature,
    few_shot: z.array(z.strictObject({ prompt: z.string(), response: z.string(), critique_principle: z.string(), critique: z.string(), revision: z.string() })),
    builtin: z.boolean(),
  })
  .openapi("Constitution");
const ConstitutionStored = z.strictObject({ ...SummaryFields, created: z.boolean() }).openapi("ConstitutionStored");

const listRoute = createRoute({
  method: "get",
  path: "/v1/constitutions",
  responses: { 200: json(ConstitutionList, "Built-in and custom constitutions with signatures and their similarity matrix") },
});
const readRoute = createRoute({
  method: "get",
  path: "/v1/constitutions/{id}",
  request: {
    params: IdParam,
    query: z.object({
      version: z.coerce.number().int().min(1).optional().openapi({ description: "A custom constitution's older version (default: the newest)" }),
    }),
  },
  responses: { 200: json(ConstitutionFull, "One constitution"), ...errors },
});
const createConstitutionRoute = createRoute({
  method: "post",
  path: "/v1/constitutions",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "Adds a custom constitution: `id`, `title`, `version`, `summary`, `principles` (critique/revision pairs, at least 4), `signature` ({ weights over the four persona dimensions in [-1, 1], contrasts, version, source }), optional `few_shot`. The four built-in ids are read-only (409); the same id and version with other content is a 409; the same content again is a 200.",
  request: { body: { content: { "application/json": { schema: AnyObject } }, required: true } },
  responses: { 201: json(ConstitutionStored, "Stored"), 200: json(ConstitutionStored, "Identical content: the stored one"), ...errors },
});

const summary = (k: Awaited<ReturnType<typeof loadConstitutions>> extends Map<string, infer C> ? C : never) => ({
  id: k.id,
  title: k.title,
  version: k.version,
  builtin: k.builtin,
  principles: k.principles.length,
  signature: k.signature,
});

export const constitutionRoutes = new OpenAPIHono<AppEnv>()
  .openapi(listRoute, async (c) => {
    const all = [...(await loadConstitutions(getDb(c.env.DB))).values()];
    return c.json({ constitutions: all.map(summary), similarity: signatureSimilarity(all) }, 200);
  })
  .openapi(readRoute, async (c) => {
    const { id } = c.req.valid("param");
    const k = await findConstitution(getDb(c.env.DB), id, c.req.valid("query").version);
    if (!k) throw notFound("constitution", id);
    return c.json(k, 200);
  })
  .openapi(createConstitutionRoute, async (c) => {
    const { constitution, created } = await saveConstitution(getDb(c.env.DB), c.req.valid("json"));
    return c.json({ ...summary(constitution), created }, created ? 201 : 200);
  });
