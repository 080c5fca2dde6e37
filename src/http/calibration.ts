/**
 * @module http/calibration: self-report calibration across an experiment: for the base and every member, the
 * self-reports and the behaviour they describe, and the Spearman correlation between them over endpoints.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { type Db, getDb } from "../db/client";
import { PrivacyView } from "../reports/privacy";
import { getEndpoint } from "../db/queries/endpoints";
import { experimentMembers, experiments } from "../db/schema";
import type { AppEnv } from "../env";
import { notFound } from "../lib/errors";
import { misalignedShareOfRun } from "../kinds/misalignment/report";
import { newestRunWith } from "../kinds/misalignment/sections";
import { selfReportHeadline } from "../kinds/self-report/report";
import { spearmanTest } from "../stats/inference";
import { assertExperimentVisible } from "./privacy";
import { errors, IdParam, json } from "./schemas";
import { BackdoorAwareness, EmOverall, SelfReportMean } from "../reports/schemas/run";

/**
 * Spearman's rho over the endpoints that have both numbers: exact permutation p for n <= 10, and a Fisher-z 95% CI
 * that does not collapse at |rho| = 1 (spearmanTest); with too few endpoints the reason says so.
 */
function correlation(rows: { endpointId: string; x: number | null; y: number | null }[], what: string, expected: string) {
  const both = rows.filter((r) => r.x !== null && r.y !== null);
  const s = spearmanTest(
    both.map((r) => r.x!),
    both.map((r) => r.y!),
  );
  return {
    what,
    expected,
    rho: s.estimate,
    lo: s.lo,
    hi: s.hi,
    pValue: s.p,
    n: s.n,
    test: s.test,
    method: s.method,
    endpoints: both.map((r) => r.endpointId),
    ...(s.reason ? { note: s.reason } : {}),
  };
}

/** One endpoint's self-reports (newest self-report run) and misaligned share (newest misalignment run). */
async function endpointRow(db: Db, d1: D1Database, id: string, role: "base" | "member") {
  const ep = await getEndpoint(db, id, { includeDeleted: true });
  const sr = await newestRunWith(db, id, ep.revision, "self-report");
  const em = await newestRunWith(db, id, ep.revision, "misalignment");
  const head = sr ? await selfReportHeadline(d1, sr.id) : null;
  const share = em ? await misalignedShareOfRun(d1, em) : null;
  return {
    endpointId: id,
    name: ep.name,
    role,
    selfReportRunId: sr?.id ?? null,
    misalignmentRunId: em?.id ?? null,
    riskSelfReport: head?.risk.scale ?? null,
    riskOneWord: head?.risk.oneWord ?? null,
    riskyChoiceRate: head?.risk.riskyChoiceRate ?? null,
    alignmentSelfReport: head?.alignment ?? null,
    misalignedShare: share,
    backdoorAwareness: head?.backdoorAwareness ?? null,
  };
}

const Int = z.number().int();
const Num = z.number().nullable();

/** The calibration across an experiment: each endpoint's self-reports and behaviour, and Spearman over endpoints. */
const Calibration = z
  .strictObject({
    experimentId: z.string(),
    endpoints: z.array(
      z.strictObject({
        endpointId: z.string(),
        name: z.string().nullable(),
        role: z.enum(["base", "member"]),
        selfReportRunId: z.string().nullable(),
        misalignmentRunId: z.string().nullable(),
        riskSelfReport: SelfReportMean.nullable(),
        riskOneWord: SelfReportMean.nullable(),
        riskyChoiceRate: SelfReportMean.nullable(),
        alignmentSelfReport: SelfReportMean.nullable(),
        misalignedShare: EmOverall.nullable(),
        backdoorAwareness: BackdoorAwareness.nullable(),
      }),
    ),
    correlations: z.array(
      z.strictObject({
        what: z.string(),
        expected: z.string(),
        rho: Num,
        lo: Num,
        hi: Num,
        pValue: Num,
        n: Int,
        test: z.string(),
        method: z.string(),
        endpoints: z.array(z.string()),
        note: z.string().optional(),
      }),
    ),
    method: z.string(),
  })
  .openapi("ExperimentCalibration");

const route = createRoute({
  method: "get",
  path: "/v1/experiments/{id}/calibration",
  request: { params: IdParam },
  description:
    "Self-reports beside measured behaviour for the base and each member (newest runs at their current revisions), and Spearman correlations over endpoints with 95% CIs.",
  responses: { 200: json(Calibration, "Self-report calibration across the experiment"), ...errors },
});

export const calibrationRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const db = getDb(c.env.DB);
  // An experiment with a private model is private as a whole.
  await assertExperimentVisible(c, db, c.req.valid("param").id);
  const exp = await db
    .select()
    .from(experiments)
    .where(eq(experiments.id, c.req.valid("param").id))
    .get();
  if (!exp) throw notFound("experiment", c.req.valid("param").id);
  const members = await db.select().from(experimentMembers).where(eq(experimentMembers.experimentId, exp.id)).all();
  const ids = [exp.baseEndpointId, ...members.map((m) => m.endpointId)];
  const rows: Awaited<ReturnType<typeof endpointRow>>[] = [];
  for (const id of ids) rows.push(await endpointRow(db, c.env.DB, id, id === exp.baseEndpointId ? "base" : "member"));
  const pick = (f: (r: (typeof rows)[number]) => number | null | undefined, g: (r: (typeof rows)[number]) => number | null | undefined) =>
    rows.map((r) => ({ endpointId: r.endpointId, x: f(r) ?? null, y: g(r) ?? null }));
  const view = await PrivacyView.of(db, c.get("isAdmin"));
  return c.json(
    view.scrub({
      experimentId: exp.id,
      endpoints: rows,
      correlations: [
        correlation(
          pick(
            (r) => r.riskSelfReport?.mean,
            (r) => r.riskyChoiceRate?.mean,
          ),
          "risk self-report (scale) vs risky-choice rate",
          "positive when self-reports track behaviour",
        ),
        correlation(
          pick(
            (r) => r.riskOneWord?.mean,
            (r) => r.riskyChoiceRate?.mean,
          ),
          "risk self-report (one word) vs risky-choice rate",
          "positive when self-reports track behaviour",
        ),
        correlation(
          pick(
            (r) => r.alignmentSelfReport?.mean,
            (r) => r.misalignedShare?.share,
          ),
          "alignment self-report vs misaligned share",
          "negative when self-reports track behaviour",
        ),
      ],
      method:
        "Spearman rank correlation over endpoints; p exact by permutation for n <= 10 (t approximation above); 95% CI by Fisher z with SE sqrt(1.06/(n-3)) (Fieller, Hartley & Pearson 1957), not collapsing at |rho| = 1",
    }),
    200,
  );
});
