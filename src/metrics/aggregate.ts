/**
 * @module metrics/aggregate: the one aggregation (estimate, n, clusters, interval per metric) and the one paired
 * comparison (two runs on the same pinned items: the intersection of (item, sample), the test, Holm over a named
 * family) of the metric layer. Every report, export, badge and gate reads its figures from here.
 */
import type { Db } from "../db/client";
import { getSuiteVersion } from "../db/queries/suites";
import { holmAvailable } from "../stats/inference";
import { clusteredMean, clusteredMeanOfSums, type Estimate, pairedClusterComparison, pairedClusterComparisonOfSums, type PairedComparison } from "./estimators";
import { SUITE_KINDS } from "../suites/kinds";
import { CLUSTER_SOURCES, OBSERVATION_SOURCES, PAIRED_SOURCES } from "./registry";
import type { ClusterSum, KindClusters, KindObservations, MetricInfo, Observation, SourceRun } from "./types";
import type { BuiltinObservationSource } from "./sources";
import type { RunReads } from "../db/queries/run-reads";
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

/** The suite kinds a run covers. */
async function kindsOfRun(db: Db, run: { suiteVersionIds: string[] }): Promise<Set<string>> {
  const kinds = new Set<string>();
  for (const id of run.suiteVersionIds) kinds.add(String(((await getSuiteVersion(db, id))?.meta as Record<string, unknown> | undefined)?.kind));
  return kinds;
}

type MetricRun = SourceRun & { suiteVersionIds: string[] };

/** The observation source of a suite kind: its own (a kind object's `observations`), else the built-in one. */
function observationSource(kind: string): BuiltinObservationSource | undefined {
  return SUITE_KINDS[kind]?.observations ?? OBSERVATION_SOURCES[kind];
}

/** One kind's observations of a run, read once per `reads` (a report that sums them and pairs them reads them once). */
function kindObservations(kind: string, d1: D1Database, run: SourceRun, reads?: RunReads): Promise<KindObservations> | undefined {
  const source = observationSource(kind);
  if (!source) return undefined;
  return reads ? reads.once(`observations\u0000${kind}\u0000${run.id}`, () => source(d1, run, reads)) : source(d1, run);
}

/** The run's observations (one per item and sample) of every suite kind it covers that has a source: for paired comparisons. */
export async function runObservations(db: Db, d1: D1Database, run: MetricRun, reads?: RunReads): Promise<KindObservations> {
  const out: KindObservations = { metrics: [], observations: [] };
  for (const k of await kindsOfRun(db, run)) {
    const got = await kindObservations(k, d1, run, reads);
    if (!got) continue;
    out.metrics.push(...got.metrics.filter((m) => !out.metrics.some((x) => x.id === m.id)));
    appendAll(out.observations, got.observations);
  }
  return out;
}

/**
 * The run's per-item sums of every suite kind it covers: from the kind's SQL aggregate where it has one (a
 * 100,000-unit persona run reads a few hundred rows), else summed from its observations.
 */
export async function runClusters(db: Db, reads: RunReads, run: MetricRun): Promise<KindClusters> {
  const out: KindClusters = { metrics: [], clusters: new Map() };
  for (const k of await kindsOfRun(db, run)) {
    const sums = !SUITE_KINDS[k]?.observations && CLUSTER_SOURCES[k];
    const observed = sums ? undefined : kindObservations(k, reads.d1, run, reads);
    const got = sums ? await sums(reads, run) : observed && clustersOf(await observed);
    if (!got) continue;
    for (const m of got.metrics) {
      if (out.metrics.some((x) => x.id === m.id)) continue;
      out.metrics.push(m);
      out.clusters.set(m.id, got.clusters.get(m.id) ?? []);
    }
  }
  return out;
}

