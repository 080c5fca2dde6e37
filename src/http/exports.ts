/**
 * @module http/exports: the raw judgments of a run as streamed CSV or JSONL. Anonymous callers get identities,
 * statuses and scores; the admin key adds prompts, answers and error texts. Private endpoints need the key.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import { PrivacyView } from "../reports/privacy";
import type { AppEnv } from "../env";
import { judgmentsStream } from "../reports/export";
import { visibleRun } from "./privacy";
import { errors, IdParam } from "./schemas";

const description =
  "One row per unit of work (answers and judgments) with its score and parsed result, in storage order, streamed. Without the admin key the prompt, answer and last_error columns are left out and only numeric fields and short labels of `parsed` are kept. CSV text cells that a spreadsheet would evaluate as a formula are prefixed with a single quote.";

const csvRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/judgments.csv",
  summary: "Raw judgments as CSV",
  description,
  request: { params: IdParam },
  responses: { 200: { content: { "text/csv": { schema: z.string() } }, description: "CSV (RFC 4180, CRLF line ends, header row)" }, ...errors },
});
const jsonlRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/judgments.jsonl",
  summary: "Raw judgments as JSONL",
  description,
  request: { params: IdParam },
  responses: { 200: { content: { "application/x-ndjson": { schema: z.string() } }, description: "One JSON object per line" }, ...errors },
});

function streamed(c: Parameters<typeof visibleRun>[0], runId: string, format: "csv" | "jsonl", view: PrivacyView) {
  const admin = c.get("isAdmin");
  return new Response(judgmentsStream(c.env.DB, c.env.RAW, runId, format, admin, view), {
    status: 200,
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${runId}-judgments${admin ? "-full" : ""}.${format}"`,
      // Admin exports hold prompts and answers: never stored by shared caches.
      "cache-control": admin ? "private, no-store" : "public, max-age=60",
      vary: "Authorization",
      "x-content-type-options": "nosniff",
    },
  });
}

export const exportRoutes = new OpenAPIHono<AppEnv>()
  .openapi(csvRoute, async (c) => {
    const { run } = await visibleRun(c, getDb(c.env.DB), c.req.valid("param").id);
    return streamed(c, run.id, "csv", await PrivacyView.of(getDb(c.env.DB), c.get("isAdmin"))) as never;
  })
  .openapi(jsonlRoute, async (c) => {
    const { run } = await visibleRun(c, getDb(c.env.DB), c.req.valid("param").id);
    return streamed(c, run.id, "jsonl", await PrivacyView.of(getDb(c.env.DB), c.get("isAdmin"))) as never;
  });
