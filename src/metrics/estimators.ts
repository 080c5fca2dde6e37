/**
 * @module metrics/estimators: the two statistics calls of the metric layer, behind the interface of
 * `src/stats/inference.ts` (issue 11) so that module can replace this file's bodies in one place. Today they are
 * built from `src/stats`: a t-interval over cluster means, and a paired t-test over per-cluster mean differences
 * (exact McNemar for one binary pair per cluster). Every call site in src/metrics goes through here.
 */
import { mean } from "../stats/descriptive";
import { clusterMeanInterval, DEFAULT_CONFIDENCE } from "../stats/intervals";
import { mcnemarExact, pairedTTest } from "../stats/tests";

export interface Estimate {
  estimate: number | null;
  n: number;
  clusters: number;
  lo: number | null;
  hi: number | null;
  method: string;
  reason?: string;
}

export interface PairedComparison extends Estimate {
  p: number | null;
  test: string;
  valid: boolean;
  dropped: number;
}

const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Mean of cluster means with a t-interval over the clusters (each cluster weighs the same); rates are clipped to [0, 1]. */
export function clusteredMean(clusters: number[][], opts: { rate?: boolean; level?: number } = {}): Estimate {
  const kept = clusters.filter((c) => c.length > 0);
  const n = kept.reduce((a, c) => a + c.length, 0);
  if (!kept.length) return { estimate: null, n: 0, clusters: 0, lo: null, hi: null, method: "none", reason: "no scored observations" };
  const ci = clusterMeanInterval(kept, opts.level ?? DEFAULT_CONFIDENCE);
  const method = kept.every((c) => c.length === 1) ? "t-interval over items" : "t-interval over item means (clustered by item)";
  if (kept.length < 2) return { estimate: fin(ci.estimate), n, clusters: kept.length, lo: null, hi: null, method, reason: "fewer than two items: no interval" };
  const clip = (x: number) => (opts.rate ? Math.min(1, Math.max(0, x)) : x);
  return { estimate: fin(ci.estimate), n, clusters: kept.length, lo: fin(clip(ci.lo)), hi: fin(clip(ci.hi)), method };
}

/**
 * a − b over pairs that share a cluster (an item): per-cluster mean differences, their mean with a t-interval and a
 * paired t-test; with one binary pair per cluster the p-value is exact McNemar on the discordant pairs.
 */
export function pairedClusterComparison(pairs: { cluster: string; a: number; b: number }[], opts: { rate?: boolean; seed?: number; dropped?: number } = {}): PairedComparison {
  const dropped = opts.dropped ?? 0;
  const byCluster = new Map<string, { a: number[]; b: number[] }>();
  for (const p of pairs) {
    const g = byCluster.get(p.cluster) ?? { a: [], b: [] };
    g.a.push(p.a);
    g.b.push(p.b);
    byCluster.set(p.cluster, g);
  }
  const groups = [...byCluster.values()];
  const none = (reason: string): PairedComparison => ({ estimate: null, n: pairs.length, clusters: groups.length, lo: null, hi: null, method: "none", reason, p: null, test: "none", valid: false, dropped });
  if (groups.length < 2) return none(groups.length ? "fewer than two paired items" : "no paired observations");
  const diffs = groups.map((g) => mean(g.a) - mean(g.b));
  const t = pairedTTest(diffs);
  const binary = opts.rate && groups.every((g) => g.a.length === 1 && [g.a[0], g.b[0]].every((x) => x === 0 || x === 1));
  const clip = (x: number) => (opts.rate ? Math.min(1, Math.max(-1, x)) : x);
  const base = { estimate: fin(t.meanDiff), n: pairs.length, clusters: groups.length, lo: fin(clip(t.lo)), hi: fin(clip(t.hi)), method: "t-interval over per-item mean differences", valid: true, dropped };
  if (binary) {
    const better = groups.filter((g) => g.a[0] === 1 && g.b[0] === 0).length;
    const worse = groups.filter((g) => g.a[0] === 0 && g.b[0] === 1).length;
    return { ...base, p: mcnemarExact(better, worse).pValue, test: "exact McNemar on discordant items" };
  }
  return { ...base, p: fin(t.pValue), test: "paired t-test on per-item mean differences" };
}
