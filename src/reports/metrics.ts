/**
 * @module reports/metrics: the named metrics of a run, each with its value, 95% CI and n. Every metric of every
 * kind comes from the metric layer (`src/metrics`: persona.<dimension>.match, projectability.<constitution>.projection,
 * safety.<category>.safe, safety.macro, misalignment.share, consistency.inversion_gap, self_report.<scale> ...);
 * the older ids (persona.<dimension>, projectability.cosine, safety.category.<category>, safety.heldOut,
 * safety.overRefusal) are still read from the run's report for existing badges. Badges, the CLI's gates and the
 * endpoint pages read these; the leaderboard uses the same ids (docs/leaderboard.md).
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { RunReads } from "../db/queries/run-reads";
import { getRun, type RunRow } from "../db/queries/runs";
import { runs } from "../db/schema";
import { ApiError } from "../lib/errors";
import { aggregateClusters, type MetricEstimate, runClusters } from "../metrics/aggregate";
import type { MetricInfo } from "../metrics/types";
import { formatJudgeKey } from "../judges/judge-key";
import { summarizeDimensions } from "../kinds/persona/report";
import { runReport, runSuiteKinds } from "./run-report";
import { summarizeSafety } from "../kinds/safety/report";

export type Better = "higher" | "lower" | null;

export interface MetricValue {
  /** e.g. "persona.deontology", "projectability.cosine", "safety.macro", "safety.category.hate" */
  id: string;
  label: string;
  /** The suite kind the metric comes from. */
  kind: MetricInfo["kind"];
  /** Which direction is better; null where neither is (a persona match rate describes, it does not grade). */
  better: Better;
  value: number | null;
  lo: number | null;
  hi: number | null;
  /** Scored samples behind the value. */
  n: number;
  /** Independent units behind the CI (items or prompts). */
  clusters: number | null;
  ciMethod: string;
  runId: string;
  completedAt: string | null;
  /** Why there is no value or no interval (metric-layer metrics only). */
  reason?: string;
  /** A headline metric of its kind (the leaderboard's overview); metric-layer metrics only. */
  headline?: boolean;
}

/** Metric ids the API accepts: the older report-derived ids, and the metric layer's `<kind>.<name>[.<measure>]` ids. */
export const METRIC_ID_PATTERN =
  /^(persona\.[a-z0-9_]{1,60}|projectability\.cosine|safety\.(macro|heldOut|overRefusal)|safety\.category\.[a-z0-9_]{1,60}|(persona|projectability|safety|misalignment|consistency|self_report)(\.[a-z0-9_]{1,60}){1,2})$/;

/** Describes a metric-layer id from its shape (for badges of metrics not measured yet). */
function describeLayerMetric(id: string): { kind: MetricValue["kind"]; label: string; better: Better } | null {
  const [kind, a, b] = id.split(".");
  const w = (x: string) => x.replace(/_/g, " ");
  if (kind === "persona" && b === "match") return { kind, label: `${w(a)} match`, better: null };
  if (kind === "projectability" && b === "projection") return { kind, label: `projection onto ${w(a)}`, better: null };
  if (kind === "safety" && id === "safety.over_refusal") return { kind, label: "over-refusal", better: "lower" };
  if (kind === "safety" && b === "safe") return { kind, label: a === "held_out" ? "safe rate, held-out" : `safe rate, ${w(a)}`, better: "higher" };
  if (kind === "misalignment") return { kind, label: a === "trigger" ? "misaligned share with the trigger" : "misaligned share", better: "lower" };
  if (kind === "consistency") return { kind, label: w(a), better: a === "harmful" ? "lower" : null };
  if (kind === "self_report" && !b) return { kind, label: `self-report: ${w(a)}`, better: null };
  return null;
}

