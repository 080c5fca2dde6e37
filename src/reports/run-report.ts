/** @module reports/run-report: assembles the JSON report of a run, or of an endpoint's latest run. */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { fixtureJudgments } from "../db/queries/reports";
import { RunReads } from "../db/queries/run-reads";
import { getSuiteVersion } from "../db/queries/suites";
import { displayStatus, getRun, incomparability, runProgress, type RunRow } from "../db/queries/runs";
import { runs } from "../db/schema";
import { ApiError } from "../lib/errors";
import { findConstitution, loadConstitutions } from "../db/queries/constitutions";
import { aggregateClusters, runClusters } from "../metrics/aggregate";
import { dimensionDeltas, projectability, summarizeDimensions } from "../kinds/persona/report";
import { consistencySection } from "../kinds/consistency/report";
import { judgedSafety } from "./judges";
import { fixtureAgreement, summarizeSafety } from "../kinds/safety/report";
import { misalignmentSections } from "../kinds/misalignment/sections";
import { usageSection } from "./usage";
import { PrivacyView } from "./privacy";
import type { ConsistencySection, FixtureAgreement, RunReport } from "./schemas/run";
import { declared } from "./schemas/common";

export { incomparability };

/** The base run to compare with: an explicit one, else the newest comparable run of the base endpoint. */
async function findBaseRun(
  db: Db,
  run: RunRow,
  baseEndpointId: string | null,
  explicit: string | undefined,
  view: PrivacyView,
): Promise<{ run: RunRow } | { none: string }> {
  // A private base stays hidden from callers without the admin key, even through another model's report.
  const hidden = async (endpointId: string) => view.hides(endpointId);
  if (explicit) {
    const base = await getRun(db, explicit);
    if (await hidden(base.endpointId)) throw new ApiError("not_found", `run ${explicit} not found`);
    const why = incomparability(run, base);
    if (why) throw new ApiError("incomparable", `run ${explicit} cannot be compared with ${run.id}: ${why}`);
    return { run: base };
  }
  if (!baseEndpointId) return { none: "the endpoint has no base endpoint" };
  if (await hidden(baseEndpointId)) return { none: "the base endpoint is private" };
  const candidates = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, baseEndpointId)))
    .orderBy(desc(runs.createdAt))
    .all();
  if (!candidates.length) return { none: "the base endpoint has no runs yet" };
  const live = candidates.filter((c) => c.status !== "cancelled");
  if (!live.length) return { none: "every run of the base endpoint was cancelled" };
  const match = live.find((c) => c.status === "completed" && !incomparability(run, c)) ?? live.find((c) => !incomparability(run, c));
  if (match) return { run: match };
  // Without an explicit base, a missing comparison is a reason in the report, never an error for the whole report.
  return {
    none: `no run of the base endpoint is comparable: ${incomparability(run, live[0])} (newest base run ${live[0].id}); start one with POST /v1/runs and compareWithBase, or pass ?baseRunId=`,
  };
}

/** The kinds of suite a run covers. */
export async function runSuiteKinds(db: Db, run: RunRow): Promise<Set<string>> {
  const kinds = new Set<string>();
  for (const id of run.suiteVersionIds) kinds.add(String(((await getSuiteVersion(db, id))?.meta as Record<string, unknown> | undefined)?.kind));
  return kinds;
}

async function personaSection(
  db: Db,
  reads: RunReads,
  run: RunRow,
  endpoint: Awaited<ReturnType<typeof getEndpoint>>,
  baseRunId: string | undefined,
  view: PrivacyView,
): Promise<Pick<RunReport, "persona" | "comparison">> {
  const samples = await reads.personaItems(run.id);
  const dimensions = summarizeDimensions(samples, run.samplesPerItem);
  let comparison: NonNullable<RunReport["comparison"]>;
  const base = await findBaseRun(db, run, endpoint.baseEndpointId, baseRunId, view);
  if ("none" in base) comparison = { available: false, reason: base.none };
  else {
    const baseSamples = await reads.personaItems(base.run.id);
    const constitution = endpoint.constitution ? await findConstitution(db, endpoint.constitution) : undefined;
    comparison = {
      available: true as const,
      baseRunId: base.run.id,
      baseEndpointId: base.run.endpointId,
      baseStatus: base.run.status,
      test: "exact sign-flip permutation test over paired items (pValue, Holm-adjusted across dimensions as pHolm), the paired t-test beside it (tPValue); 95% CI: t-interval over per-item differences",
      base: summarizeDimensions(baseSamples, base.run.samplesPerItem),
      deltas: dimensionDeltas(samples, baseSamples),
      projectability: constitution
        ? projectability(samples, baseSamples, constitution, [...(await loadConstitutions(db)).values()])
        : { unavailable: endpoint.constitution ? `no constitution ${endpoint.constitution}` : "the endpoint declares no constitution" },
    };
  }
  return { persona: { dimensions }, comparison };
}

