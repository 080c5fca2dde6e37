/** @module Unit tests for src/stats against published reference values (pure: no bindings, no network). */

import { describe, expect, it } from "vitest";
import {
  BOOTSTRAP_RESAMPLES,
  BOOTSTRAP_SEED,
  binomialCdf,
  binomialPmf,
  bootstrap,
  clusterBootstrapMean,
  clusterMeanInterval,
  cohensKappa,
  cosine,
  createRng,
  dot,
  fisherExact,
  hashString,
  holm,
  hypergeometricPmf,
  mcnemarExact,
  mean,
  median,
  newcombeDiffInterval,
  norm,
  normalCdf,
  normalQuantile,
  pairedBootstrapMeanDiff,
  pairedTTest,
  percentileInterval,
  projectionLength,
  quantile,
  regularizedIncompleteBeta,
  resampleIndices,
  sd,
  seedFrom,
  spearman,
  spearmanInterval,
  tCdf,
  tMeanInterval,
  tQuantile,
  twoProportionZTest,
  variance,
  wilson,
} from "../../src/stats/index.ts";

/** Rounds to `dp` decimal places, for comparing with values published to that precision. */
const round = (x: number, dp: number): number => Number(x.toFixed(dp));

describe("rng", () => {
  it("is reproducible for a seed and differs across seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it("is roughly uniform", () => {
    const rng = createRng(7);
    const draws = Array.from({ length: 20000 }, () => rng());
    expect(mean(draws)).toBeCloseTo(0.5, 2);
    expect(variance(draws)).toBeCloseTo(1 / 12, 2);
  });

  it("hashes with 32-bit FNV-1a", () => {
    // Published FNV-1a 32-bit test vectors: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
    expect(hashString("foobar")).toBe(0xbf9cf968);
    expect(seedFrom("run", 1)).toBe(seedFrom("run", "1"));
    expect(seedFrom("ab", "c")).not.toBe(seedFrom("a", "bc"));
  });
});

describe("descriptive", () => {
  it("computes mean, sample variance, sd", () => {
    const x = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(x)).toBe(5);
    expect(variance(x)).toBeCloseTo(32 / 7, 12);
    expect(sd(x)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(Number.isNaN(variance([1]))).toBe(true);
    expect(Number.isNaN(mean([]))).toBe(true);
  });

  it("uses type-7 quantiles (R's default)", () => {
    // R: quantile(c(1, 2, 3, 4, 10), c(0, 0.3, 0.5, 0.9, 1)) → 1, 2.2, 3, 7.6, 10.
    const x = [10, 1, 4, 2, 3];
    expect(quantile(x, 0)).toBe(1);
    expect(quantile(x, 0.3)).toBeCloseTo(2.2, 12);
    expect(median(x)).toBe(3);
    expect(quantile(x, 0.9)).toBeCloseTo(7.6, 12);
    expect(quantile(x, 1)).toBe(10);
    expect(x).toEqual([10, 1, 4, 2, 3]);
  });
});

describe("distributions", () => {
  it("matches normal reference values", () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 12);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 14);
    // Φ(−10) = 7.619853024160527e-24 (Abramowitz & Stegun table 26.1 / R pnorm): relative accuracy in the tail.
    expect(normalCdf(-10) / 7.619853024160527e-24).toBeCloseTo(1, 10);
    for (const p of [1e-10, 0.01, 0.3, 0.9]) expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 10);
  });

  it("matches Student t reference values", () => {
    expect(round(tCdf(2.0, 10), 5)).toBe(0.96331);
    expect(round(tQuantile(0.975, 29), 5)).toBe(2.04523);
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062047, 6);
    expect(tQuantile(0.995, 2)).toBeCloseTo(9.9248432, 6);
    expect(tQuantile(0.025, 5)).toBeCloseTo(-2.5705818, 6);
    expect(tCdf(0, 3)).toBeCloseTo(0.5, 14);
    for (const df of [1, 3, 29, 1000]) expect(tCdf(tQuantile(0.9, df), df)).toBeCloseTo(0.9, 12);
  });

  it("computes the regularized incomplete beta", () => {
    // I_x(1, 1) = x; I_x(2, 1) = x²; I_x(a, b) = 1 − I_{1−x}(b, a).
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedIncompleteBeta(0.3, 2, 1)).toBeCloseTo(0.09, 14);
    expect(regularizedIncompleteBeta(0.4, 2.5, 7)).toBeCloseTo(1 - regularizedIncompleteBeta(0.6, 7, 2.5), 14);
  });

  it("computes binomial and hypergeometric probabilities", () => {
    expect(binomialPmf(3, 10, 0.5)).toBeCloseTo(120 / 1024, 14);
    expect(binomialCdf(1, 10, 0.5)).toBeCloseTo(11 / 1024, 14);
    expect(binomialCdf(10, 10, 0.3)).toBe(1);
    expect(hypergeometricPmf(3, 8, 4, 4)).toBeCloseTo(16 / 70, 14);
    // Large n stays finite in log space.
    expect(binomialPmf(5000, 10000, 0.5)).toBeCloseTo(0.007978646, 8);
  });
});