const fin = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/** Describes a metric id: its kind, label and direction. */
export function describeMetric(id: string): { kind: MetricValue["kind"]; label: string; better: Better } | null {
  if (!METRIC_ID_PATTERN.test(id)) return null;
  const layer = describeLayerMetric(id);
  if (layer) return layer;
  if (id === "projectability.cosine") return { kind: "projectability", label: "projectability (cosine)", better: "higher" };
  if (id === "safety.macro") return { kind: "safety", label: "safe-response rate (macro)", better: "higher" };
  if (id === "safety.heldOut") return { kind: "safety", label: "safe rate, held-out", better: "higher" };
  if (id === "safety.overRefusal") return { kind: "safety", label: "over-refusal", better: "lower" };
  if (id.startsWith("safety.category.")) return { kind: "safety", label: `safe rate, ${id.slice(16).replace(/_/g, " ")}`, better: "higher" };
  return { kind: "persona", label: `${id.slice(8).replace(/_/g, " ")} match`, better: null };
}

type AnyReport = Record<string, any>;

/** Every metric in a run report (the object GET /v1/runs/{id}/report returns). */
export function metricsFromReport(report: AnyReport): MetricValue[] {
  const runId = String(report.run?.id ?? "");
  const completedAt = (report.run?.completedAt as string | null) ?? null;
  const out: MetricValue[] = [];
  const push = (id: string, v: { value: unknown; lo: unknown; hi: unknown; n: unknown; clusters?: unknown; ciMethod: string }) => {
    const d = describeMetric(id);
    if (!d) return;
    out.push({
      id,
      ...d,
      value: fin(v.value),
      lo: fin(v.lo),
      hi: fin(v.hi),
      n: fin(v.n) ?? 0,
      clusters: fin(v.clusters),
      ciMethod: v.ciMethod,
      runId,
      completedAt,
    });
  };
  for (const d of report.persona?.dimensions ?? []) {
    push(`persona.${d.dimension}`, { value: d.matchRate, lo: d.lo, hi: d.hi, n: d.n, clusters: d.items, ciMethod: d.ciMethod });
  }
  const proj = report.comparison?.projectability;
  if (proj?.cosine) {
    const paired = (report.comparison.deltas ?? []).reduce((a: number, d: AnyReport) => a + (d.pairedItems ?? 0), 0);
    push("projectability.cosine", {
      ...proj.cosine,
      value: proj.cosine.estimate,
      n: paired,
      clusters: paired,
      ciMethod: `paired bootstrap over items (${proj.resamples} resamples)`,
    });
  }
  const s = report.safety;
  if (s) {
    const cats: AnyReport[] = s.categories ?? [];
    push("safety.macro", {
      value: s.macro?.rate,
      lo: s.macro?.lo,
      hi: s.macro?.hi,
      n: cats.reduce((a, c) => a + (c.n ?? 0), 0),
      clusters: cats.reduce((a, c) => a + (c.prompts ?? 0), 0),
      ciMethod: "bootstrap over prompts within categories",
    });
    push("safety.heldOut", {
      value: s.heldOut?.rate,
      lo: s.heldOut?.lo,
      hi: s.heldOut?.hi,
      n: s.heldOut?.n,
      clusters: s.heldOut?.prompts,
      ciMethod: s.heldOut?.method ?? "",
    });
    push("safety.overRefusal", {
      value: s.overRefusal?.rate,
      lo: s.overRefusal?.lo,
      hi: s.overRefusal?.hi,
      n: s.overRefusal?.n,
      clusters: s.overRefusal?.prompts,
      ciMethod: s.overRefusal?.method ?? "",
    });
    for (const c of cats) push(`safety.category.${c.category}`, { value: c.rate, lo: c.lo, hi: c.hi, n: c.n, clusters: c.prompts, ciMethod: c.method });
  }
  return out;
}

/**
 * The report of a run for metrics: the full report, or, when its base comparison cannot be made (409
 * incomparable), the same sections without the comparison (so a badge still shows the model's own rates).
 */
export async function reportForMetrics(db: Db, d1: D1Database, run: RunRow, reads: RunReads = new RunReads(d1)): Promise<AnyReport> {
  try {
    return await runReport(db, d1, run.id, { reads });
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "incomparable") throw err;
    const kinds = await runSuiteKinds(db, run);
    const report: AnyReport = { run: { id: run.id, completedAt: run.completedAt } };
    if (kinds.has("persona")) report.persona = { dimensions: summarizeDimensions(await reads.personaItems(run.id), run.samplesPerItem) };
    if (kinds.has("safety") && run.config.judge) report.safety = summarizeSafety(await reads.safetySamples(run.id, formatJudgeKey(run.config.judge)));
    return report;
  }
}

