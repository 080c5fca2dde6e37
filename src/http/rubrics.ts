/** @module http/rubrics: list the judge rubrics (built-in and imported) and import one from a YAML file. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { getRubric, importRubric, listRubrics, MAX_RUBRIC_BYTES, type Rubric } from "../judges/rubrics";
import { ApiError } from "../lib/errors";
import { requireAdmin } from "./auth";
import { Bearer, errors, json } from "./schemas";

const RubricSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    target: z
      .string()
      .openapi({ description: "The judge stage it serves: safety, misalignment-aligned, misalignment-coherent, consistency-harm, consistency-language" }),
    parser: z.string().openapi({ description: "json-verdict | number-0-100-logprob | yes-no | scale-1-5" }),
    template: z.string(),
    slots: z.record(z.string(), z.string()),
    thresholds: z.record(z.string(), z.number()),
    harmfulAnswer: z.string().nullable(),
    source: z.string(),
    promptHash: z.string().openapi({ description: "SHA-256 of the template; runs pin it" }),
    builtin: z.boolean(),
  })
  .openapi("Rubric");

const view = (r: Rubric) => ({
  id: r.id,
  title: r.title,
  target: r.target,
  parser: r.parser,
  template: r.template,
  slots: r.slots,
  thresholds: r.thresholds,
  harmfulAnswer: r.harmful_answer ?? null,
  source: r.source,
  promptHash: r.promptHash,
  builtin: r.builtin,
});

const importRoute = createRoute({
  method: "post",
  path: "/v1/rubrics/import",
  security: Bearer,
  middleware: [requireAdmin] as const,
  description:
    "The rubric file (YAML, docs/safety.md#rubrics) is the request body. The id is the version: the same file again is a no-op (200), other content under a stored id is a 409.",
  request: { body: { content: { "application/yaml": { schema: z.string() }, "text/plain": { schema: z.string() } }, required: true } },
  responses: { 201: json(RubricSchema, "Stored"), 200: json(RubricSchema, "Identical rubric already stored"), ...errors },
});
const listRoute = createRoute({
  method: "get",
  path: "/v1/rubrics",
  responses: { 200: json(z.object({ rubrics: z.array(RubricSchema) }), "Built-in rubrics, then imported ones") },
});
const readRoute = createRoute({
  method: "get",
  path: "/v1/rubrics/{id}",
  request: { params: z.object({ id: z.string().min(1).max(100) }) },
  responses: { 200: json(RubricSchema, "The rubric"), ...errors },
});

export const rubricRoutes = new OpenAPIHono<AppEnv>()
  .openapi(importRoute, async (c) => {
    if (Number(c.req.header("content-length") ?? 0) > MAX_RUBRIC_BYTES)
      throw new ApiError("payload_too_large", `a rubric file is at most ${MAX_RUBRIC_BYTES} bytes`);
    const text = await c.req.text();
    if (new TextEncoder().encode(text).length > MAX_RUBRIC_BYTES) throw new ApiError("payload_too_large", `a rubric file is at most ${MAX_RUBRIC_BYTES} bytes`);
    const { rubric, created } = await importRubric(getDb(c.env.DB), text);
    return created ? c.json(view(rubric), 201) : c.json(view(rubric), 200);
  })
  .openapi(listRoute, async (c) => c.json({ rubrics: (await listRubrics(getDb(c.env.DB))).map(view) }, 200))
  .openapi(readRoute, async (c) => {
    const r = await getRubric(getDb(c.env.DB), c.req.valid("param").id).catch((e) => {
      throw e instanceof ApiError && e.code === "invalid_request" ? new ApiError("not_found", e.message) : e;
    });
    return c.json(view(r), 200);
  });
