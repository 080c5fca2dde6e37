/**
 * src/stats/inference.ts: small-sample inference (issue 11). Reference values were computed with SciPy 1.17.1
 * (scipy.stats.permutation_test, ttest_rel, binomtest, spearmanr) and are written in beside each check.
 */
import { describe, expect, it } from "vitest";
import { SEVEN_PROMPT_CLUSTERS, SEVEN_PROMPT_P } from "../support/relabeling-fixture";
import type { SafetySample } from "../../src/db/queries/reports";
import { safetyEffect } from "../../src/reports/experiment";
import {
  clusteredMean,
  clusteredRateInterval,
  holmAvailable,
  kornGraubardInterval,
  MIN_LABEL_CLUSTERS,
  pairedClusterComparison,
  signFlipTest,
  spearmanTest,
  stratifiedPermutationTest,
  withinClusterComparison,
} from "../../src/stats/inference";

const pairsOf = (a: number[], b: number[]) => a.map((x, i) => ({ cluster: `c${i}`, a: x, b: b[i] }));

describe("sign-flip permutation test", () => {
  it("matches scipy.stats.permutation_test(permutation_type='samples', n_resamples=inf)", () => {
    // permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf) -> 0.0859375
    expect(signFlipTest([0.3, 0.1, -0.05, 0.2, 0.15, 0.25, 0.05, -0.1]).p).toBeCloseTo(0.0859375, 12);
    // The same on a - b of the six-question example below -> 0.03125 (= 2/64)
    expect(signFlipTest([0.5, 0.3, 0.6, 0.4, 0.3, 0.4]).p).toBeCloseTo(0.03125, 12);
  });

  it("gives two or three clusters of one sign p = 0.5 and 0.25, not 0.0005 (issue 11)", () => {
    // scipy permutation_test on [0.2, 0.3] -> 0.5; on [0.2, 0.3, 0.25] -> 0.25
    expect(signFlipTest([0.2, 0.3]).p).toBe(0.5);
    expect(signFlipTest([0.2, 0.3, 0.25]).p).toBe(0.25);
  });

  it("is the exact McNemar test on 0/1 differences", () => {
    // 9 prompts better, 1 worse, 5 tied: scipy.stats.binomtest(1, 10).pvalue = 0.021484375 (= 22/1024)
    const d = [...Array(9).fill(1), -1, ...Array(5).fill(0)];
    expect(signFlipTest(d).p).toBeCloseTo(0.021484375, 12);
    // Above 16 clusters it stays exact: 14 up, 4 down by 0.5 -> scipy.stats.binomtest(4, 18).pvalue = 0.0308837890625
    const wide = signFlipTest([...Array(14).fill(0.5), ...Array(4).fill(-0.5)]);
    expect(wide.exact).toBe(true);
    expect(wide.p).toBeCloseTo(0.0308837890625, 12);
  });

  it("all-zero differences give p = 1; Monte Carlo above 16 clusters is seeded and reproducible", () => {
    expect(signFlipTest([0, 0, 0]).p).toBe(1);
    const d = Array.from({ length: 25 }, (_, i) => ((i * 7) % 11) / 10 - 0.3);
    const r = signFlipTest(d);
    expect(r.exact).toBe(false);
    expect(signFlipTest(d)).toEqual(r);
  });
});

describe("pairedClusterComparison", () => {
  it("interval is the t-interval over cluster differences (scipy.stats.ttest_rel)", () => {
    const a = [0.5, 0.4, 0.6, 0.5, 0.3, 0.4];
    const b = [0, 0.1, 0, 0.1, 0, 0];
    const c = pairedClusterComparison(pairsOf(a, b), { rate: true });
    // ttest_rel(a, b).confidence_interval() -> (0.2939828974961692, 0.5393504358371639)
    expect(c.lo).toBeCloseTo(0.2939828974961692, 9);
    expect(c.hi).toBeCloseTo(0.5393504358371639, 9);
    expect(c.p).toBeCloseTo(0.03125, 12);
    expect(c.valid).toBe(true);
    expect(c.clusters).toBe(6);
  });

  it("averages samples within a cluster before testing, and below the minimum says inconclusive", () => {
    const pairs = [
      { cluster: "x", a: 1, b: 0 },
      { cluster: "x", a: 1, b: 1 },
      { cluster: "y", a: 1, b: 0 },
      { cluster: "z", a: 0, b: 0 },
    ];
    const c = pairedClusterComparison(pairs, { rate: true, dropped: 2 });
    expect(c.estimate).toBeCloseTo((0.5 + 1 + 0) / 3, 12);
    expect(c.clusters).toBe(3);
    expect(c.n).toBe(4);
    expect(c.dropped).toBe(2);
    expect(c.valid).toBe(false);
    expect(c.reason).toBe("inconclusive (too few clusters: 3)");
    expect(MIN_LABEL_CLUSTERS).toBe(6);
  });

  it("never gives a zero-width interval when every cluster agrees", () => {
    const c = pairedClusterComparison(pairsOf(Array(12).fill(0), Array(12).fill(0)), { rate: true });
    expect(c.estimate).toBe(0);
    expect(c.p).toBe(1);
    expect(c.lo!).toBeLessThan(0);
    expect(c.hi!).toBeGreaterThan(0);
  });
});

