/** @module test/unit/cluster-sums: the estimators from per-cluster counts and sums equal those from the values (issue 15). */
import { describe, expect, it } from "vitest";
import { clusteredMean, clusteredMeanOfSums, pairedClusterComparison, pairedClusterComparisonOfSums } from "../../src/metrics/estimators";
import { clustersOf } from "../../src/metrics/aggregate";
import { combine, combineSums } from "../../src/metrics/combine";
import { createRng } from "../../src/stats/rng";

const sums = (clusters: number[][]) => clusters.map((c) => ({ n: c.length, sum: c.reduce((a, x) => a + x, 0) }));

describe("estimators on per-cluster sums", () => {
  const rng = createRng(15);
  const scores = Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + (i % 4) }, () => rng()));
  const binary = Array.from({ length: 9 }, (_, i) => Array.from({ length: 1 + (i % 3) }, () => (rng() < 0.3 ? 1 : 0)));

  it("clusteredMeanOfSums gives clusteredMean's estimate, interval and method, for scores and rates, one or several per cluster", () => {
    for (const clusters of [scores, binary, binary.map((c) => c.slice(0, 1)), [[0.4]], []])
      for (const rate of [false, true]) expect(clusteredMeanOfSums(sums(clusters), { rate })).toEqual(clusteredMean(clusters, { rate }));
  });

  it("pairedClusterComparisonOfSums gives pairedClusterComparison's figures and test", () => {
    const pairs = scores.flatMap((c, i) =>
      c.map((a, j) => ({ cluster: `i${i}`, a, b: scores[(i + 1) % scores.length][j % scores[(i + 1) % scores.length].length] })),
    );
    const perCluster = new Map<string, { m: number; a: number; b: number }>();
    for (const p of pairs) {
      const c = perCluster.get(p.cluster) ?? { m: 0, a: 0, b: 0 };
      perCluster.set(p.cluster, { m: c.m + 1, a: c.a + p.a, b: c.b + p.b });
    }
    expect(pairedClusterComparisonOfSums([...perCluster.values()], { rate: true, dropped: 3 })).toEqual(
      pairedClusterComparison(pairs, { rate: true, dropped: 3 }),
    );
  });

  it("combineSums gives the per-item sums of combine's observations (to 1e-12)", () => {
    const obs = (stratum: string, clusters: number[][]) =>
      clusters.flatMap((c, i) => c.map((value, j) => ({ metric: "x", runId: "r", item: `${stratum}${i}`, sample: String(j), value })));
    const strata = new Map([
      ["a", obs("a", scores)],
      ["b", obs("b", binary)],
    ]);
    const weight = (s: string) => (s === "a" ? 0.7 : -0.3);
    const perUnit = clustersOf({ metrics: [], observations: combine("x", "r", strata, weight, -0.2) }).clusters.get("x")!;
    const bySums = combineSums(new Map([...strata].map(([s, l]) => [s, clustersOf({ metrics: [], observations: l }).clusters.get("x")!])), weight, -0.2);
    expect(bySums.map((c) => [c.item, c.n])).toEqual(perUnit.map((c) => [c.item, c.n]));
    bySums.forEach((c, i) => expect(c.sum).toBeCloseTo(perUnit[i].sum, 12));
  });
});
