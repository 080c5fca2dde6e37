/**
 * @module metrics/aggregate: the one aggregation (estimate, n, clusters, interval per metric) and the one paired
 * comparison (two runs on the same pinned items: the intersection of (item, sample), the test, Holm over a named
 * family) of the metric layer. Every report, export, badge and gate reads its figures from here.
 */
import type { Db } from "../db/client";
import { getSuiteVersion } from "../db/queries/suites";
import { holmAvailable } from "../stats/inference";
import { clusteredMean, type Estimate, pairedClusterComparison, type PairedComparison } from "./estimators";
import { SUITE_KINDS } from "../suites/kinds";
import { OBSERVATION_SOURCES } from "./registry";
import type { KindObservations, MetricInfo, Observation } from "./types";
import { appendAll } from "../lib/arrays";

export interface MetricEstimate extends MetricInfo, Estimate {
  runId: string;
}

export interface MetricComparison extends MetricInfo, PairedComparison {
  runId: string;
  baseRunId: string;
  /** Holm-adjusted p across `family`. */
  pHolm: number | null;
  family: string;
}

/** The run's observations of every suite kind it covers that has a source. */
export async function runObservations(db: Db, d1: D1Database, run: { id: string; suiteVersionIds: string[]; config: Parameters<(typeof OBSERVATION_SOURCES)[string]>[1]["config"] }): Promise<KindObservations> {
  const kinds = new Set<string>();
  for (const id of run.suiteVersionIds) kinds.add(String(((await getSuiteVersion(db, id))?.meta as Record<string, unknown> | undefined)?.kind));
  const out: KindObservations = { metrics: [], observations: [] };
  for (const k of kinds) {
    const source = SUITE_KINDS[k]?.observations ?? OBSERVATION_SOURCES[k];
    if (!source) continue;
    const got = await source(d1, run);
    out.metrics.push(...got.metrics.filter((m) => !out.metrics.some((x) => x.id === m.id)));
    appendAll(out.observations, got.observations);
  }
  return out;
}

function byMetric(observations: Observation[]): Map<string, Observation[]> {
  const m = new Map<string, Observation[]>();
  for (const o of observations) {
    const list = m.get(o.metric);
    if (list) list.push(o);
    else m.set(o.metric, [o]);
  }
  return m;
}

/** Observations grouped into clusters by item. */
function clustersOf(list: Observation[]): number[][] {
  const m = new Map<string, number[]>();
  for (const o of list) {
    const c = m.get(o.item);
    if (c) c.push(o.value);
    else m.set(o.item, [o.value]);
  }
  return [...m.values()];
}

/** Estimate, n, clusters and 95% CI of every declared metric. */
export function aggregate(runId: string, data: KindObservations): MetricEstimate[] {
  const grouped = byMetric(data.observations);
  return data.metrics.map((info) => ({ ...info, ...clusteredMean(clustersOf(grouped.get(info.id) ?? []), { rate: info.rate }), runId }));
}

/** One metric's estimate over the given clusters (e.g. per-replicate values of an arm). */
export { clusteredMean };

/** a − b on the (item, sample) pairs both runs have; `dropped` counts observations of either run without a partner. */
export function pairedDifference(a: Observation[], b: Observation[], rate: boolean): PairedComparison {
  const key = (o: Observation) => `${o.item}\u0000${o.sample}`;
  const bm = new Map(b.map((o) => [key(o), o.value]));
  const pairs: { cluster: string; a: number; b: number }[] = [];
  for (const o of a) {
    const v = bm.get(key(o));
    if (v !== undefined) pairs.push({ cluster: o.item, a: o.value, b: v });
  }
  return pairedClusterComparison(pairs, { rate, dropped: a.length + b.length - 2 * pairs.length });
}

/**
 * Every metric both runs declare, a (`runId`) minus b (`baseRunId`), paired on items; p-values Holm-adjusted across
 * the named family (one family per call: e.g. "member vs base: <member>").
 */
export function compareRuns(a: { runId: string; data: KindObservations }, b: { runId: string; data: KindObservations }, family: string, only?: (m: MetricInfo) => boolean): MetricComparison[] {
  const ga = byMetric(a.data.observations);
  const gb = byMetric(b.data.observations);
  const shared = a.data.metrics.filter((m) => b.data.metrics.some((x) => x.id === m.id) && (!only || only(m)));
  const raw = shared.map((info) => ({ ...info, ...pairedDifference(ga.get(info.id) ?? [], gb.get(info.id) ?? [], info.rate), runId: a.runId, baseRunId: b.runId, family }));
  return withHolm(raw);
}

/** Holm-adjusts the p-values of one family (null p-values stay null and do not count). */
export function withHolm<T extends { p: number | null }>(family: T[]): (T & { pHolm: number | null })[] {
  const adjusted = holmAvailable(family.map((c) => c.p));
  return family.map((c, i) => ({ ...c, pHolm: adjusted[i] }));
}
