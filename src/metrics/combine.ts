/**
 * @module metrics/combine: helpers the kinds' observation sources share.
 *
 * Combined metrics (the macro safe rate, projections onto a constitution's signature, the inversion gap) are
 * weighted sums of per-stratum means. Each observation of stratum s is written as w_s * (N / n_s) * x + c (N items
 * in all, n_s in the stratum), so the plain mean over items equals sum_s w_s * mean_s + c and one clustered
 * estimator serves them all (ours).
 */
import type { ClusterSum, Observation } from "./types";

export const words = (s: string) => s.replace(/_/g, " ");

/** Re-weights per-stratum observations so their plain item mean is sum_s weight_s * mean_s + offset (see the module note). */
export function combine(metric: string, runId: string, strata: Map<string, Observation[]>, weight: (stratum: string) => number, offset = 0): Observation[] {
  const itemsOf = (list: Observation[]) => new Set(list.map((o) => o.item)).size;
  const total = [...strata.values()].reduce((a, l) => a + itemsOf(l), 0);
  const out: Observation[] = [];
  for (const [s, list] of strata) {
    const k = (weight(s) * total) / itemsOf(list);
    for (const o of list) out.push({ metric, runId, item: o.item, sample: o.sample, value: k * o.value + offset });
  }
  return out;
}

/** combine on per-item sums: an item of stratum s with n observations and sum x becomes (n, k_s * x + offset * n). */
export function combineSums(strata: Map<string, ClusterSum[]>, weight: (stratum: string) => number, offset = 0): ClusterSum[] {
  const itemsOf = (list: ClusterSum[]) => list.filter((c) => c.n > 0).length;
  const total = [...strata.values()].reduce((a, l) => a + itemsOf(l), 0);
  const out: ClusterSum[] = [];
  for (const [s, list] of strata) {
    const k = (weight(s) * total) / itemsOf(list);
    for (const c of list) if (c.n > 0) out.push({ item: c.item, n: c.n, sum: k * c.sum + offset * c.n });
  }
  return out;
}