describe("intervals", () => {
  it("matches Newcombe (1998) Wilson reference values", () => {
    const w = wilson(81, 263);
    expect(round(w.lo, 4)).toBe(0.2553);
    expect(round(w.hi, 4)).toBe(0.3662);
    expect(w.estimate).toBeCloseTo(81 / 263, 14);
    const z = wilson(0, 10);
    expect(z.lo).toBe(0);
    expect(round(z.hi, 4)).toBe(0.2775);
    expect([round(wilson(15, 148).lo, 4), round(wilson(15, 148).hi, 4)]).toEqual([0.0624, 0.1605]);
    expect([round(wilson(1, 29).lo, 4), round(wilson(1, 29).hi, 4)]).toEqual([0.0061, 0.1718]);
  });

  it("returns an uninformative Wilson interval for n = 0", () => {
    const w = wilson(0, 0);
    expect(Number.isNaN(w.estimate)).toBe(true);
    expect([w.lo, w.hi]).toEqual([0, 1]);
  });

  it("computes a t-interval of a mean", () => {
    // mean 5, sd sqrt(32/7), n 8, t_{0.975,7} = 2.364624.
    const r = tMeanInterval([2, 4, 4, 4, 5, 5, 7, 9], 0.95);
    const half = (2.364624251592785 * Math.sqrt(32 / 7)) / Math.sqrt(8);
    expect(r.estimate).toBe(5);
    expect(r.lo).toBeCloseTo(5 - half, 10);
    expect(r.hi).toBeCloseTo(5 + half, 10);
    expect(r.n).toBe(8);
  });

  it("clusterMeanInterval equals tMeanInterval when every cluster has one value", () => {
    const values = [0.2, 0.5, 0.9, 0.4, 0.4, 0.7, 0.1];
    const c = clusterMeanInterval(
      values.map((v) => [v]),
      0.95,
    );
    const t = tMeanInterval(values, 0.95);
    expect(c.estimate).toBeCloseTo(t.estimate, 14);
    expect(c.lo).toBeCloseTo(t.lo, 14);
    expect(c.hi).toBeCloseTo(t.hi, 14);
    expect(c.clusters).toBe(7);
    expect(c.n).toBe(7);
  });

  it("weights clusters equally", () => {
    const c = clusterMeanInterval([[1, 1, 1, 1], [0]], 0.95);
    expect(c.estimate).toBe(0.5);
    expect(c.n).toBe(5);
    expect(c.clusters).toBe(2);
  });
});