describe("clusteredMean", () => {
  it("clips the t-interval to the scale's bounds and says so (few clusters of a bounded score)", () => {
    // Two items with acquiescence 0.1 and 0.98: t over 2 cluster means spans about [-5.05, 6.13] unclipped.
    const unclipped = clusteredMean([[0.1], [0.98]]);
    expect(unclipped.lo!).toBeLessThan(0);
    expect(unclipped.hi!).toBeGreaterThan(1);
    const clipped = clusteredMean([[0.1], [0.98]], { bounds: [0, 1] });
    expect(clipped.estimate).toBeCloseTo(0.54, 12);
    expect(clipped.lo).toBe(0);
    expect(clipped.hi).toBe(1);
    expect(clipped.method).toContain("clipped to [0, 1]");
    // An interval inside the bounds is left alone and not labelled clipped.
    const inside = clusteredMean([[40], [42], [41], [43]], { bounds: [0, 100] });
    expect(inside.lo!).toBeGreaterThan(0);
    expect(inside.method).not.toContain("clipped");
  });
  it("one 0/1 observation per cluster is plain Wilson (scipy.stats.binomtest(...).proportion_ci('wilson'))", () => {
    // binomtest(30, 30).proportion_ci(method="wilson") -> (0.8864866068260312, 1.0); binomtest(0, 30) -> (0, 0.11351339317396875)
    const all = clusteredMean(
      Array.from({ length: 30 }, () => [1]),
      { rate: true },
    );
    expect(all.lo).toBeCloseTo(0.8864866068260312, 9);
    expect(all.hi).toBe(1);
    const none = clusteredMean(
      Array.from({ length: 30 }, () => [0]),
      { rate: true },
    );
    expect(none.lo).toBe(0);
    expect(none.hi).toBeCloseTo(0.11351339317396875, 9);
  });

  it("clustered rates at 0/n and n/n keep a non-zero width (the cluster bootstrap gave [1, 1])", () => {
    const e = clusteredMean(
      Array.from({ length: 30 }, () => [1, 1, 1, 1]),
      { rate: true },
    );
    expect(e.estimate).toBe(1);
    expect(e.hi).toBe(1);
    expect(e.lo!).toBeLessThan(0.89);
    const few = clusteredMean([[0, 0], [0, 0, 0], [0]], { rate: true });
    expect(few.lo).toBe(0);
    expect(few.hi!).toBeGreaterThan(0.3);
  });

  it("Korn-Graubard interval: Clopper-Pearson on n_eff (t_{n-1} / t_{k-1})^2, as published (reference: mpmath)", () => {
    // m = [0.2, 0.5, 0.1, 0.4, 0.3], n = 40: n_eff = min(40, max(5, p(1-p)/(var(m, ddof=1)/5))) = min(40, 42) = 40;
    // n* = 40 (t(0.975, 39) / t(0.975, 4))^2 = 21.229553429718811; Clopper-Pearson with x = 0.3 n* as beta quantiles
    // (Beta(0.025; x, n*-x+1), Beta(0.975; x+1, n*-x)). Values from mpmath 1.3.0 at 50 digits, t quantiles by root-finding
    // on the t CDF through betainc, beta quantiles by bisection on betainc (scripts/stats-reference-mpmath.py).
    const e = kornGraubardInterval([0.2, 0.5, 0.1, 0.4, 0.3], 40, 0.95);
    expect(e.nEffective).toBeCloseTo(21.22955342971881, 8);
    expect(e.lo).toBeCloseTo(0.12327925750070448, 8);
    expect(e.hi).toBeCloseTo(0.5349303263764429, 8);
  });

  it("clustered rate: t over cluster means with enough effective events, else Wilson on the df-adjusted n_eff (reference: mpmath)", () => {
    // Effective counts 0.3 * 40 = 12 and 28 (>= 5): 0.3 -+ t(0.975, 4) sqrt(var(m, ddof=1) / 5).
    const t = clusteredRateInterval([0.2, 0.5, 0.1, 0.4, 0.3], 40, 0.95);
    expect(t.method).toMatch(/^t-interval over 5 cluster means/);
    expect(t.lo).toBeCloseTo(0.10367568385224424, 10);
    expect(t.hi).toBeCloseTo(0.4963243161477558, 10);
    // Sparse events: p = 2/21, n_eff = min(21, ...) = 21, p n_eff = 2 < 5, so Wilson on n* = 21 (t(0.975, 20) / t(0.975, 6))^2.
    const clusters = [[1, 0, 0], [0, 0], [0], [0, 0, 0, 0], [0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0]];
    const sparse = clusteredMean(clusters, { rate: true });
    expect(sparse.method).toMatch(/^Wilson on the effective sample size/);
    expect(sparse.estimate).toBeCloseTo(2 / 21, 12);
    expect(sparse.lo).toBeCloseTo(0.02186580787532986, 9);
    expect(sparse.hi).toBeCloseTo(0.3313997807852327, 9);
    // 30 prompts x 4 samples, all 1: worst case n_eff = 30, n* = 30 (t(0.975, 119) / t(0.975, 29))^2 = 28.1197; Wilson lower bound.
    const all = clusteredMean(
      Array.from({ length: 30 }, () => [1, 1, 1, 1]),
      { rate: true },
    );
    expect(all.lo).toBeCloseTo(0.8798086730916829, 9);
    expect(all.hi).toBe(1);
    // Three all-zero clusters of two: n* = 3 (t(0.975, 5) / t(0.975, 2))^2 = 1.0708; Wilson upper bound 0.782, never zero width.
    const zeros = clusteredMean(
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      { rate: true },
    );
    expect(zeros.lo).toBe(0);
    expect(zeros.hi).toBeCloseTo(0.7820134988527331, 9);
    // Equal cluster means inside (0, 1) give no variance: the t branch would be zero width, so Wilson on n_eff = k.
    const flat = clusteredMean(
      Array.from({ length: 20 }, () => [1, 0]),
      { rate: true },
    );
    expect(flat.method).toMatch(/^Wilson/);
    expect(flat.hi! - flat.lo!).toBeGreaterThan(0.2);
  });

  it("continuous data: t-interval over cluster means; one cluster gives a reason, not an interval", () => {
    const e = clusteredMean([[1, 3], [2], [6, 6, 6]]);
    expect(e.estimate).toBeCloseTo(10 / 3, 12);
    expect(e.clusters).toBe(3);
    expect(e.n).toBe(6);
    const one = clusteredMean([[0.4, 0.6]]);
    expect(one.lo).toBeNull();
    expect(one.reason).toMatch(/one cluster/);
  });
});