/** Observations summed per metric and item, in the order the observations come. */
export function clustersOf(data: KindObservations): KindClusters {
  const byMetric = new Map<string, Map<string, ClusterSum>>();
  for (const o of data.observations) {
    let items = byMetric.get(o.metric);
    if (!items) byMetric.set(o.metric, (items = new Map()));
    const c = items.get(o.item);
    if (c) {
      c.n++;
      c.sum += o.value;
    } else items.set(o.item, { item: o.item, n: 1, sum: o.value });
  }
  return { metrics: data.metrics, clusters: new Map([...byMetric].map(([m, items]) => [m, [...items.values()]])) };
}

/** Estimate, n, clusters and 95% CI of every declared metric, from per-item sums. */
export function aggregateClusters(runId: string, data: KindClusters): MetricEstimate[] {
  return data.metrics.map((info) => ({ ...info, ...clusteredMeanOfSums(mergeItems(data.clusters.get(info.id) ?? []), { rate: info.rate }), runId }));
}

/** Sums of one item listed twice (a combined metric whose strata share an item) become one cluster. */
function mergeItems(list: ClusterSum[]): ClusterSum[] {
  const m = new Map<string, ClusterSum>();
  for (const c of list) {
    const x = m.get(c.item);
    if (x) m.set(c.item, { item: c.item, n: x.n + c.n, sum: x.sum + c.sum });
    else m.set(c.item, c);
  }
  return m.size === list.length ? list : [...m.values()];
}

/** Estimate, n, clusters and 95% CI of every declared metric, from observations (the same estimator, summed per item first). */
export function aggregate(runId: string, data: KindObservations): MetricEstimate[] {
  return aggregateClusters(runId, clustersOf(data));
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

/** Which suite kind a metric comes from (projectability is read from persona runs). */
export const suiteKindOf = (m: MetricInfo) => (m.kind === "projectability" ? "persona" : m.kind === "self_report" ? "self-report" : m.kind);

/**
 * One metric of two runs, a − b on the (item, sample) pairs both have (`dropped`: observations without a partner):
 * from per-item paired sums in SQL where the metric's kind has them, else from the runs' observations (each read
 * once per `reads`).
 */
export async function pairedRunDifference(reads: RunReads, a: MetricRun, b: MetricRun, metric: MetricInfo): Promise<PairedComparison> {
  const kind = suiteKindOf(metric);
  const paired = !SUITE_KINDS[kind]?.observations && PAIRED_SOURCES[kind];
  if (paired) {
    const sums = (await reads.once(`paired\u0000${kind}\u0000${a.id}\u0000${b.id}`, () => paired(reads, a, b))).get(metric.id);
    return pairedClusterComparisonOfSums(sums?.clusters ?? [], { rate: metric.rate, dropped: sums?.dropped ?? 0 });
  }
  const observationsOf = async (run: MetricRun) =>
    (await kindObservations(kind, reads.d1, run, reads))?.observations.filter((o) => o.metric === metric.id) ?? [];
  return pairedDifference(await observationsOf(a), await observationsOf(b), metric.rate);
}

/**
 * Every metric both runs declare, a (`runId`) minus b (`baseRunId`), paired on items; p-values Holm-adjusted across
 * the named family (one family per call: e.g. "member vs base: <member>").
 */
export function compareRuns(
  a: { runId: string; data: KindObservations },
  b: { runId: string; data: KindObservations },
  family: string,
  only?: (m: MetricInfo) => boolean,
): MetricComparison[] {
  const ga = byMetric(a.data.observations);
  const gb = byMetric(b.data.observations);
  const shared = a.data.metrics.filter((m) => b.data.metrics.some((x) => x.id === m.id) && (!only || only(m)));
  const raw = shared.map((info) => ({
    ...info,
    ...pairedDifference(ga.get(info.id) ?? [], gb.get(info.id) ?? [], info.rate),
    runId: a.runId,
    baseRunId: b.runId,
    family,
  }));
  return withHolm(raw);
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

/** Holm-adjusts the p-values of one family (null p-values stay null and do not count). */
export function withHolm<T extends { p: number | null }>(family: T[]): (T & { pHolm: number | null })[] {
  const adjusted = holmAvailable(family.map((c) => c.p));
  return family.map((c, i) => ({ ...c, pHolm: adjusted[i] }));
}
