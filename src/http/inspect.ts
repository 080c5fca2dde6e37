/**
 * @module http/inspect: `GET /v1/runs/{id}/export?format=inspect`, a run as an Inspect eval log (streamed JSON).
 * Anonymous callers get scores and metadata only (404 when nothing public remains); the admin key adds prompts,
 * answers and error texts. Private endpoints need the key.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { answersStream } from "../reports/answers-export";
import { hasPublicContent, inspectHeader, inspectLogStream } from "../reports/inspect";
import { requireAdmin } from "./auth";
import { visibleRun } from "./privacy";
import { Bearer, errors, IdParam } from "./schemas";

const route = createRoute({
  method: "get",
  path: "/v1/runs/{id}/export",
  summary: "The run as an Inspect eval log",
  description:
    "An Inspect (`inspect_ai`) eval log, log format version 2: `eval` (task = suite names, model, dataset, config), `plan`, `results` (one EvalScore per named metric, CI in metadata), `stats` (token usage per model and role) and `samples` (one per item × sample × variant, with the scores of every judge). Without the admin key prompts and answers are withheld; a run with nothing public answers 404. Open it with `inspect view` or `inspect_ai.log.read_eval_log`.",
  request: { params: IdParam, query: z.object({ format: z.enum(["inspect"]).openapi({ description: "Export format; `inspect` is the Inspect eval log" }) }) },
  responses: { 200: { content: { "application/json": { schema: z.object({}).passthrough() } }, description: "The eval log (JSON), streamed" }, ...errors },
});

const answersRoute = (format: "csv" | "jsonl") =>
  createRoute({
    method: "get",
    path: `/v1/runs/{id}/answers.${format}`,
    summary: `One row per answer with every score (${format.toUpperCase()}, admin)`,
    description:
      "One row per answer (stage-0 unit): its prompt, answer, own score and label, tokens, and for every follow-up (each judge, each sampled draw, each follow-up question) its score, label (verdict or status), status and text, side by side. CSV columns of a follow-up are `<kind>@<stage>[|<judge key>]:score|label|status|answer`. Streamed; CSV cells that a spreadsheet would run as a formula are prefixed with a quote.",
    security: Bearer,
    middleware: [requireAdmin] as const,
    request: { params: IdParam },
    responses: {
      200: {
        content: { [format === "csv" ? "text/csv" : "application/x-ndjson"]: { schema: z.string() } },
        description: format === "csv" ? "CSV (RFC 4180)" : "One JSON object per line",
      },
      ...errors,
    },
  });

const answers = (format: "csv" | "jsonl") => async (c: Parameters<typeof visibleRun>[0]) => {
  const { run } = await visibleRun(c, getDb(c.env.DB), c.req.param("id") as string);
  return new Response(answersStream(c.env.DB, c.env.RAW, run.id, format), {
    status: 200,
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${run.id}-answers.${format}"`,
      "cache-control": "private, no-store",
      "x-content-type-options": "nosniff",
    },
  });
};

export const inspectRoutes = new OpenAPIHono<AppEnv>()
  .openapi(answersRoute("csv"), answers("csv") as never)
  .openapi(answersRoute("jsonl"), answers("jsonl") as never)
  .openapi(route, async (c) => {
    const db = getDb(c.env.DB);
    const { run, endpoint } = await visibleRun(c, db, c.req.valid("param").id);
    const admin = c.get("isAdmin");
    const header = await inspectHeader(db, c.env.DB, run, endpoint, admin);
    if (!admin && !(await hasPublicContent(c.env.DB, run.id, header))) throw new ApiError("not_found", `run ${run.id} has nothing public to export yet`);
    return new Response(inspectLogStream(c.env.DB, c.env.RAW, run, endpoint, header, admin), {
      status: 200,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "content-disposition": `attachment; filename="${run.id}${admin ? "-full" : ""}.inspect.json"`,
        // Admin logs hold prompts and answers: never stored by shared caches.
        "cache-control": admin ? "private, no-store" : "public, max-age=60",
        vary: "Authorization",
      },
    }) as never;
  });