describe("spearmanTest", () => {
  it("exact permutation p at small n (scipy.stats.permutation_test, permutation_type='pairings')", () => {
    // |rho| = 1 at n = 3: p = 0.3333 (not 0); at n = 4: p = 0.08333
    const three = spearmanTest([1, 2, 3], [1, 2, 3]);
    expect(three.p).toBeCloseTo(1 / 3, 12);
    expect(three.lo).toBeNull();
    expect(three.reason).toMatch(/n too small/);
    const four = spearmanTest([1, 2, 3, 4], [1, 2, 3, 4]);
    expect(four.p).toBeCloseTo(1 / 12, 12);
    // The interval no longer collapses to [1, 1].
    expect(four.hi).toBe(1);
    expect(four.lo!).toBeLessThan(0.5);
    // With ties, n = 5: spearmanr statistic 0.8207826816681233, permutation p 0.13333333333333333
    const tied = spearmanTest([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
    expect(tied.estimate).toBeCloseTo(0.8207826816681233, 12);
    expect(tied.p).toBeCloseTo(0.13333333333333333, 12);
    // n = 6: rho 0.6571428571428573, p 0.175
    expect(spearmanTest([1, 2, 3, 4, 5, 6], [3, 1, 2, 6, 4, 5]).p).toBeCloseTo(0.175, 12);
  });

  it("seeded Monte Carlo permutations above n = 10 (rho as scipy.stats.spearmanr)", () => {
    // spearmanr(range(12), [0,2,1,3,5,4,6,8,7,11,9,10]) -> 0.9580419580419581 (t-approximation p 9.5e-07); no random
    // ordering of 12 reaches it in 20,000 draws, so the permutation p is its floor 1 / 20001.
    const s = spearmanTest(
      Array.from({ length: 12 }, (_, i) => i),
      [0, 2, 1, 3, 5, 4, 6, 8, 7, 11, 9, 10],
    );
    expect(s.estimate).toBeCloseTo(0.9580419580419581, 12);
    expect(s.p).toBeCloseTo(1 / 20001, 12);
    expect(s.test).toMatch(/Monte Carlo/);
  });
});

describe("holmAvailable", () => {
  it("leaves unavailable tests out of the family instead of counting them as p = 1", () => {
    // Two available p-values: Holm over m = 2, not m = 3.
    expect(holmAvailable([0.02, null, 0.04])).toEqual([0.04, null, 0.04]);
  });
});

describe("experiment effects stay paired when a judgment is missing (issue 11)", () => {
  const sample = (itemKey: string, sampleIndex: number, safe: boolean): SafetySample => ({
    itemKey,
    sampleIndex,
    category: "c",
    subcategory: "s",
    heldOut: null,
    borderline: null,
    excluded: null,
    askStatus: "done",
    judgeStatus: "done",
    verdict: safe ? "refusal" : "compliance",
    harm: safe ? 0 : 4,
  });
  // 30 prompts x 4 samples; the model is safer on some prompts and less safe on others.
  const model: SafetySample[] = [];
  const base: SafetySample[] = [];
  for (let p = 0; p < 30; p++) {
    for (let s = 0; s < 4; s++) {
      model.push(sample(`p${p}`, s, (p * 4 + s) % 3 !== 0));
      base.push(sample(`p${p}`, s, (p * 4 + s) % 4 !== 0));
    }
  }
  it("pairs on the intersection of (prompt, sample) and reports what was dropped", () => {
    const all = safetyEffect("all", model, base, () => true);
    const missing = safetyEffect("all", model.slice(1), base, () => true);
    if (!("pValue" in all) || !("pValue" in missing)) throw new Error("expected effects");
    expect(all.test).toMatch(/sign-flip/);
    expect(missing.test).toMatch(/sign-flip/);
    expect(all.dropped).toBe(0);
    expect(missing.dropped).toBe(1);
    expect(missing.prompts).toBe(30);
    // One missing judgment moves p a little, never from a paired to an unpaired sample-level test.
    expect(Math.abs(missing.pValue - all.pValue)).toBeLessThan(0.1);
  });

  it("falls back to the unpaired test only when the asked prompt sets differ", () => {
    const other = base.filter((s) => s.itemKey !== "p0");
    const e = safetyEffect("all", model, other, () => true);
    if (!("pValue" in e)) throw new Error("expected an effect");
    expect(e.test).toMatch(/unpaired/);
    expect(e.valid).toBe(false);
  });
});

describe("within-cluster comparison of unpaired groups (issue 11)", () => {
  it("is the sign-flip test with one observation per group and cluster", () => {
    // Reference: scipy.stats.binomtest(6, 7, 0.5).pvalue = 0.125 (6 of 7 clusters favour a).
    const clusters = [0, 1, 2, 3, 4, 5].map(() => ({ a: [1], b: [0] })).concat([{ a: [0], b: [1] }]);
    expect(stratifiedPermutationTest(clusters).p).toBeCloseTo(0.125, 12);
  });

  it("keeps the exact level under the null with unequal groups, where the Monte Carlo path agrees with the exact one", () => {
    const clusters = SEVEN_PROMPT_CLUSTERS.map(([a, b]) => ({ a, b }));
    const exact = stratifiedPermutationTest(clusters);
    expect(exact.exact).toBe(true);
    // Reference: brute-force enumeration of all 72,000 relabelings (Python itertools; test/support/relabeling-fixture.ts).
    expect(exact.p).toBeCloseTo(SEVEN_PROMPT_P, 12);
    const mc = stratifiedPermutationTest(clusters, { exactMaxWork: 0 });
    expect(mc.exact).toBe(false);
    // Monte Carlo SE of p at 20,000 seeded relabelings: sqrt(0.0845 * 0.9155 / 20000) = 0.002.
    expect(Math.abs(mc.p - SEVEN_PROMPT_P)).toBeLessThan(0.008);
  });

  it("counts observations of clusters without both groups as dropped and labels nothing below the minimum", () => {
    const obs = [0, 1, 2].flatMap((i) => [
      { cluster: `c${i}`, group: "a" as const, value: 1 },
      { cluster: `c${i}`, group: "b" as const, value: 0 },
    ]);
    obs.push({ cluster: "lonely", group: "a", value: 1 });
    const c = withinClusterComparison(obs, { rate: true });
    expect(c).toMatchObject({ clusters: 3, n: 6, dropped: 1, valid: false, reason: "inconclusive (too few clusters: 3)" });
    expect(c.p).toBeCloseTo(0.25, 12);
    expect(c.hi! - c.lo!).toBeGreaterThan(0);
  });
});

describe("signFlipTest: Monte Carlo patterns", () => {
  it("gives the same p whatever order the clusters were read in (storage order is not part of the data)", () => {
    const diffs = Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 0.3 + 0.05);
    const reversed = [...diffs].reverse();
    const interleaved = diffs.filter((_, i) => i % 2 === 0).concat(diffs.filter((_, i) => i % 2 === 1));
    const p = signFlipTest(diffs).p;
    expect(signFlipTest(diffs).exact).toBe(false);
    expect(signFlipTest(reversed).p).toBe(p);
    expect(signFlipTest(interleaved).p).toBe(p);
  });
});
