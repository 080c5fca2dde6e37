/** @module http/reports: aggregate JSON reports; readable without a key (they hold no prompts or answers). */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { latestRunId, runReport } from "../reports/run-report";
import { AnyObject, errors, IdParam, json } from "./schemas";

const runReportRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/report",
  request: { params: IdParam, query: z.object({ base: z.string().optional().openapi({ description: "Compare with this base run instead of the newest comparable one" }) }) },
  responses: { 200: json(AnyObject, "Persona report with CIs, deltas and projectability"), ...errors },
});
const endpointReportRoute = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}/report",
  request: { params: IdParam },
  responses: { 200: json(AnyObject, "Report of the endpoint's newest run at its current revision"), ...errors },
});

export const reportRoutes = new OpenAPIHono<AppEnv>()
  .openapi(runReportRoute, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await runReport(db, c.env.DB, c.req.valid("param").id, { baseRunId: c.req.valid("query").base }), 200);
  })
  .openapi(endpointReportRoute, async (c) => {
    const db = getDb(c.env.DB);
    return c.json(await runReport(db, c.env.DB, await latestRunId(db, c.req.valid("param").id)), 200);
  });
