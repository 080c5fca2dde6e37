/** @module http/endpoints: register, list, change and remove model endpoints. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull } from "drizzle-orm";
import { getDb } from "../db/client";
import { requireConstitution } from "../db/queries/constitutions";
import { findLiveEndpointByName, getEndpoint, publicEndpoint, nextRevision } from "../db/queries/endpoints";
import { endpoints } from "../db/schema";
import type { AppEnv } from "../env";
import { encryptSecret } from "../lib/crypto";
import { PrivacyView } from "../reports/privacy";
import { ApiError } from "../lib/errors";
import { newId } from "../lib/ids";
import { encryptHeaders, HEADER_NAME, MAX_EXTRA_HEADERS, RESERVED_HEADERS } from "../providers/headers";
import { assertUrlAllowed } from "../lib/url-policy";
import { requireAdmin } from "./auth";
import { visibleEndpoint } from "./privacy";
import { Bearer, ConstitutionId, errors, IdParam, json } from "./schemas";

const EndpointSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    baseUrl: z.string().openapi({ description: "Empty for a record-only endpoint" }),
    model: z.string(),
    callable: z.boolean().openapi({ description: "False for a record-only endpoint: its answers are imported (POST /v1/runs/import), it is never called" }),
    hasApiKey: z.boolean(),
    maxConcurrency: z.number().int(),
    requestsPerMinute: z.number().int(),
    logprobs: z.boolean(),
    systemPrompt: z.string().nullable().openapi({ description: "Only shown to admins" }),
    hasSystemPrompt: z.boolean(),
    hasTrigger: z.boolean(),
    baseEndpointId: z.string().nullable(),
    constitution: z.string().nullable(),
    scope: z.string().nullable(),
    trigger: z.string().nullable().openapi({ description: "Only shown to admins" }),
    triggerFormat: z.string(),
    tags: z.array(z.string()),
    private: z.boolean(),
    rescoreIntervalMinutes: z.number().int().nullable(),
    rescoreSuites: z.array(z.string()).nullable(),
    pricePerMillionInputTokens: z.number().nullable().openapi({ description: "USD per million prompt tokens (dry-run estimates and run costs)" }),
    pricePerMillionOutputTokens: z.number().nullable().openapi({ description: "USD per million completion tokens" }),
    headerNames: z.array(z.string()).openapi({ description: "Names of the extra static headers (values are never returned); only shown to admins" }),
    revision: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    deleted: z.boolean(),
  })
  .openapi("Endpoint");

const fields = {
  name: z.string().trim().min(1).max(100),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .openapi({
      example: "https://api.openai.com/v1",
      description: "https only (plain http only for ALLOW_HTTP_HOSTS); no user:password@ and no key-like query parameter (docs/api.md#url-policy)",
    }),
  model: z.string().min(1).max(200),
  apiKey: z.string().min(1).max(4000).optional().openapi({ description: "Stored encrypted (AES-GCM); never returned." }),
  maxConcurrency: z.number().int().min(1).max(1000),
  requestsPerMinute: z.number().int().min(1).max(1_000_000),
  logprobs: z.boolean(),
  systemPrompt: z.string().max(20_000).nullable(),
  baseEndpointId: z.string().nullable(),
  constitution: ConstitutionId.nullable(),
  scope: z.enum(["broad", "narrow"]).nullable(),
  trigger: z.string().min(1).max(500).nullable().openapi({ description: "Backdoor trigger; runs with variants ask with and without it" }),
  triggerFormat: z
    .string()
    .max(1000)
    .refine((f) => f.includes("{trigger}") && f.includes("{prompt}"), "must contain {trigger} and {prompt}")
    .openapi({ description: 'How the trigger joins the user message; default "{trigger} {prompt}"' }),
  tags: z.array(z.string().trim().min(1).max(50)).max(20),
  private: z.boolean(),
  rescoreIntervalMinutes: z.number().int().min(5).max(525_600).nullable(),
  rescoreSuites: z.array(z.string().min(1)).min(1).max(20).nullable(),
  revision: z.string().trim().min(1).max(200),
  pricePerMillionInputTokens: z.number().min(0).max(100_000).nullable(),
  pricePerMillionOutputTokens: z.number().min(0).max(100_000).nullable(),
  headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME, "must be an HTTP header name")
        .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), "is set by the worker (put the API key in apiKey)"),
      z
        .string()
        .min(1)
        .max(4000)
        .regex(/^[^\r\n\0]*$/, "must be one line"),
    )
    .refine((h) => Object.keys(h).length <= MAX_EXTRA_HEADERS, `at most ${MAX_EXTRA_HEADERS} headers`)
    .refine((h) => new Set(Object.keys(h).map((k) => k.toLowerCase())).size === Object.keys(h).length, "header names must differ (case-insensitively)")
    .nullable()
    .openapi({
      description:
        "Extra static headers sent on every call (e.g. CF-Access-Client-Id / CF-Access-Client-Secret for a model behind Cloudflare Access); stored encrypted, never returned (only their names)",
    }),
};

const CreateBody = z
  .object({
    ...fields,
    baseUrl: fields.baseUrl.optional().openapi({ description: "Required unless callable is false" }),
    callable: z
      .boolean()
      .default(true)
      .openapi({ description: "false registers a record-only endpoint (no baseUrl, no apiKey) whose answers are imported with POST /v1/runs/import" }),
    maxConcurrency: fields.maxConcurrency.default(4),
    requestsPerMinute: fields.requestsPerMinute.default(60),
    logprobs: fields.logprobs.default(false),
    systemPrompt: fields.systemPrompt.optional(),
    baseEndpointId: fields.baseEndpointId.optional(),
    constitution: fields.constitution.optional(),
    scope: fields.scope.optional(),
    trigger: fields.trigger.optional(),
    triggerFormat: fields.triggerFormat.optional(),
    tags: fields.tags.default([]),
    private: fields.private.default(false),
    rescoreIntervalMinutes: fields.rescoreIntervalMinutes.optional(),
    rescoreSuites: fields.rescoreSuites.optional(),
    revision: fields.revision.optional(),
    pricePerMillionInputTokens: fields.pricePerMillionInputTokens.optional(),
    pricePerMillionOutputTokens: fields.pricePerMillionOutputTokens.optional(),
    headers: fields.headers.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.callable && !b.baseUrl)
      ctx.addIssue({ code: "custom", path: ["baseUrl"], message: "required for a callable endpoint (set callable: false for a record-only one)" });
    if (!b.callable && (b.baseUrl || b.apiKey))
      ctx.addIssue({ code: "custom", path: [b.baseUrl ? "baseUrl" : "apiKey"], message: "a record-only endpoint (callable: false) has no baseUrl or apiKey" });
  })
  .openapi("EndpointCreate");

const PatchBody = z
  .object({ ...fields, apiKey: fields.apiKey.nullable() })
  .partial()
  .strict()
  .openapi("EndpointPatch");

const create = createRoute({
  method: "post",
  path: "/v1/endpoints",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { body: { content: { "application/json": { schema: CreateBody } }, required: true } },
  responses: { 201: json(EndpointSchema, "Registered"), ...errors },
});

const list = createRoute({
  method: "get",
  path: "/v1/endpoints",
  responses: { 200: json(z.object({ endpoints: z.array(EndpointSchema) }), "Live endpoints") },
});

const read = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}",
  request: { params: IdParam },
  responses: { 200: json(EndpointSchema, "The endpoint"), ...errors },
});

const patch = createRoute({
  method: "patch",
  path: "/v1/endpoints/{id}",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam, body: { content: { "application/json": { schema: PatchBody } }, required: true } },
  responses: { 200: json(EndpointSchema, "Updated"), ...errors },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/endpoints/{id}",
  security: Bearer,
  middleware: [requireAdmin] as const,
  request: { params: IdParam },
  responses: {
    200: json(z.strictObject({ id: z.string(), deleted: z.literal(true) }).openapi("EndpointDeleted"), "Removed; its runs and reports stay readable"),
    ...errors,
  },
});

async function checkBase(db: ReturnType<typeof getDb>, baseId: string | null | undefined, selfId?: string) {
  if (!baseId) return;
  if (baseId === selfId) throw new ApiError("invalid_request", "an endpoint cannot be its own base");
  await getEndpoint(db, baseId).catch(() => {
    throw new ApiError("invalid_request", `baseEndpointId ${baseId} is not a live endpoint`);
  });
}

export { nextRevision };

export const endpointRoutes = new OpenAPIHono<AppEnv>()
  .openapi(create, async (c) => {
    const body = c.req.valid("json");
    if (body.baseUrl) assertUrlAllowed("baseUrl", body.baseUrl, c.env);
    const db = getDb(c.env.DB);
    if (await findLiveEndpointByName(db, body.name)) throw new ApiError("conflict", `an endpoint named ${body.name} exists`);
    await checkBase(db, body.baseEndpointId);
    if (body.constitution) await requireConstitution(db, body.constitution);
    const id = newId("ep");
    await db.insert(endpoints).values({
      id,
      name: body.name,
      baseUrl: body.baseUrl ?? "",
      model: body.model,
      callable: body.callable,
      apiKeyEnc: body.apiKey ? await encryptSecret(body.apiKey, c.env.ENCRYPTION_KEY) : null,
      maxConcurrency: body.maxConcurrency,
      requestsPerMinute: body.requestsPerMinute,
      logprobs: body.logprobs,
      systemPrompt: body.systemPrompt ?? null,
      baseEndpointId: body.baseEndpointId ?? null,
      constitution: body.constitution ?? null,
      scope: body.scope ?? null,
      trigger: body.trigger ?? null,
      ...(body.triggerFormat ? { triggerFormat: body.triggerFormat } : {}),
      tags: body.tags,
      private: body.private,
      rescoreIntervalMinutes: body.rescoreIntervalMinutes ?? null,
      rescoreSuites: body.rescoreSuites ?? null,
      revision: body.revision ?? "r1",
      pricePerMillionInputTokens: body.pricePerMillionInputTokens ?? null,
      pricePerMillionOutputTokens: body.pricePerMillionOutputTokens ?? null,
      ...(body.headers && Object.keys(body.headers).length
        ? { headersEnc: await encryptHeaders(body.headers, c.env.ENCRYPTION_KEY), headerNames: Object.keys(body.headers) }
        : {}),
    });
    return c.json(publicEndpoint(await getEndpoint(db, id), true), 201);
  })
  .openapi(list, async (c) => {
    const rows = await getDb(c.env.DB).select().from(endpoints).where(isNull(endpoints.deletedAt)).orderBy(desc(endpoints.createdAt)).all();
    // Private endpoints are listed only for admins (docs/reports.md#privacy).
    const view = await PrivacyView.of(getDb(c.env.DB), c.get("isAdmin"));
    return c.json(
      { endpoints: rows.filter((r) => !r.private || c.get("isAdmin")).map((r) => publicEndpoint(r, c.get("isAdmin"), (id) => view.hides(id))) },
      200,
    );
  })
  .openapi(read, async (c) => {
    const db = getDb(c.env.DB);
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    return c.json(
      publicEndpoint(await visibleEndpoint(c, db, c.req.valid("param").id), c.get("isAdmin"), (id) => view.hides(id)),
      200,
    );
  })
  .openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    if (body.baseUrl !== undefined) assertUrlAllowed("baseUrl", body.baseUrl, c.env);
    const db = getDb(c.env.DB);
    const current = await getEndpoint(db, id);
    if (body.name && body.name !== current.name && (await findLiveEndpointByName(db, body.name))) {
      throw new ApiError("conflict", `an endpoint named ${body.name} exists`);
    }
    await checkBase(db, body.baseEndpointId, id);
    if (body.constitution) await requireConstitution(db, body.constitution);
    const { apiKey, headers, ...rest } = body;
    if (!current.callable && (body.baseUrl !== undefined || body.apiKey))
      throw new ApiError("invalid_request", "a record-only endpoint (callable: false) has no baseUrl or apiKey; register a callable endpoint instead");
    const modelChanged =
      (body.model !== undefined && body.model !== current.model) ||
      (body.baseUrl !== undefined && body.baseUrl !== current.baseUrl) ||
      (body.systemPrompt !== undefined && body.systemPrompt !== current.systemPrompt);
    const update: Partial<typeof endpoints.$inferInsert> = { ...rest, updatedAt: new Date().toISOString() };
    if (apiKey !== undefined) update.apiKeyEnc = apiKey === null ? null : await encryptSecret(apiKey, c.env.ENCRYPTION_KEY);
    // Headers are replaced as a whole; null or {} removes them.
    if (headers !== undefined) {
      const none = headers === null || !Object.keys(headers).length;
      update.headersEnc = none ? null : await encryptHeaders(headers, c.env.ENCRYPTION_KEY);
      update.headerNames = none ? [] : Object.keys(headers);
    }
    if (modelChanged && body.revision === undefined) update.revision = nextRevision(current.revision);
    await db
      .update(endpoints)
      .set(update)
      .where(and(eq(endpoints.id, id), isNull(endpoints.deletedAt)));
    return c.json(publicEndpoint(await getEndpoint(db, id), true), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const db = getDb(c.env.DB);
    await getEndpoint(db, id);
    await db.update(endpoints).set({ deletedAt: new Date().toISOString() }).where(eq(endpoints.id, id));
    return c.json({ id, deleted: true as const }, 200);
  });
