/**
 * @module reports/metrics: the named metrics of a run (persona match rates, projectability, safety rates), each
 * with its value, 95% CI and n, taken from the run's report. Badges, the CLI's --fail-under and the endpoint
 * pages read these; the leaderboard uses the same ids (docs/leaderboard.md).
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import { personaSamples, safetySamples } from "../db/queries/reports";
import { getRun, type RunRow } from "../db/queries/runs";
import { runs } from "../db/schema";
import { ApiError } from "../lib/errors";
import { judgeKey } from "../suites/kinds";
import { summarizeDimensions } from "./persona";
import { runReport, runSuiteKinds } from "./run-report";
import { summarizeSafety } from "./safety";

export type Better = "higher" | "lower" | null;

export interface MetricValue {
  /** e.g. "persona.deontology", "projectability.cosine", "safety.macro", "safety.category.hate" */
  id: string;
  label: string;
  /** The suite kind the metric comes from. */
  kind: "persona" | "projectability" | "safety";
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
}

/** Metric ids the API accepts (the persona dimensions and safety categories come from the suites). */
export const METRIC_ID_PATTERN = /^(persona\.[a-z0-9_]{1,60}|projectability\.cosine|safety\.(macro|heldOut|overRefusal)|safety\.category\.[a-z0-9_]{1,60})$/;

const fin = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/** Describes a metric id: its kind, label and direction. */
export function describeMetric(id: string): { kind: MetricValue["kind"]; label: string; better: Better } | null {
  if (!METRIC_ID_PATTERN.test(id)) return null;
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
    out.push({ id, ...d, value: fin(v.value), lo: fin(v.lo), hi: fin(v.hi), n: fin(v.n) ?? 0, clusters: fin(v.clusters), ciMethod: v.ciMethod, runId, completedAt });
  };
  for (const d of report.persona?.dimensions ?? []) {
    push(`persona.${d.dimension}`, { value: d.matchRate, lo: d.lo, hi: d.hi, n: d.n, clusters: d.items, ciMethod: d.ciMethod });
  }
  const proj = report.comparison?.projectability;
  if (proj?.cosine) {
    const paired = (report.comparison.deltas ?? []).reduce((a: number, d: AnyReport) => a + (d.pairedItems ?? 0), 0);
    push("projectability.cosine", { ...proj.cosine, value: proj.cosine.estimate, n: paired, clusters: paired, ciMethod: `paired bootstrap over items (${proj.resamples} resamples)` });
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
    push("safety.heldOut", { value: s.heldOut?.rate, lo: s.heldOut?.lo, hi: s.heldOut?.hi, n: s.heldOut?.n, clusters: s.heldOut?.prompts, ciMethod: s.heldOut?.method ?? "" });
    push("safety.overRefusal", { value: s.overRefusal?.rate, lo: s.overRefusal?.lo, hi: s.overRefusal?.hi, n: s.overRefusal?.n, clusters: s.overRefusal?.prompts, ciMethod: s.overRefusal?.method ?? "" });
    for (const c of cats) push(`safety.category.${c.category}`, { value: c.rate, lo: c.lo, hi: c.hi, n: c.n, clusters: c.prompts, ciMethod: c.method });
  }
  return out;
}

/**
 * The report of a run for metrics: the full report, or, when its base comparison cannot be made (409
 * incomparable), the same sections without the comparison (so a badge still shows the model's own rates).
 */
export async function reportForMetrics(db: Db, d1: D1Database, run: RunRow): Promise<AnyReport> {
  try {
    return await runReport(db, d1, run.id);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "incomparable") throw err;
    const kinds = await runSuiteKinds(db, run);
    const report: AnyReport = { run: { id: run.id, completedAt: run.completedAt } };
    if (kinds.has("persona")) report.persona = { dimensions: summarizeDimensions(await personaSamples(d1, run.id), run.samplesPerItem) };
    if (kinds.has("safety") && run.config.judge) report.safety = summarizeSafety(await safetySamples(d1, run.id, judgeKey(run.config.judge)));
    return report;
  }
}

export async function runMetrics(db: Db, d1: D1Database, runId: string): Promise<MetricValue[]> {
  return metricsFromReport(await reportForMetrics(db, d1, await getRun(db, runId)));
}

/** The newest completed run at the endpoint's current revision for each suite kind the runs cover. */
export async function latestRunsByKind(db: Db, endpoint: { id: string; revision: string }): Promise<Map<string, RunRow>> {
  const rows = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpoint.id), eq(runs.endpointRevision, endpoint.revision), eq(runs.status, "completed")))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .all();
  const byKind = new Map<string, RunRow>();
  for (const r of rows) for (const k of await runSuiteKinds(db, r)) if (!byKind.has(k)) byKind.set(k, r);
  return byKind;
}

/**
 * The metrics an endpoint shows, from reports of its newest run per kind: each metric comes from the newest run
 * of its own kind, so a safety run does not hide the persona numbers of an earlier run.
 */
export function metricsByKind(byKind: Map<string, RunRow>, reports: Map<string, AnyReport>): MetricValue[] {
  const out: MetricValue[] = [];
  const seen = new Set<string>();
  for (const run of new Set(byKind.values())) {
    const report = reports.get(run.id);
    if (!report) continue;
    for (const m of metricsFromReport(report)) {
      const kind = m.kind === "projectability" ? "persona" : m.kind;
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
  for (const r of new Set(byKind.values())) reports.set(r.id, await reportForMetrics(db, d1, r));
  return metricsByKind(byKind, reports);
}
