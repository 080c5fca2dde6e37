/**
 * @module kinds/persona/metrics: the persona kind's named metrics (the metric layer, src/metrics): the run report
 * reads them from per-item sums in SQL (`personaClusters`); paired comparisons of two runs read one observation per
 * (item, sample) (`personaObservations`). Both give the same estimates (test/integration/metric-sums.test.ts).
 */
import { personaPairedItems, personaSamples } from "../../db/queries/reports";
import { combine, combineSums, words } from "../../metrics/combine";
import type { ClusterSum, MetricInfo, Observation, ObservationSource, PairedClusters, PairedSum } from "../../metrics/types";
import type { ClusterSource, PairedSource } from "../../metrics/sources";
import { constitutions, signatureVector } from "../../suites/constitutions";
import { CANONICAL_DIMENSIONS } from "./format";
import { appendAll, groupBy } from "../../lib/arrays";

const DIMS = CANONICAL_DIMENSIONS as readonly string[];

/** Canonical dimensions first, then the others by name (the order of the report's dimensions). */
function byDimensionOrder(a: string, b: string): number {
  const rank = (d: string) => (DIMS.includes(d) ? DIMS.indexOf(d) : DIMS.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function matchMetric(dim: string): MetricInfo {
  return {
    id: `persona.${dim}.match`,
    kind: "persona",
    label: `${words(dim)} match`,
    better: null,
    rate: true,
    headline: DIMS.includes(dim),
    definition: "P(matching behaviour) per answer, mean over items",
  };
}

/**
 * Projection of the match rates (centred on 0.5, no preference) onto each constitution's unit signature (ours): per
 * constitution, its metric and the weight and offset that `combine` / `combineSums` apply to the dimensions' values.
 */
function projections(): { info: MetricInfo; weight: (d: string) => number; offset: number }[] {
  return [...constitutions().values()].map((c) => {
    const sig = signatureVector(c);
    const norm = Math.hypot(...sig) || 1;
    const weight = (d: string) => sig[DIMS.indexOf(d)] / norm;
    return {
      info: {
        id: `projectability.${c.id}.projection`,
        kind: "projectability",
        label: `projection onto ${words(c.id)}`,
        better: null,
        rate: false,
        headline: true,
        definition:
          "ours: sum over the four dimensions of unit-signature weight x (match rate - 0.5); against a base, the paired difference is the projection of the delta (docs/projectability.md)",
      },
      weight,
      offset: -0.5 * DIMS.reduce((a, d) => a + weight(d), 0),
    };
  });
}

/** Per-item sums from SQL (personaItemStats, shared with the report's persona section). */
export const personaClusters: ClusterSource = async (reads, run) => {
  const perDim = new Map<string, ClusterSum[]>();
  for (const it of await reads.personaItems(run.id)) {
    if (!it.scored) continue;
    const c = { item: `${it.suiteVersionId}|${it.itemKey}`, n: it.scored, sum: it.scoreSum };
    const list = perDim.get(it.dimension);
    if (list) list.push(c);
    else perDim.set(it.dimension, [c]);
  }
  const metrics: MetricInfo[] = [];
  const clusters = new Map<string, ClusterSum[]>();
  for (const dim of [...perDim.keys()].sort(byDimensionOrder)) {
    const info = matchMetric(dim);
    metrics.push(info);
    clusters.set(info.id, perDim.get(dim)!);
  }
  if (DIMS.every((d) => perDim.has(d))) {
    const canonical = new Map(DIMS.map((d) => [d, perDim.get(d)!]));
    for (const p of projections()) {
      metrics.push(p.info);
      clusters.set(p.info.id, combineSums(canonical, p.weight, p.offset));
    }
  }
  return { metrics, clusters };
};

/**
 * Two runs paired on (item, sample) in SQL, summed per item, for every metric both declare: each dimension's match
 * rate, and each projection with the weights of its own run (as `combine` gives each run's observations).
 */
export const personaPairedClusters: PairedSource = async (reads, a, b) => {
  const perDim = new Map<string, { clusters: PairedSum[]; dropped: number }>();
  for (const it of await personaPairedItems(reads.d1, a.id, b.id)) {
    let d = perDim.get(it.dimension);
    if (!d) perDim.set(it.dimension, (d = { clusters: [], dropped: 0 }));
    d.dropped += it.unpaired;
    if (it.pairs) d.clusters.push({ item: `${it.suiteVersionId}|${it.itemKey}`, m: it.pairs, a: it.sumA, b: it.sumB });
  }
  const out: PairedClusters = new Map();
  for (const [dim, d] of perDim) out.set(matchMetric(dim).id, d);
  // A projection's value of an item in stratum d is k_d * score + offset, with k_d from the run's own scored items.
  const itemsPerDim = async (runId: string) => {
    const count = new Map<string, number>();
    for (const it of await reads.personaItems(runId)) if (it.scored) count.set(it.dimension, (count.get(it.dimension) ?? 0) + 1);
    return count;
  };
  const [ia, ib] = [await itemsPerDim(a.id), await itemsPerDim(b.id)];
  if (DIMS.every((d) => ia.has(d) && ib.has(d) && perDim.has(d))) {
    const total = (c: Map<string, number>) => DIMS.reduce((s, d) => s + c.get(d)!, 0);
    for (const p of projections()) {
      const clusters: PairedSum[] = [];
      let dropped = 0;
      for (const d of DIMS) {
        const ka = (p.weight(d) * total(ia)) / ia.get(d)!;
        const kb = (p.weight(d) * total(ib)) / ib.get(d)!;
        dropped += perDim.get(d)!.dropped;
        for (const c of perDim.get(d)!.clusters) clusters.push({ item: c.item, m: c.m, a: ka * c.a + p.offset * c.m, b: kb * c.b + p.offset * c.m });
      }
      out.set(p.info.id, { clusters, dropped });
    }
  }
  return out;
};

/** One observation per scored (item, sample): the reference for the SQL sums, and paired comparisons of kinds without them. */
export const personaObservations: ObservationSource = async (d1, run) => {
  const samples = await personaSamples(d1, run.id);
  const metrics: MetricInfo[] = [];
  const observations: Observation[] = [];
  const byDim = groupBy(
    samples.filter((s) => s.score != null),
    (s) => s.dimension,
  );
  const perDim = new Map<string, Observation[]>();
  for (const dim of [...byDim.keys()].sort(byDimensionOrder)) {
    const info = matchMetric(dim);
    metrics.push(info);
    const obs = byDim
      .get(dim)!
      .map((s) => ({ metric: info.id, runId: run.id, item: `${s.suiteVersionId}|${s.itemKey}`, sample: String(s.sampleIndex ?? 0), value: s.score! }));
    perDim.set(dim, obs);
    appendAll(observations, obs);
  }
  if (DIMS.every((d) => perDim.has(d))) {
    const canonical = new Map(DIMS.map((d) => [d, perDim.get(d)!]));
    for (const p of projections()) {
      metrics.push(p.info);
      appendAll(observations, combine(p.info.id, run.id, canonical, p.weight, p.offset));
    }
  }
  return { metrics, observations };
};