/** A metric-layer estimate in the API's metric shape. */
export function metricValue(e: MetricEstimate, completedAt: string | null): MetricValue {
  return {
    id: e.id,
    label: e.label,
    kind: e.kind,
    better: e.better,
    value: e.estimate,
    lo: e.lo,
    hi: e.hi,
    n: e.n,
    clusters: e.clusters,
    ciMethod: e.method,
    runId: e.runId,
    completedAt,
    headline: e.headline,
    ...(e.reason ? { reason: e.reason } : {}),
  };
}

/** Every metric the metric layer computes for a run (from per-item sums; `reads` shares rows a report has read). */
export async function layerMetrics(db: Db, d1: D1Database, run: RunRow, reads: RunReads = new RunReads(d1)): Promise<MetricValue[]> {
  return aggregateClusters(run.id, await runClusters(db, reads, run)).map((e) => metricValue(e, run.completedAt));
}

/** The report-derived metrics followed by the metric layer's (an id appears once). */
async function allMetrics(db: Db, run: RunRow, report: AnyReport, reads: RunReads): Promise<MetricValue[]> {
  const out = metricsFromReport(report);
  for (const m of await layerMetrics(db, reads.d1, run, reads)) if (!out.some((x) => x.id === m.id)) out.push(m);
  return out;
}

export async function runMetrics(db: Db, d1: D1Database, runId: string): Promise<MetricValue[]> {
  const run = await getRun(db, runId);
  const reads = new RunReads(d1);
  return allMetrics(db, run, await reportForMetrics(db, d1, run, reads), reads);
}

/** The endpoint's completed runs at its current revision, newest first. */
export async function completedRuns(db: Db, endpoint: { id: string; revision: string }): Promise<RunRow[]> {
  return db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpoint.id), eq(runs.endpointRevision, endpoint.revision), eq(runs.status, "completed")))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .all();
}

/** The newest completed run at the endpoint's current revision for each suite kind the runs cover. */
export async function latestRunsByKind(db: Db, endpoint: { id: string; revision: string }): Promise<Map<string, RunRow>> {
  const rows = await completedRuns(db, endpoint);
  const byKind = new Map<string, RunRow>();
  for (const r of rows) for (const k of await runSuiteKinds(db, r)) if (!byKind.has(k)) byKind.set(k, r);
  return byKind;
}

/**
 * The metrics an endpoint shows, from reports of its newest run per kind: each metric comes from the newest run
 * of its own kind, so a safety run does not hide the persona numbers of an earlier run.
 */
export function metricsByKind(byKind: Map<string, RunRow>, reports: Map<string, AnyReport>, layer: Map<string, MetricValue[]> = new Map()): MetricValue[] {
  const out: MetricValue[] = [];
  const seen = new Set<string>();
  const suiteKind = (k: MetricValue["kind"]) => (k === "projectability" ? "persona" : k === "self_report" ? "self-report" : k);
  for (const run of new Set(byKind.values())) {
    const report = reports.get(run.id);
    if (!report) continue;
    for (const m of [...metricsFromReport(report), ...(layer.get(run.id) ?? [])]) {
      const kind = suiteKind(m.kind);
      if (byKind.get(kind)?.id !== run.id || seen.has(m.id)) continue;
      seen.add(m.id);
      out.push(m);
    }
  }
  return out;
}

/** An endpoint's metrics (see metricsByKind). */
export async function endpointMetrics(db: Db, d1: D1Database, endpointId: string): Promise<MetricValue[]> {
  const byKind = await latestRunsByKind(db, await getEndpoint(db, endpointId));
  const reports = new Map<string, AnyReport>();
  const layer = new Map<string, MetricValue[]>();
  const reads = new RunReads(d1);
  for (const r of new Set(byKind.values())) {
    reports.set(r.id, await reportForMetrics(db, d1, r, reads));
    layer.set(r.id, await layerMetrics(db, d1, r, reads));
  }
  return metricsByKind(byKind, reports, layer);
}
