/** @module http/tidy: tidy metric exports of a run and of an endpoint, CSV or JSON lines (docs/reports.md#tidy-exports). */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { endpointMetrics, runMetrics } from "../reports/metrics";
import { metricRows, tidyResponse } from "../reports/tidy";
import { publicCors } from "./leaderboard";
import { visibleEndpoint, visibleRun } from "./privacy";
import { errors, IdParam } from "./schemas";

const route = (of: "runs" | "endpoints", format: "csv" | "jsonl") =>
  createRoute({
    method: "get",
    path: `/v1/${of}/{id}/metrics.${format}`,
    summary: `${of === "runs" ? "A run's" : "An endpoint's"} metrics as tidy ${format === "csv" ? "CSV" : "JSON lines"}`,
    description: "One row per metric with n, clusters, estimate, lo, hi and method; the same columns as the experiment export (docs/reports.md#tidy-exports).",
    request: { params: IdParam },
    responses: { 200: { content: { [format === "csv" ? "text/csv" : "application/x-ndjson"]: { schema: z.string() } }, description: "Tidy rows" }, ...errors },
  });

async function runExport(c: Context<AppEnv>, format: "csv" | "jsonl") {
  const db = getDb(c.env.DB);
  const { run, endpoint } = await visibleRun(c, db, c.req.param("id") as string);
  return tidyResponse(metricRows("run", endpoint, await runMetrics(db, c.env.DB, run.id)), format, `run-${run.id}-metrics`) as never;
}

async function endpointExport(c: Context<AppEnv>, format: "csv" | "jsonl") {
  const db = getDb(c.env.DB);
  const endpoint = await visibleEndpoint(c, db, c.req.param("id") as string);
  return tidyResponse(metricRows("endpoint", endpoint, await endpointMetrics(db, c.env.DB, endpoint.id)), format, `endpoint-${endpoint.id}-metrics`) as never;
}

export const tidyRoutes = new OpenAPIHono<AppEnv>();
tidyRoutes.use("/v1/runs/:id/metrics.*", publicCors);
tidyRoutes.use("/v1/endpoints/:id/metrics.*", publicCors);
tidyRoutes
  .openapi(route("runs", "csv"), (c) => runExport(c, "csv"))
  .openapi(route("runs", "jsonl"), (c) => runExport(c, "jsonl"))
  .openapi(route("endpoints", "csv"), (c) => endpointExport(c, "csv"))
  .openapi(route("endpoints", "jsonl"), (c) => endpointExport(c, "jsonl"));
