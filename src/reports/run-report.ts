/** @module reports/run-report: assembles the JSON report of a run, or of an endpoint's latest run. */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { fixtureJudgments, personaSamples, safetySamples } from "../db/queries/reports";
import { getSuiteVersion } from "../db/queries/suites";
import { displayStatus, getRun, incomparability, runProgress, type RunRow } from "../db/queries/runs";
import { runs } from "../db/schema";
import { ApiError } from "../lib/errors";
import { aggregate, runObservations } from "../metrics/aggregate";
import { getConstitution } from "../suites/constitutions";
import { judgeKey } from "../suites/kinds";
import { dimensionDeltas, projectability, summarizeDimensions } from "../kinds/persona/report";
import { consistencySection } from "../kinds/consistency/report";
import { judgedSafety } from "./judges";
import { fixtureAgreement, summarizeSafety } from "../kinds/safety/report";
import { misalignmentSections } from "../kinds/misalignment/sections";

export { incomparability };

/** The base run to compare with: an explicit one, else the newest comparable run of the base endpoint. */
async function findBaseRun(db: Db, run: RunRow, baseEndpointId: string | null, explicit?: string, showPrivate = false): Promise<{ run: RunRow } | { none: string }> {
  // A private base stays hidden from callers without the admin key, even through another model's report.
  const hidden = async (endpointId: string) => !showPrivate && (await getEndpoint(db, endpointId, { includeDeleted: true }).catch(() => null))?.private === true;
  if (explicit) {
    const base = await getRun(db, explicit);
    if (await hidden(base.endpointId)) throw new ApiError("not_found", `run ${explicit} not found`);
    const why = incomparability(run, base);
    if (why) throw new ApiError("incomparable", `run ${explicit} cannot be compared with ${run.id}: ${why}`);
    return { run: base };
  }
  if (!baseEndpointId) return { none: "the endpoint has no base endpoint" };
  if (await hidden(baseEndpointId)) return { none: "the base endpoint is private" };
  const candidates = await db.select().from(runs).where(and(eq(runs.endpointId, baseEndpointId))).orderBy(desc(runs.createdAt)).all();
  if (!candidates.length) return { none: "the base endpoint has no runs yet" };
  const live = candidates.filter((c) => c.status !== "cancelled");
  if (!live.length) return { none: "every run of the base endpoint was cancelled" };
  const match = live.find((c) => c.status === "completed" && !incomparability(run, c)) ?? live.find((c) => !incomparability(run, c));
  if (match) return { run: match };
  // Without an explicit base, a missing comparison is a reason in the report, never an error for the whole report.
  return { none: `no run of the base endpoint is comparable: ${incomparability(run, live[0])} (newest base run ${live[0].id}); start one with POST /v1/runs and compareWithBase, or pass ?baseRunId=` };
}

/** The kinds of suite a run covers. */
export async function runSuiteKinds(db: Db, run: RunRow): Promise<Set<string>> {
  const kinds = new Set<string>();
  for (const id of run.suiteVersionIds) kinds.add(String(((await getSuiteVersion(db, id))?.meta as Record<string, unknown> | undefined)?.kind));
  return kinds;
}

async function personaSection(db: Db, d1: D1Database, run: RunRow, endpoint: Awaited<ReturnType<typeof getEndpoint>>, baseRunId?: string, showPrivate = false) {
  const samples = await personaSamples(d1, run.id);
  const dimensions = summarizeDimensions(samples, run.samplesPerItem);
  let comparison: Record<string, unknown> = { available: false, reason: "" };
  const base = await findBaseRun(db, run, endpoint.baseEndpointId, baseRunId, showPrivate);
  if ("none" in base) comparison.reason = base.none;
  else {
    const baseSamples = await personaSamples(d1, base.run.id);
    const constitution = endpoint.constitution ? getConstitution(endpoint.constitution) : undefined;
    comparison = {
      available: true,
      baseRunId: base.run.id,
      baseEndpointId: base.run.endpointId,
      baseStatus: base.run.status,
      test: "paired t-test on per-item differences; CI by paired bootstrap over items",
      base: summarizeDimensions(baseSamples, base.run.samplesPerItem),
      deltas: dimensionDeltas(samples, baseSamples),
      projectability: constitution ? projectability(samples, baseSamples, constitution) : { unavailable: "the endpoint declares no constitution" },
    };
  }
  return { persona: { dimensions }, comparison };
}

/** `showPrivate`: the caller holds the admin key, so private base endpoints may be compared with. */
export async function runReport(db: Db, d1: D1Database, runId: string, opts: { baseRunId?: string; judge?: string; compareJudge?: string; showPrivate?: boolean } = {}) {
  const run = await getRun(db, runId);
  const endpoint = await getEndpoint(db, run.endpointId, { includeDeleted: true });
  const progress = await runProgress(db, run);
  const kinds = await runSuiteKinds(db, run);
  const report: Record<string, unknown> = {
    run: {
      id: run.id,
      status: displayStatus(run, progress),
      counts: progress,
      suiteVersionIds: run.suiteVersionIds,
      samplesPerItem: run.samplesPerItem,
      temperature: run.temperature,
      scoringMode: run.scoringMode,
      judge: run.config.judge ?? null,
      seed: run.seed,
      limit: run.itemLimit,
      createdAt: run.createdAt,
      completedAt: run.completedAt,
    },
    endpoint: { id: endpoint.id, name: endpoint.name, model: endpoint.model, revision: run.endpointRevision, constitution: endpoint.constitution, baseEndpointId: endpoint.baseEndpointId },
  };
  if (kinds.has("persona")) Object.assign(report, await personaSection(db, d1, run, endpoint, opts.baseRunId, opts.showPrivate));
  // Safety under the chosen judge (default: the pinned one), the run's judges, and an optional judge comparison.
  if (kinds.has("safety") && run.config.judge) Object.assign(report, await judgedSafety(db, d1, run, opts));
  if (kinds.has("judge-fixture")) report.judgeAgreement = fixtureAgreement(await fixtureJudgments(d1, run.id));
  if (kinds.has("misalignment") || kinds.has("self-report")) {
    Object.assign(report, await misalignmentSections(db, d1, run, endpoint, kinds, () => findBaseRun(db, run, endpoint.baseEndpointId, opts.baseRunId, opts.showPrivate), !!opts.baseRunId));
  }
  if (kinds.has("consistency")) report.consistency = await consistencySection(db, d1, run, endpoint);
  // Every named metric of every kind the run covers, from the metric layer (estimate, n, clusters, 95% CI).
  report.metrics = aggregate(run.id, await runObservations(db, d1, run));
  return report;
}

/** The endpoint's newest run at its current revision. */
/** Suite kinds that do not evaluate the endpoint (it only served as the generator of training data). */
const NOT_EVALUATIONS = new Set(["cai"]);

export async function latestRunId(db: Db, endpointId: string): Promise<string> {
  const endpoint = await getEndpoint(db, endpointId);
  const rows = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpointId), eq(runs.endpointRevision, endpoint.revision)))
    .orderBy(desc(runs.createdAt))
    .all();
  for (const row of rows) if ([...(await runSuiteKinds(db, row))].some((k) => !NOT_EVALUATIONS.has(k))) return row.id;
  throw new ApiError("not_found", `endpoint ${endpointId} has no evaluation run at revision ${endpoint.revision}`);
}