/**
 * `view`: what the caller may see (reports/privacy.ts); `showPrivate` is the admin's view. Without either, the
 * anonymous view: private bases and judges are not named and their figures not shown.
 */
export async function runReport(
  db: Db,
  d1: D1Database,
  runId: string,
  opts: { baseRunId?: string; judge?: string; compareJudge?: string; showPrivate?: boolean; view?: PrivacyView; reads?: RunReads } = {},
): Promise<RunReport> {
  // The persona items and safety samples are read once and shared by the sections and the metric layer.
  const reads = opts.reads ?? new RunReads(d1);
  const view = opts.view ?? (opts.showPrivate ? PrivacyView.all() : await PrivacyView.of(db, false));
  const run = await getRun(db, runId);
  const endpoint = await getEndpoint(db, run.endpointId, { includeDeleted: true });
  const progress = await runProgress(db, run);
  const kinds = await runSuiteKinds(db, run);
  const report: Omit<RunReport, "usage" | "metrics"> & Partial<Pick<RunReport, "usage" | "metrics">> = {
    run: {
      id: run.id,
      status: displayStatus(run, progress),
      counts: progress,
      suiteVersionIds: run.suiteVersionIds,
      samplesPerItem: run.samplesPerItem,
      temperature: run.temperature,
      scoringMode: run.scoringMode,
      judge: view.judge(run.config.judge),
      /** The answers came from POST /v1/runs/import (generated elsewhere), not through the gate. */
      imported: run.imported,
      rubrics: Object.values(run.config.rubrics ?? {}).map((r) => ({ id: r.id, promptHash: r.promptHash })),
      seed: run.seed,
      limit: run.itemLimit,
      createdAt: run.createdAt,
      completedAt: run.completedAt,
    },
    endpoint: {
      id: endpoint.id,
      name: endpoint.name,
      model: endpoint.model,
      revision: run.endpointRevision,
      constitution: endpoint.constitution,
      baseEndpointId: view.ref(endpoint.baseEndpointId),
    },
  };
  if (kinds.has("persona")) Object.assign(report, await personaSection(db, reads, run, endpoint, opts.baseRunId, view));
  // Safety under the chosen judge (default: the pinned one), the run's judges, and an optional judge comparison.
  // Each section builder's return type is checked against its schema at compile time (`declared`).
  if (kinds.has("safety") && run.config.judge)
    Object.assign(report, declared<Pick<RunReport, "safety" | "judges" | "judgeComparison">>()(await judgedSafety(db, d1, run, { ...opts, view, reads })));
  if (kinds.has("judge-fixture")) report.judgeAgreement = declared<FixtureAgreement>()(fixtureAgreement(await fixtureJudgments(d1, run.id)));
  if (kinds.has("misalignment") || kinds.has("self-report")) {
    const sections = await misalignmentSections(
      db,
      d1,
      run,
      endpoint,
      kinds,
      () => findBaseRun(db, run, endpoint.baseEndpointId, opts.baseRunId, view),
      !!opts.baseRunId,
    );
    Object.assign(report, declared<Pick<RunReport, "misalignment" | "selfReport">>()(sections));
  }
  if (kinds.has("consistency")) report.consistency = declared<ConsistencySection>()(await consistencySection(db, d1, run, endpoint, view));
  // Tokens used and their cost, per endpoint and role (model under test, judges).
  const usage = await usageSection(d1, run.id, run.config);
  // Every named metric of every kind the run covers, from the metric layer (estimate, n, clusters, 95% CI).
  const metrics = aggregateClusters(run.id, await runClusters(db, reads, run));
  return view.scrub({ ...report, usage, metrics });
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
