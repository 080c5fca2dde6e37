/**
 * @module http/embeds: metrics of a run or an endpoint, and per endpoint and metric an SVG badge and a shields.io
 * endpoint JSON. Public (CORS, ETag, Cache-Control, Cache API) except for private endpoints.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { badgeContent, shieldsEndpoint } from "../reports/badges";
import { endpointMetrics, type MetricValue, runMetrics } from "../reports/metrics";
import { badge } from "../reports/svg/badge";
import { dataAttrs, dataNum } from "../reports/svg/text";
import { cachedResponse } from "./http-cache";
import { cachedReport, dataVersion } from "./report-cache";
import { PrivacyView } from "../reports/privacy";
import { MetricId, publicCors } from "./leaderboard";
import { visibleEndpoint, visibleRun } from "./privacy";
import { errors, IdParam, json, metricFigureFields } from "./schemas";

/** Seconds badges and metrics may be cached (ours; shields.io asks for at least 300 s of cacheSeconds). */
export const BADGE_MAX_AGE_SECONDS = 300;

const Metric = z
  .object({
    id: z.string(),
    label: z.string(),
    kind: z.string().openapi({ description: "persona, projectability, safety, misalignment, consistency, self_report, or an added kind's name" }),
    better: z.enum(["higher", "lower"]).nullable(),
    ...metricFigureFields,
    completedAt: z.string().nullable(),
    reason: z.string().optional().openapi({ description: "Why there is no value or no interval" }),
    headline: z.boolean().optional().openapi({ description: "A headline metric of its kind (shown in the leaderboard's overview)" }),
  })
  .openapi("Metric");

const RunMetrics = z.object({ runId: z.string(), endpointId: z.string(), metrics: z.array(Metric) }).openapi("RunMetrics");
const EndpointMetrics = z.object({ endpointId: z.string(), metrics: z.array(Metric) }).openapi("EndpointMetrics");
const Shields = z
  .object({ schemaVersion: z.literal(1), label: z.string(), message: z.string(), color: z.string(), cacheSeconds: z.number().int() })
  .openapi("ShieldsEndpoint", { description: "The shields.io endpoint-badge schema" });
const MetricParams = IdParam.extend({ metric: MetricId.openapi({ param: { name: "metric", in: "path" } }) });

const runMetricsRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/metrics",
  summary: "A run's metrics",
  description: "Every named metric of the run's report with its value, 95% CI and n (the ids the leaderboard and the CLI's --fail-under use).",
  request: { params: IdParam },
  responses: { 200: json(RunMetrics, "Metrics"), ...errors },
});
const endpointMetricsRoute = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}/metrics",
  summary: "An endpoint's metrics",
  description: "Metrics from the endpoint's newest completed run at its current revision, per suite kind.",
  request: { params: IdParam },
  responses: { 200: json(EndpointMetrics, "Metrics"), ...errors },
});
const badgeRoute = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}/metrics/{metric}/badge.svg",
  summary: "SVG badge",
  description: "A badge: the metric's label, its value and 95% CI. Embed it as an image.",
  request: { params: MetricParams },
  responses: { 200: { content: { "image/svg+xml": { schema: z.string() } }, description: "The badge" }, 304: { description: "Not modified" }, ...errors },
});
const shieldsRoute = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}/metrics/{metric}/shields.json",
  summary: "shields.io endpoint JSON",
  description: "For https://img.shields.io/endpoint?url=<this URL>.",
  request: { params: MetricParams },
  responses: { 200: json(Shields, "shields.io endpoint JSON"), 304: { description: "Not modified" }, ...errors },
});

/** The endpoint's metric, or null when it has not been measured yet. */
async function metricOf(c: Parameters<typeof visibleEndpoint>[0], id: string, metric: string): Promise<MetricValue | null> {
  return (await endpointMetrics(getDb(c.env.DB), c.env.DB, id)).find((m) => m.id === metric) ?? null;
}

export const embedRoutes = new OpenAPIHono<AppEnv>();
embedRoutes.use("/v1/endpoints/:id/metrics/*", publicCors);
embedRoutes.use("/v1/endpoints/:id/metrics", publicCors);
embedRoutes.use("/v1/runs/:id/metrics", publicCors);
embedRoutes
  .openapi(runMetricsRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { run, endpoint } = await visibleRun(c, db, c.req.valid("param").id);
    // Built from the run report: cached like it (http/report-cache.ts).
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    const version = await dataVersion(c.env.DB, [endpoint.id, endpoint.baseEndpointId]);
    return cachedReport(c, view, version, [], async () => ({
      runId: run.id,
      endpointId: run.endpointId,
      metrics: await runMetrics(db, c.env.DB, run.id),
    })) as never;
  })
  .openapi(endpointMetricsRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { id } = c.req.valid("param");
    await visibleEndpoint(c, db, id);
    return cachedResponse(
      c,
      async () => ({
        body: JSON.stringify({ endpointId: id, metrics: await endpointMetrics(db, c.env.DB, id) }),
        contentType: "application/json; charset=utf-8",
      }),
      BADGE_MAX_AGE_SECONDS,
    ) as never;
  })
  .openapi(badgeRoute, async (c) => {
    const { id, metric } = c.req.valid("param");
    // Privacy is checked before the cache is consulted, so a cached public badge never outlives a switch to private.
    await visibleEndpoint(c, getDb(c.env.DB), id);
    return cachedResponse(
      c,
      async () => {
        const m = await metricOf(c, id, metric);
        const data = dataAttrs({
          metric,
          estimate: dataNum(m?.value),
          lo: dataNum(m?.lo),
          hi: dataNum(m?.hi),
          n: m ? dataNum(m.n) : "null",
          run: m?.runId ?? "",
        });
        return { body: badge({ ...badgeContent(metric, m), data }), contentType: "image/svg+xml; charset=utf-8" };
      },
      BADGE_MAX_AGE_SECONDS,
    ) as never;
  })
  .openapi(shieldsRoute, async (c) => {
    const { id, metric } = c.req.valid("param");
    await visibleEndpoint(c, getDb(c.env.DB), id);
    return cachedResponse(
      c,
      async () => ({
        body: JSON.stringify(shieldsEndpoint(metric, await metricOf(c, id, metric), BADGE_MAX_AGE_SECONDS)),
        contentType: "application/json; charset=utf-8",
      }),
      BADGE_MAX_AGE_SECONDS,
    ) as never;
  });