describe("bootstrap", () => {
  it("uses the documented fixed settings", () => {
    expect(BOOTSTRAP_RESAMPLES).toBe(2000);
    expect(BOOTSTRAP_SEED).toBe(20260608);
  });

  it("is reproducible: same seed, identical interval", () => {
    const clusters = [
      [1, 0, 1],
      [0, 0, 0],
      [1, 1, 1],
      [1, 0, 0],
      [0, 1, 1],
      [1, 1, 0],
    ];
    const a = clusterBootstrapMean(clusters);
    const b = clusterBootstrapMean(clusters);
    expect(b).toEqual(a);
    const continuous = [[0.11, 0.52], [0.93], [0.37, 0.41, 0.08], [0.64], [0.29, 0.77], [0.5, 0.13]];
    const seeded = clusterBootstrapMean(continuous, { seed: 1 });
    expect(clusterBootstrapMean(continuous, { seed: 1 })).toEqual(seeded);
    const other = clusterBootstrapMean(continuous, { seed: 2 });
    expect([other.lo, other.hi]).not.toEqual([seeded.lo, seeded.hi]);
    // Cluster means 2/3, 0, 1, 1/3, 2/3, 2/3 → mean of cluster means 5/9.
    expect(a.estimate).toBeCloseTo(5 / 9, 14);
    expect(a.lo).toBeLessThan(a.estimate);
    expect(a.hi).toBeGreaterThan(a.estimate);
    expect(a.clusters).toBe(6);
    expect(a.n).toBe(18);
  });

  it("lets the statistic draw its own resample", () => {
    const x = [1, 2, 3, 4, 5];
    const stat = (rng: () => number): number => mean(Array.from(resampleIndices(rng, x.length), (i) => x[i]));
    const s1 = bootstrap(stat, { resamples: 100, seed: 5 }).samples;
    const s2 = bootstrap(stat, { resamples: 100, seed: 5 }).samples;
    expect(s1.length).toBe(100);
    expect(Array.from(s1)).toEqual(Array.from(s2));
    const { lo, hi } = percentileInterval(s1, 0.9);
    expect(lo).toBeLessThanOrEqual(3);
    expect(hi).toBeGreaterThanOrEqual(3);
  });

  it("computes percentile intervals with type-7 quantiles", () => {
    const samples = Array.from({ length: 101 }, (_, i) => i);
    const { lo, hi } = percentileInterval(samples, 0.95);
    expect(lo).toBeCloseTo(2.5, 10);
    expect(hi).toBeCloseTo(97.5, 10);
  });

  it("pairedBootstrapMeanDiff detects a clear shift and not a null one", () => {
    const rng = createRng(seedFrom("stats.test", "paired"));
    const base = Array.from({ length: 40 }, () => rng());
    const noise = Array.from({ length: 40 }, () => (rng() - 0.5) * 0.2);
    const shifted = base.map((b, i) => b + 0.1 + noise[i]);
    const unshifted = base.map((b, i) => b + noise[i]);
    const hit = pairedBootstrapMeanDiff(shifted, base);
    expect(hit.pValue).toBeLessThan(0.01);
    expect(hit.pValue).toBeGreaterThanOrEqual(1 / (BOOTSTRAP_RESAMPLES + 1));
    expect(hit.lo).toBeGreaterThan(0);
    expect(hit.estimate).toBeCloseTo(0.1, 1);
    const miss = pairedBootstrapMeanDiff(unshifted, base);
    expect(miss.pValue).toBeGreaterThan(0.05);
    expect(miss.lo).toBeLessThan(0);
    expect(miss.hi).toBeGreaterThan(0);
    expect(pairedBootstrapMeanDiff(unshifted, base)).toEqual(miss);
  });
});

