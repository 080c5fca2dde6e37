/**
 * @module http/pages: the HTML pages: start page, endpoint, run and experiment reports, the leaderboard, the API
 * reference and the embeddable widget. Server-rendered (hono/jsx), no scripts; private endpoints need the admin key.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { desc, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { getDb } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { runProgress } from "../db/queries/runs";
import { endpoints, experimentMembers, experiments, runs } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { describeMetric, endpointMetrics, latestRunsByKind } from "../reports/metrics";
import { experimentReport } from "../reports/experiment";
import { buildLeaderboard } from "../reports/leaderboard";
import { PrivacyView } from "../reports/privacy";
import { runReport } from "../reports/run-report";
import { docsPage } from "../reports/html/docs-page";
import { endpointPage } from "../reports/html/endpoint-page";
import type { RunReport } from "../reports/schemas/run";
import { experimentPage } from "../reports/html/experiment-page";
import { errorPage, homePage } from "../reports/html/home-page";
import { leaderboardPage } from "../reports/html/leaderboard-page";
import { runPage } from "../reports/html/run-page";
import { widgetPage } from "../reports/html/widget";
import { findConstitution } from "../db/queries/constitutions";
import { LeaderboardQuery, MetricId } from "./leaderboard";
import { assertExperimentVisible, visibleEndpoint, visibleRun } from "./privacy";
import { cachedPage, dataVersion } from "./report-cache";
import { errors, IdParam } from "./schemas";

/** No scripts, no frames of others, nothing fetched but our own images; inline styles only. */
const PAGE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The widget is made to be framed by any site. */
const WIDGET_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors *";

const html = (description: string) => ({ content: { "text/html": { schema: z.string() } }, description });

function send(c: Context<AppEnv>, body: string, status = 200, csp = PAGE_CSP) {
  return c.body(body, status as 200, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": csp,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    // Pages change as runs progress; private ones must not be kept by shared caches.
    "cache-control": c.get("isAdmin") ? "private, no-store" : "no-cache",
    vary: "Authorization",
  });
}

/** Runs a page handler; a not-found or an unavailable report becomes an HTML error page with its status. */
async function page(c: Context<AppEnv>, render: () => Promise<string>, csp = PAGE_CSP): Promise<Response> {
  try {
    return send(c, await render(), 200, csp);
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) return send(c, errorPage(err.status, err.message), err.status, csp);
    throw err;
  }
}

const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

const homeRoute = createRoute({ method: "get", path: "/", summary: "Start page", responses: { 200: html("Endpoints, experiments and links") } });
const endpointRoute = createRoute({
  method: "get",
  path: "/reports/endpoints/{id}",
  summary: "Endpoint page",
  description: "The endpoint's newest results per suite kind (persona profile, safety), its runs and its badges.",
  request: { params: IdParam },
  responses: { 200: html("The page"), ...errors },
});
const runRoute = createRoute({
  method: "get",
  path: "/reports/runs/{id}",
  summary: "Run page",
  description:
    "Every section of the run's report, drawn: persona profile with CIs beside the base and the expected signature, changes against the base, safety rates.",
  request: { params: IdParam, query: z.object({ base: z.string().optional().openapi({ description: "Compare with this base run" }) }) },
  responses: { 200: html("The page"), ...errors },
});
const experimentRoute = createRoute({
  method: "get",
  path: "/reports/experiments/{id}",
  summary: "Experiment page",
  description: "The safety matrix (models by categories) and each finetuned model's effects against the base.",
  request: { params: IdParam },
  responses: { 200: html("The page"), ...errors },
});
const leaderboardRoute = createRoute({
  method: "get",
  path: "/leaderboard",
  summary: "Leaderboard page",
  request: { query: LeaderboardQuery },
  responses: { 200: html("The page"), 400: errors[400] },
});
const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  summary: "API reference",
  description: "This OpenAPI description, rendered as HTML by the worker.",
  responses: { 200: html("The reference") },
});
const widgetRoute = createRoute({
  method: "get",
  path: "/embed/endpoints/{id}/metrics/{metric}",
  summary: "Embeddable widget",
  description: "A small HTML card with the metric's value, 95% CI and n, for an <iframe>.",
  request: { params: IdParam.extend({ metric: MetricId.openapi({ param: { name: "metric", in: "path" } }) }) },
  responses: { 200: html("The widget"), ...errors },
});

