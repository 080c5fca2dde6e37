/** @module http/reports: aggregate JSON reports; readable without a key (they hold no prompts or answers). */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { getDb } from "../db/client";
import type { AppEnv } from "../env";
import { judgeAgreement } from "../reports/judge-agreement";
import { ApiError } from "../lib/errors";
import { PrivacyView } from "../reports/privacy";
import { latestRunId, runReport } from "../reports/run-report";
import { RunReport } from "../reports/schemas/run";
import { JudgeAgreement } from "../reports/schemas/judge-agreement";
import { cachedReport, dataVersion } from "./report-cache";
import { visibleEndpoint, visibleRun } from "./privacy";
import { errors, IdParam, json } from "./schemas";

const runReportRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/report",
  request: {
    params: IdParam,
    query: z.object({
      base: z.string().optional().openapi({ description: "Compare with this base run instead of the newest comparable one" }),
      judge: z
        .string()
        .max(400)
        .optional()
        .openapi({ description: "Safety judgments of this judge (key `<endpoint>@<revision>|<rubric>` or endpoint id); default the pinned judge" }),
      compareJudge: z.string().max(400).optional().openapi({ description: "Add a paired comparison with this judge's judgments of the same answers" }),
    }),
  },
  responses: {
    200: json(
      RunReport,
      "The run report: a section per suite kind the run covers (persona, safety, misalignment, self-report, consistency), usage and the metric layer's figures",
    ),
    ...errors,
  },
});
const endpointReportRoute = createRoute({
  method: "get",
  path: "/v1/endpoints/{id}/report",
  request: { params: IdParam },
  responses: { 200: json(RunReport, "Report of the endpoint's newest run at its current revision"), ...errors },
});

const agreementRoute = createRoute({
  method: "get",
  path: "/v1/runs/{id}/judge-agreement",
  description:
    "Two judges of the same stored answers, for every judged kind: kappa for labels, Pearson/Spearman and mean absolute difference for 0-100 and 1-5 scores, each with n and a 95% CI; misalignment runs add each judge's misaligned share.",
  request: {
    params: IdParam,
    query: z.object({
      a: z
        .string()
        .max(400)
        .optional()
        .openapi({ description: "Judge key `<endpoint>@<revision>|<rubric>`, `<endpoint>@<revision>` or endpoint id; default the pinned judge" }),
      b: z.string().max(400).optional().openapi({ description: "The other judge; default the newest one added by re-judging" }),
    }),
  },
  responses: { 200: json(JudgeAgreement, "Agreement per judged kind"), ...errors },
});
/** The query parameters that change a run report (any other parameter is left out of its cache key). */
const RUN_REPORT_QUERY = ["base", "judge", "compareJudge"] as const;

export const reportRoutes = new OpenAPIHono<AppEnv>()
  .openapi(agreementRoute, async (c) => {
    const db = getDb(c.env.DB);
    const { run } = await visibleRun(c, db, c.req.valid("param").id);
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    try {
      return c.json(view.scrub(await judgeAgreement(c.env.DB, run, c.req.valid("query"))), 200);
    } catch (err) {
      // Its 400 lists the run's judges: a private judge is not named there either.
      if (err instanceof ApiError) throw new ApiError(err.code, view.text(err.message), err.details);
      throw err;
    }
  })
  .openapi(runReportRoute, async (c) => {
    const db = getDb(c.env.DB);
    // Private endpoints keep even their aggregate reports behind the admin key (docs/reports.md).
    const { run, endpoint } = await visibleRun(c, db, c.req.valid("param").id);
    const q = c.req.valid("query");
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    const version = await dataVersion(c.env.DB, [endpoint.id, endpoint.baseEndpointId], q.base ? [q.base] : []);
    return cachedReport(c, view, version, RUN_REPORT_QUERY, () =>
      runReport(db, c.env.DB, run.id, { baseRunId: q.base, judge: q.judge, compareJudge: q.compareJudge, view }),
    ) as never;
  })
  .openapi(endpointReportRoute, async (c) => {
    const db = getDb(c.env.DB);
    const endpoint = await visibleEndpoint(c, db, c.req.valid("param").id);
    const view = await PrivacyView.of(db, c.get("isAdmin"));
    const version = await dataVersion(c.env.DB, [endpoint.id, endpoint.baseEndpointId]);
    return cachedReport(c, view, version, [], async () => runReport(db, c.env.DB, await latestRunId(db, endpoint.id), { view })) as never;
  });