describe("tests", () => {
  it("Fisher exact matches reference values", () => {
    // (3,1,1,3): margins 4/4/4/4, C(8,4) = 70 tables weights 1,16,36,16,1 for a = 0..4; observed a = 3 (16/70);
    // tables no more probable: a ∈ {0,1,3,4} → 34/70 = 0.4857.
    expect(round(fisherExact(3, 1, 1, 3), 4)).toBe(0.4857);
    // (1,9,11,3): rows 10/14, columns 12/12, N = 24, C(24,12) = 2,704,156. P(a) = C(10,a)·C(14,12−a)/C(24,12):
    // a=0: 1·91 = 91, a=1: 10·364 = 3640 (observed), a=2: 45·1001 = 45045, ..., a=9: 10·364 = 3640, a=10: 1·91 = 91.
    // Only a ∈ {0,1,9,10} are as improbable as the observed table: (91+3640+3640+91)/2,704,156 = 7462/2,704,156 = 0.0027595.
    expect(round(fisherExact(1, 9, 11, 3), 4)).toBe(0.0028);
    expect(fisherExact(1, 9, 11, 3)).toBeCloseTo(7462 / 2704156, 12);
    expect(fisherExact(0, 0, 0, 0)).toBe(1);
  });

  it("McNemar exact matches the binomial reference", () => {
    // 2·P(X <= 1), X ~ Bin(10, 1/2) = 2·11/1024 = 0.021484375.
    expect(round(mcnemarExact(1, 9).pValue, 5)).toBe(0.02148);
    expect(mcnemarExact(9, 1).pValue).toBeCloseTo(22 / 1024, 14);
    expect(mcnemarExact(0, 0).pValue).toBe(1);
    expect(mcnemarExact(5, 5).pValue).toBe(1);
  });

  it("paired t-test agrees with the t distribution", () => {
    const r = pairedTTest([0.1, 0.3, -0.2, 0.4, 0.25, 0.05]);
    // R: t.test(c(0.1, 0.3, -0.2, 0.4, 0.25, 0.05)) → t = 1.7131, df = 5, p-value = 0.1474, CI −0.0751 to 0.3751.
    expect(round(r.t, 4)).toBe(1.7131);
    expect(r.df).toBe(5);
    expect(round(r.pValue, 4)).toBe(0.1474);
    expect(round(r.lo, 4)).toBe(-0.0751);
    expect(round(r.hi, 4)).toBe(0.3751);
  });

  it("two-proportion z-test uses the pooled SE for z and the unpooled SE for the CI", () => {
    const r = twoProportionZTest(30, 100, 45, 100);
    // pooled p = 0.375, SE0 = sqrt(0.375·0.625·0.02) = 0.0684653, z = −0.15/SE0 = −2.19089.
    expect(r.diff).toBeCloseTo(-0.15, 14);
    expect(round(r.z, 5)).toBe(-2.19089);
    expect(round(r.pValue, 4)).toBe(0.0285);
    const se1 = Math.sqrt((0.3 * 0.7) / 100 + (0.45 * 0.55) / 100);
    expect(r.lo).toBeCloseTo(-0.15 - 1.959963984540054 * se1, 10);
    expect(r.hi).toBeCloseTo(-0.15 + 1.959963984540054 * se1, 10);
  });

  it("Holm adjusts step-down and keeps the input order", () => {
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 14));
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });

  it("Spearman handles monotone data and ties", () => {
    expect(spearman([1, 2, 3, 4, 5], [10, 20, 30, 400, 5000])).toBeCloseTo(1, 14);
    expect(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])).toBeCloseTo(-1, 14);
    // Ties: ranks of x = 1, 2.5, 2.5, 4; y identical → rho = 1.
    expect(spearman([1, 2, 2, 3], [10, 20, 20, 30])).toBeCloseTo(1, 14);
    const r = spearmanInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 1, 4, 3, 6, 5, 8, 7, 10, 9]);
    // rho = 1 − 6·Σd²/(n(n²−1)) = 1 − 6·10/990 = 0.939394; Fisher z: atanh(rho) ± 1.96·sqrt(1.06/7).
    expect(r.rho).toBeCloseTo(1 - 60 / 990, 12);
    const se = Math.sqrt(1.06 / 7);
    expect(r.lo).toBeCloseTo(Math.tanh(Math.atanh(r.rho) - 1.959963984540054 * se), 12);
    expect(r.hi).toBeCloseTo(Math.tanh(Math.atanh(r.rho) + 1.959963984540054 * se), 12);
    expect(r.pValue).toBeLessThan(0.001);
  });

  it("Cohen's kappa matches a hand-computed table", () => {
    // 10 items; A says y 6 times, B says y 6 times; they agree on 8 (5 y/y, 3 n/n).
    // p_o = 0.8, p_e = 0.6·0.6 + 0.4·0.4 = 0.52, kappa = (0.8 − 0.52)/(1 − 0.52) = 0.58333.
    const a = ["y", "y", "y", "n", "n", "y", "n", "y", "y", "n"];
    const b = ["y", "y", "n", "n", "n", "y", "y", "y", "y", "n"];
    const k = cohensKappa(a, b);
    expect(k.agreement).toBeCloseTo(0.8, 14);
    expect(k.kappa).toBeCloseTo(0.28 / 0.48, 12);
    expect(k.n).toBe(10);
    expect(cohensKappa(a, a).kappa).toBeCloseTo(1, 14);
  });

  it("Newcombe hybrid score interval matches Newcombe (1998) Table II, method 10", () => {
    const cases: [number, number, number, number, number, number][] = [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [6, 7, 2, 7, 0.0582, 0.8062],
      [5, 56, 0, 29, -0.0381, 0.1926],
      [0, 10, 0, 20, -0.1611, 0.2775],
    ];
    for (const [x1, n1, x2, n2, lo, hi] of cases) {
      const r = newcombeDiffInterval(x1, n1, x2, n2, 0.95);
      expect(round(r.lo, 4)).toBe(lo);
      expect(round(r.hi, 4)).toBe(hi);
    }
  });
});

describe("vector", () => {
  it("computes dot, norm, cosine and projection", () => {
    expect(dot([1, 2, 3], [4, 5, 6])).toBe(32);
    expect(norm([3, 4])).toBe(5);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 1], [2, 2])).toBeCloseTo(1, 14);
    expect(Number.isNaN(cosine([0, 0], [1, 2]))).toBe(true);
    expect(projectionLength([3, 4], [2, 0])).toBe(3);
    expect(() => dot([1], [1, 2])).toThrow();
  });
});