/** The page routes; `openapi` returns the app's OpenAPI document for the reference page. */
export function pageRoutes(openapi: () => Record<string, unknown>) {
  return new OpenAPIHono<AppEnv>()
    .openapi(
      homeRoute,
      (c) =>
        page(c, async () => {
          const db = getDb(c.env.DB);
          const eps = (await db.select().from(endpoints).where(isNull(endpoints.deletedAt)).orderBy(desc(endpoints.createdAt)).all()).filter(
            (e) => !e.private || c.get("isAdmin"),
          );
          const all = await db.select().from(experiments).orderBy(desc(experiments.createdAt)).all();
          // An experiment with a private model is private as a whole (http/privacy.ts).
          const exps = [];
          for (const e of all)
            if (
              await assertExperimentVisible(c, db, e.id).then(
                () => true,
                () => false,
              )
            )
              exps.push(e);
          return homePage({ endpoints: eps, experiments: exps });
        }) as never,
    )
    .openapi(
      endpointRoute,
      (c) =>
        page(c, async () => {
          const db = getDb(c.env.DB);
          const ep = await visibleEndpoint(c, db, c.req.valid("param").id);
          const view = await PrivacyView.of(db, c.get("isAdmin"));
          // Built from every kind's report: cached per data version and privacy view (http/report-cache.ts).
          return cachedPage(c, view, await dataVersion(c.env.DB, [ep.id, ep.baseEndpointId]), [], async () => {
            const baseRow = ep.baseEndpointId ? await getEndpoint(db, ep.baseEndpointId, { includeDeleted: true }).catch(() => null) : null;
            const base = baseRow && (!baseRow.private || c.get("isAdmin")) ? { id: baseRow.id, name: baseRow.name } : null;
            const byKind = await latestRunsByKind(db, ep);
            const reports = new Map<string, RunReport>();
            const problems = new Map<string, string>();
            for (const r of new Set(byKind.values())) {
              try {
                reports.set(r.id, await runReport(db, c.env.DB, r.id, { view }));
              } catch (err) {
                if (!(err instanceof ApiError)) throw err;
                problems.set(r.id, `This run's report cannot be shown: ${err.message}`);
              }
            }
            const runRows = await db.select().from(runs).where(eq(runs.endpointId, ep.id)).orderBy(desc(runs.createdAt)).limit(50).all();
            return endpointPage({
              endpoint: ep,
              base,
              constitution: ep.constitution ? await findConstitution(db, ep.constitution) : undefined,
              latest: [...byKind].map(([kind, r]) => ({ kind, runId: r.id, report: reports.get(r.id) ?? null, problem: problems.get(r.id) })),
              runs: await Promise.all(runRows.map(async (r) => ({ ...r, counts: await runProgress(db, r) }))),
              // The list GET /v1/endpoints/{id}/metrics answers: every metric of every kind, badges included.
              metrics: await endpointMetrics(db, c.env.DB, ep.id),
              origin: origin(c),
            });
          });
        }) as never,
    )
    .openapi(
      runRoute,
      (c) =>
        page(c, async () => {
          const db = getDb(c.env.DB);
          const { run, endpoint } = await visibleRun(c, db, c.req.valid("param").id);
          const baseRunId = c.req.valid("query").base;
          const view = await PrivacyView.of(db, c.get("isAdmin"));
          return cachedPage(c, view, await dataVersion(c.env.DB, [endpoint.id, endpoint.baseEndpointId], baseRunId ? [baseRunId] : []), ["base"], async () => {
            const report = await runReport(db, c.env.DB, run.id, { baseRunId, view });
            const baseId = (report.comparison?.available ? report.comparison.baseEndpointId : null) ?? endpoint.baseEndpointId;
            const baseRow = baseId ? await getEndpoint(db, baseId, { includeDeleted: true }).catch(() => null) : null;
            return runPage({
              report,
              endpoint: { id: endpoint.id, name: endpoint.name, model: endpoint.model, private: endpoint.private, deleted: endpoint.deletedAt != null },
              baseName: baseRow && (!baseRow.private || c.get("isAdmin")) ? baseRow.name : null,
              constitution: endpoint.constitution ? await findConstitution(db, endpoint.constitution) : undefined,
              exports: true,
            });
          });
        }) as never,
    )
    .openapi(
      experimentRoute,
      (c) =>
        page(c, async () => {
          const db = getDb(c.env.DB);
          const { id } = c.req.valid("param");
          await assertExperimentVisible(c, db, id);
          const view = await PrivacyView.of(db, c.get("isAdmin"));
          const exp = await db.select().from(experiments).where(eq(experiments.id, id)).get();
          const members = await db.select().from(experimentMembers).where(eq(experimentMembers.experimentId, id)).all();
          const version = await dataVersion(c.env.DB, [exp?.baseEndpointId, ...members.map((m) => m.endpointId)]);
          return cachedPage(c, view, version, [], async () => experimentPage(view.scrub(await experimentReport(db, c.env.DB, id))));
        }) as never,
    )
    .openapi(
      leaderboardRoute,
      (c) =>
        page(c, async () => {
          const q = c.req.valid("query");
          const lb = await buildLeaderboard(getDb(c.env.DB), c.env.DB, q, { includePrivate: c.get("isAdmin") });
          const query = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]).toString();
          return leaderboardPage(lb, query);
        }) as never,
    )
    .openapi(docsRoute, (c) => page(c, async () => docsPage(openapi())) as never)
    .openapi(
      widgetRoute,
      (c) =>
        page(
          c,
          async () => {
            const db = getDb(c.env.DB);
            const { id, metric } = c.req.valid("param");
            const ep = await visibleEndpoint(c, db, id);
            // The very list GET /v1/endpoints/{id}/metrics answers (same function, same order), which the widget names as its source.
            const list = await endpointMetrics(db, c.env.DB, ep.id);
            const i = list.findIndex((x) => x.id === metric);
            const ref = i < 0 ? undefined : { source: `/v1/endpoints/${ep.id}/metrics`, pointer: `/metrics/${i}`, field: "value" };
            return widgetPage({
              endpoint: ep,
              metricId: metric,
              label: describeMetric(metric)?.label ?? metric,
              metric: i < 0 ? null : list[i],
              ref,
              origin: origin(c),
            });
          },
          WIDGET_CSP,
        ) as never,
    );
}
