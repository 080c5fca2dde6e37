/**
 * @module stats/inference — the decision functions every report uses: a clustered mean (or rate) with an interval
 * that holds at few clusters and never collapses at 0/n or n/n, a paired comparison over clusters with an exact
 * sign-flip permutation test, and Spearman's rho with an exact permutation p for small n (docs/statistics.md).
 */

import { mean, sd } from "./descriptive.ts";
import { normalCdf, normalQuantile, regularizedIncompleteBeta, tQuantile } from "./distributions.ts";
import { assertConfidence, DEFAULT_CONFIDENCE, wilson, zCritical } from "./intervals.ts";
import { createRng } from "./rng.ts";
import { averageRanks, cohensKappa, mcnemarExact, newcombeDiffInterval, spearman } from "./tests.ts";

/** Two-sided level at which the reports' labels read a test (conventional 0.05). */
export const LABEL_ALPHA = 0.05;
/**
 * Fewest clusters for which a paired comparison may carry a label: the exact two-sided sign-flip test's smallest
 * attainable p is 2 / 2^k, which first drops below LABEL_ALPHA at k = 6 (2/64 = 0.031; k = 5 gives 0.0625). Below
 * it the comparison is reported but `valid` is false and the label reads "inconclusive (too few clusters: k)".
 */
export const MIN_LABEL_CLUSTERS = 6;
/** Clusters up to which the sign-flip test enumerates all 2^k sign patterns (65,536 at 16); above it, Monte Carlo. */
export const EXACT_SIGN_FLIP_MAX_CLUSTERS = 16;
/** Monte Carlo sign patterns above EXACT_SIGN_FLIP_MAX_CLUSTERS: Monte Carlo SE of p = 0.05 is sqrt(0.05·0.95/20000) ≈ 0.0015. */
export const SIGN_FLIP_RESAMPLES = 20000;
/** Fixed seed of the Monte Carlo sign flips so published p-values reproduce bit for bit (same value as BOOTSTRAP_SEED). */
export const SIGN_FLIP_SEED = 20260608;
/** Relative tolerance when counting permuted statistics "as extreme" as the observed one, so float noise does not break ties. */
const TIE_TOLERANCE = 1e-9;
/** Largest n for which Spearman's p is exact (all n! orderings; 10! = 3,628,800), as scipy.stats.permutation_test would enumerate. */
export const SPEARMAN_EXACT_MAX_N = 10;
/** Fewest pairs for a Spearman p (n = 2 has only ρ = ±1, p = 1) and for its interval (the Fisher z needs n − 3 > 0). */
export const SPEARMAN_MIN_N_TEST = 3;
export const SPEARMAN_MIN_N_INTERVAL = 4;
/** Variance inflation of the Fisher z of Spearman's rho: SE = sqrt(1.06 / (n − 3)) (Fieller, Hartley & Pearson 1957). */
const SPEARMAN_FISHER_Z_VARIANCE = 1.06;

/** A figure with its n, number of clusters and interval, or the reason it has none. */
export interface Estimate {
  estimate: number | null;
  n: number;
  clusters: number;
  lo: number | null;
  hi: number | null;
  method: string;
  reason?: string;
}

/** A paired difference a − b with its test. `valid` is false when the test cannot carry a label at this n. */
export interface PairedComparison extends Estimate {
  p: number | null;
  test: string;
  valid: boolean;
  dropped: number;
}

const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The label reason used whenever a comparison has fewer than MIN_LABEL_CLUSTERS clusters. */
export function tooFewClusters(k: number): string {
  return `inconclusive (too few clusters: ${k})`;
}

/**
 * Effective counts p·n_eff and (1 − p)·n_eff from which a clustered rate takes the t-interval over cluster means instead
 * of the boundary-aware Wilson interval (the np >= 5 rule of thumb for a normal approximation; ours, chosen on the
 * coverage grid of scripts/stats-interval-variants.ts, docs/statistics.md).
 */
export const CLUSTERED_RATE_T_MIN_COUNT = 5;

/**
 * Effective sample size of a clustered rate (Kish design effect) with Korn & Graubard's (1998) degrees-of-freedom
 * adjustment: n_eff = p(1 − p) / v̂, v̂ = variance of the mean of cluster means, kept within [k, n] (the mean of k
 * independent cluster means in [0, 1] has variance at most p(1 − p)/k, and clustering never adds information); at 0/n
 * and n/n v̂ = 0 says nothing about the design effect, so the worst case n_eff = k is used. n* = n_eff (t_{n−1} / t_{k−1})²
 * as Korn & Graubard publish it: with one observation per cluster (n = k, design effect 1) there is no adjustment.
 */
function effectiveSampleSize(clusterMeans: number[], n: number, confidence: number): { p: number; v: number; nEff: number; nStar: number } {
  const k = clusterMeans.length;
  const p = mean(clusterMeans);
  const v = k >= 2 ? sd(clusterMeans) ** 2 / k : NaN;
  let nEff = p > 0 && p < 1 && v > 0 ? (p * (1 - p)) / v : k;
  nEff = Math.min(n, Math.max(k, nEff));
  const q = 1 - (1 - confidence) / 2;
  const nStar = nEff * (tQuantile(q, Math.max(1, n - 1)) / tQuantile(q, Math.max(1, k - 1))) ** 2;
  return { p, v, nEff, nStar };
}

/**
 * Korn & Graubard (1998) interval of a clustered rate: Clopper-Pearson on the df-adjusted effective sample size n*
 * (effectiveSampleSize). Kept for reference: it over-covers at few clusters (0.98-1.00 on the grid of docs/statistics.md),
 * so clusteredMean uses clusteredRateInterval instead.
 */
export function kornGraubardInterval(clusterMeans: number[], n: number, confidence: number): { lo: number; hi: number; nEffective: number } {
  const { p, nStar } = effectiveSampleSize(clusterMeans, n, confidence);
  const cp = clopperPearson(p * nStar, nStar, confidence);
  return { lo: cp.lo, hi: cp.hi, nEffective: nStar };
}

/**
 * Interval of a clustered rate (k >= 2 clusters, n observations, cluster means in [0, 1]) with a switch rule: when the
 * effective counts p·n_eff and (1 − p)·n_eff are both at least CLUSTERED_RATE_T_MIN_COUNT (and the cluster means
 * differ), the t-interval over the k cluster means (df k − 1), clipped to [0, 1]; otherwise the Wilson score interval
 * on Korn & Graubard's df-adjusted effective sample size n*, which is boundary-aware and never zero width. Coverage
 * 0.94-0.98 from 5 clusters on the grid of docs/statistics.md, where Clopper-Pearson on n* gave up to 1.00.
 */
export function clusteredRateInterval(clusterMeans: number[], n: number, confidence: number): { lo: number; hi: number; nEffective: number; method: string } {
  const k = clusterMeans.length;
  const { p, v, nEff, nStar } = effectiveSampleSize(clusterMeans, n, confidence);
  if (v > 0 && p * nEff >= CLUSTERED_RATE_T_MIN_COUNT && (1 - p) * nEff >= CLUSTERED_RATE_T_MIN_COUNT) {
    const half = tQuantile(1 - (1 - confidence) / 2, k - 1) * Math.sqrt(v);
    return {
      lo: Math.max(0, p - half),
      hi: Math.min(1, p + half),
      nEffective: nEff,
      method: `t-interval over ${k} cluster means (df ${k - 1}; effective counts >= ${CLUSTERED_RATE_T_MIN_COUNT})`,
    };
  }
  const z = zCritical(confidence);
  const d = 1 + (z * z) / nStar;
  const centre = (p + (z * z) / (2 * nStar)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / nStar + (z * z) / (4 * nStar * nStar))) / d;
  return {
    lo: p <= 0 ? 0 : Math.max(0, centre - half),
    hi: p >= 1 ? 1 : Math.min(1, centre + half),
    nEffective: nStar,
    method: `Wilson on the effective sample size (design effect, Korn-Graubard df ${k - 1})`,
  };
}

/** Inverse of the regularized incomplete beta in x by bisection (monotone in x; 80 halvings reach double precision). */
function betaQuantile(q: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (regularizedIncompleteBeta(mid, a, b) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Clopper-Pearson interval for a possibly fractional count x of n (as Korn & Graubard 1998 use on the effective n). */
function clopperPearson(x: number, n: number, confidence: number): { lo: number; hi: number } {
  const alpha = 1 - confidence;
  const lo = x <= 0 ? 0 : betaQuantile(alpha / 2, x, n - x + 1);
  const hi = x >= n ? 1 : betaQuantile(1 - alpha / 2, x + 1, n - x);
  return { lo, hi };
}

/**
 * Mean over observations grouped by cluster (item); every cluster weighs the same. rate = true for 0/1 data:
 * one observation per cluster gives the plain Wilson interval, several give clusteredRateInterval (t over cluster
 * means with enough effective events, else Wilson on the df-adjusted effective sample size; never zero width). Otherwise the t-interval over cluster means (df = k − 1).
 * Empty clusters are ignored; fewer than two clusters give no interval (with a reason).
 */
export interface ClusteredMeanOptions {
  /** 0/1 data: a boundary-aware rate interval. */
  rate?: boolean;
  level?: number;
  /**
   * The score's scale (e.g. [0, 1] for a mean P(yes), [0, 100] for an aligned score): a t-interval over few clusters
   * can reach past it, and is clipped to it (the method says so). Clipping keeps the coverage of the interval.
   */
  bounds?: readonly [number, number];
}

export function clusteredMean(clusters: number[][], opts?: ClusteredMeanOptions): Estimate {
  return clusteredMeanOfSums(
    clusters.map((c) => {
      let sum = 0;
      for (const x of c) sum += x;
      return { n: c.length, sum };
    }),
    opts,
  );
}

/**
 * clusteredMean from each cluster's count and sum (what an SQL GROUP BY gives): the estimators use only the cluster
 * means and the total n, so this is the same estimate without one value per observation.
 */
export function clusteredMeanOfSums(clusters: { n: number; sum: number }[], opts?: ClusteredMeanOptions): Estimate {
  const level = opts?.level ?? DEFAULT_CONFIDENCE;
  assertConfidence(level);
  const kept = clusters.filter((c) => c.n > 0);
  const k = kept.length;
  const n = kept.reduce((s, c) => s + c.n, 0);
  if (k === 0) return { estimate: null, n: 0, clusters: 0, lo: null, hi: null, method: "none", reason: "no observations" };
  const means = kept.map((c) => c.sum / c.n);
  const estimate = mean(means);
  if (opts?.rate) {
    if (kept.every((c) => c.n === 1)) {
      const w = wilson(means.filter((x) => x === 1).length, n, level);
      // Single observations that are not 0/1 (already averaged) fall through to the effective-n interval.
      if (means.every((x) => x === 0 || x === 1)) return { estimate, n, clusters: k, lo: w.lo, hi: w.hi, method: "wilson" };
    }
    if (k < 2) return { estimate, n, clusters: k, lo: null, hi: null, method: "none", reason: "one cluster: the spread between clusters is unknown" };
    const e = clusteredRateInterval(means, n, level);
    return { estimate, n, clusters: k, lo: e.lo, hi: e.hi, method: e.method };
  }
  if (k < 2) return { estimate, n, clusters: k, lo: null, hi: null, method: "none", reason: "one cluster: the spread between clusters is unknown" };
  const half = (tQuantile(1 - (1 - level) / 2, k - 1) * sd(means)) / Math.sqrt(k);
  const method = `t-interval over ${k} cluster means (df ${k - 1})`;
  const [min, max] = opts?.bounds ?? [-Infinity, Infinity];
  const lo = Math.max(min, estimate - half);
  const hi = Math.min(max, estimate + half);
  const clipped = lo !== estimate - half || hi !== estimate + half;
  return { estimate, n, clusters: k, lo, hi, method: clipped ? `${method}, clipped to [${min}, ${max}]` : method };
}

/**
 * Two-sided sign-flip permutation test of mean(d) = 0 (Fisher 1935; valid when, under the null, each cluster's
 * difference is symmetric about 0, as it is when the two arms are exchangeable within a cluster). Exact over all
 * 2^k sign patterns up to EXACT_SIGN_FLIP_MAX_CLUSTERS, else SIGN_FLIP_RESAMPLES seeded random patterns with
 * p = (1 + extreme) / (1 + R) (Phipson & Smyth 2010). All-zero differences give p = 1.
 */
export function signFlipTest(
  diffs: number[],
  opts?: { seed?: number; resamples?: number },
): { p: number; exact: boolean; patterns: number; mcnemar?: boolean } {
  // Sorted first: the seeded Monte Carlo patterns are drawn in cluster order, and the order clusters were read in
  // (storage order, an SQL path or a per-unit path) is not part of the data, so it must not move p.
  diffs = [...diffs].sort((x, y) => x - y);
  const k = diffs.length;
  const observed = Math.abs(diffs.reduce((s, d) => s + d, 0));
  const scale = diffs.reduce((s, d) => s + Math.abs(d), 0);
  if (k === 0 || scale === 0) return { p: 1, exact: true, patterns: 2 ** k };
  const threshold = observed - TIE_TOLERANCE * scale;
  // Every non-zero difference of one size (0/1 data with one pair per cluster): the sign-flip distribution is
  // binomial, so the exact test is the exact McNemar test on the discordant clusters, at any k.
  const nonzero = diffs.filter((d) => d !== 0);
  const size = Math.abs(nonzero[0]);
  if (nonzero.every((d) => Math.abs(Math.abs(d) - size) <= TIE_TOLERANCE * size)) {
    const up = nonzero.filter((d) => d > 0).length;
    return { p: mcnemarExact(up, nonzero.length - up).pValue, exact: true, patterns: 2 ** k, mcnemar: true };
  }
  if (k <= EXACT_SIGN_FLIP_MAX_CLUSTERS) {
    const total = 2 ** k;
    let extreme = 0;
    for (let mask = 0; mask < total; mask++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += mask & (1 << i) ? -diffs[i] : diffs[i];
      if (Math.abs(s) >= threshold) extreme++;
    }
    return { p: Math.min(1, extreme / total), exact: true, patterns: total };
  }
  const resamples = opts?.resamples ?? SIGN_FLIP_RESAMPLES;
  const rng = createRng(opts?.seed ?? SIGN_FLIP_SEED);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += rng() < 0.5 ? -diffs[i] : diffs[i];
    if (Math.abs(s) >= threshold) extreme++;
  }
  return { p: Math.min(1, (1 + extreme) / (1 + resamples)), exact: false, patterns: resamples };
}

/**
 * Difference a − b over observations already paired by (cluster, sample); cluster = item. The unit of analysis is
 * the cluster: d_c = mean over the cluster's pairs of (a − b). Estimate = mean of d_c; interval = t-interval over
 * the d_c (df = k − 1; for rates clipped to [−1, 1], and when every d_c is equal Newcombe's interval on the
 * cluster-level counts, so it is never zero width); p = exact sign-flip permutation test over clusters
 * (signFlipTest). `valid` is false below MIN_LABEL_CLUSTERS clusters, where no label may be drawn. `dropped` echoes
 * how many observations the caller could not pair.
 */
export function pairedClusterComparison(
  pairs: { cluster: string; a: number; b: number }[],
  opts?: { rate?: boolean; seed?: number; dropped?: number; level?: number },
): PairedComparison {
  const byCluster = new Map<string, { a: number; b: number; m: number }>();
  for (const p of pairs) {
    const c = byCluster.get(p.cluster) ?? { a: 0, b: 0, m: 0 };
    c.a += p.a;
    c.b += p.b;
    c.m++;
    byCluster.set(p.cluster, c);
  }
  return pairedClusterComparisonOfSums([...byCluster.values()], opts);
}

/**
 * pairedClusterComparison from each cluster's pair count m and its sums of a and b over the pairs (what an SQL join
 * on (item, sample) grouped by item gives): the test and the interval use only the cluster means.
 */
export function pairedClusterComparisonOfSums(
  clusters: { m: number; a: number; b: number }[],
  opts?: { rate?: boolean; seed?: number; dropped?: number; level?: number },
): PairedComparison {
  const level = opts?.level ?? DEFAULT_CONFIDENCE;
  assertConfidence(level);
  const dropped = opts?.dropped ?? 0;
  const kept = clusters.filter((c) => c.m > 0);
  const groups = kept.map((c) => ({ a: c.a / c.m, b: c.b / c.m }));
  const diffs = groups.map((g) => g.a - g.b);
  const k = diffs.length;
  const n = kept.reduce((s, c) => s + c.m, 0);
  const estimate = fin(mean(diffs));
  let test =
    k <= EXACT_SIGN_FLIP_MAX_CLUSTERS
      ? `exact sign-flip permutation test over ${k} clusters (2^${k} patterns)`
      : `sign-flip permutation test over ${k} clusters (${SIGN_FLIP_RESAMPLES} seeded Monte Carlo patterns)`;
  if (k < 2) return { estimate, n, clusters: k, lo: null, hi: null, method: "none", p: null, test: "none", valid: false, dropped, reason: tooFewClusters(k) };
  const flip = signFlipTest(diffs, { seed: opts?.seed });
  const p = flip.p;
  if (flip.mcnemar)
    test = `exact McNemar test on ${diffs.filter((d) => d !== 0).length} discordant clusters (the exact sign-flip test when every cluster difference is 0 or ±c)`;
  const m = mean(diffs);
  const s = sd(diffs);
  let lo: number;
  let hi: number;
  let method = `t-interval over ${k} cluster differences (df ${k - 1})`;
  if (s === 0 && opts?.rate) {
    // Every cluster moved by the same amount (typically 0 at 0/n vs 0/n): the t-interval has zero width, so use
    // Newcombe's score interval with each cluster counted once (the worst-case design effect).
    const nc = newcombeDiffInterval(mean(groups.map((g) => g.a)) * k, k, mean(groups.map((g) => g.b)) * k, k, level);
    lo = nc.lo;
    hi = nc.hi;
    method = `Newcombe hybrid score interval on ${k} cluster-level rates (every cluster difference equal)`;
  } else {
    const half = (tQuantile(1 - (1 - level) / 2, k - 1) * s) / Math.sqrt(k);
    lo = m - half;
    hi = m + half;
  }
  if (opts?.rate) {
    lo = Math.max(-1, lo);
    hi = Math.min(1, hi);
  }
  const valid = k >= MIN_LABEL_CLUSTERS;
  return { estimate, n, clusters: k, lo, hi, method, p, test, valid, dropped, ...(valid ? {} : { reason: tooFewClusters(k) }) };
}

/**
 * Pairs two sets of observations keyed by (cluster, sample) on the intersection of their keys and compares them
 * with pairedClusterComparison; `dropped` counts the observations of either side without a partner.
 */
export function pairOnIntersection(
  a: Map<string, { cluster: string; value: number }>,
  b: Map<string, { cluster: string; value: number }>,
  opts?: { rate?: boolean; seed?: number; level?: number },
): PairedComparison {
  const pairs: { cluster: string; a: number; b: number }[] = [];
  for (const [key, x] of a) {
    const y = b.get(key);
    if (y) pairs.push({ cluster: x.cluster, a: x.value, b: y.value });
  }
  const dropped = a.size - pairs.length + (b.size - pairs.length);
  return pairedClusterComparison(pairs, { ...opts, dropped });
}

/** Spearman's rho with its interval and p, or the reason either is missing. */
export interface SpearmanEstimate extends Estimate {
  p: number | null;
  test: string;
}

function permutations(n: number, visit: (perm: Int32Array) => void): void {
  // Heap's algorithm: every ordering of 0..n−1 exactly once.
  const a = Int32Array.from({ length: n }, (_, i) => i);
  const c = new Int32Array(n);
  visit(a);
  let i = 0;
  while (i < n) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      const t = a[j];
      a[j] = a[i];
      a[i] = t;
      visit(a);
      c[i]++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

const untiedNull = new Map<number, Float64Array>();

/** Counts of S = sum i * perm(i) over all n! orderings of 1..n, indexed by S − n(n + 1)(n + 2)/6 (its minimum); cached per n. */
function untiedNullCounts(n: number): Float64Array {
  const cached = untiedNull.get(n);
  if (cached) return cached;
  const sMin = (n * (n + 1) * (n + 2)) / 6;
  const sMax = (n * (n + 1) * (2 * n + 1)) / 6;
  const counts = new Float64Array(sMax - sMin + 1);
  permutations(n, (perm) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (i + 1) * (perm[i] + 1);
    counts[s - sMin]++;
  });
  untiedNull.set(n, counts);
  return counts;
}

/**
 * Spearman's rho with an exact permutation p for n <= SPEARMAN_EXACT_MAX_N (all n! orderings of y against x, as
 * scipy.stats.permutation_test with permutation_type="pairings"), seeded Monte Carlo permutations above it,
 * and a Fisher-z interval (SE sqrt(1.06/(n − 3))) that does not collapse at |ρ| = 1: there ρ is replaced by the
 * midpoint between 1 and the largest attainable |ρ| below 1 (1 − 12/(n(n² − 1)), one adjacent swap) before the
 * transform, and the far bound is ±1. Fewer than 3 pairs: no p; fewer than 4: no interval.
 */
export function spearmanTest(x: ArrayLike<number>, y: ArrayLike<number>, level: number = DEFAULT_CONFIDENCE): SpearmanEstimate {
  assertConfidence(level);
  const n = x.length;
  const rho = n >= 2 ? spearman(x, y) : NaN;
  const base = { n, clusters: n };
  if (Number.isNaN(rho))
    return {
      ...base,
      estimate: null,
      lo: null,
      hi: null,
      p: null,
      method: "none",
      test: "none",
      reason: n < 2 ? `n too small (${n})` : "a variable is constant",
    };
  let p: number | null = null;
  let test = "none";
  if (n >= SPEARMAN_MIN_N_TEST && n <= SPEARMAN_EXACT_MAX_N) {
    // Permuting y leaves both rank vectors' means and spreads unchanged, so rho is a linear function of
    // S = sum rx_i * ry_perm(i): compare |S - n mx my| instead of recomputing ranks for each ordering.
    const rx = averageRanks(x);
    const ry = averageRanks(y);
    const centre = (n * (n + 1) * (n + 1)) / 4;
    let sObs = 0;
    for (let i = 0; i < n; i++) sObs += rx[i] * ry[i];
    const threshold = Math.abs(sObs - centre) * (1 - TIE_TOLERANCE);
    let extreme = 0;
    let total = 0;
    const untied = rx.every((r) => Number.isInteger(r)) && ry.every((r) => Number.isInteger(r));
    if (untied) {
      // Without ties both rank vectors are 1..n, so the null distribution of S depends on n only: count it once.
      const counts = untiedNullCounts(n);
      const sMin = (n * (n + 1) * (n + 2)) / 6;
      counts.forEach((c, i) => {
        total += c;
        if (c && Math.abs(sMin + i - centre) >= threshold) extreme += c;
      });
    } else {
      permutations(n, (perm) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += rx[i] * ry[perm[i]];
        total++;
        if (Math.abs(s - centre) >= threshold) extreme++;
      });
    }
    p = Math.min(1, extreme / total);
    test = `exact permutation test (all ${total} orderings)`;
  } else if (n > SPEARMAN_EXACT_MAX_N) {
    // Seeded Monte Carlo permutations, p = (1 + extreme) / (1 + R) (Phipson & Smyth 2010): never above the level,
    // unlike the t approximation (rejection rate 0.062 at n = 40 in scripts/stats-coverage.ts).
    const rx = averageRanks(x);
    const ry = Array.from(averageRanks(y));
    const centre = (n * (n + 1) * (n + 1)) / 4;
    let sObs = 0;
    for (let i = 0; i < n; i++) sObs += rx[i] * ry[i];
    const threshold = Math.abs(sObs - centre) * (1 - TIE_TOLERANCE);
    const rng = createRng(SIGN_FLIP_SEED);
    const perm = ry.slice();
    let extreme = 0;
    for (let r = 0; r < SIGN_FLIP_RESAMPLES; r++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += rx[i] * perm[i];
      if (Math.abs(s - centre) >= threshold) extreme++;
    }
    p = Math.min(1, (1 + extreme) / (1 + SIGN_FLIP_RESAMPLES));
    test = `permutation test (${SIGN_FLIP_RESAMPLES} seeded Monte Carlo orderings)`;
  }
  if (n < SPEARMAN_MIN_N_INTERVAL)
    return { ...base, estimate: rho, lo: null, hi: null, p, test, method: "none", reason: `n too small for an interval (${n} < ${SPEARMAN_MIN_N_INTERVAL})` };
  const zc = zCritical(level);
  const se = Math.sqrt(SPEARMAN_FISHER_Z_VARIANCE / (n - 3));
  const nextBelowOne = 1 - 12 / (n * (n * n - 1));
  const capped = Math.abs(rho) === 1 ? (Math.sign(rho) * (1 + nextBelowOne)) / 2 : rho;
  const z = Math.atanh(capped);
  let lo = Math.tanh(z - zc * se);
  let hi = Math.tanh(z + zc * se);
  if (rho === 1) hi = 1;
  if (rho === -1) lo = -1;
  return {
    ...base,
    estimate: rho,
    lo,
    hi,
    p,
    test,
    method: `Fisher z, SE sqrt(1.06/(n-3))${Math.abs(rho) === 1 ? "; |rho| = 1 moved to the midpoint of the last rank step" : ""}`,
  };
}

/** Holm over the available p-values only: null (unavailable) tests leave the family and stay null. */
export function holmAvailable(ps: (number | null | undefined)[]): (number | null)[] {
  const idx = ps.map((p, i) => ({ p, i })).filter((e): e is { p: number; i: number } => typeof e.p === "number" && Number.isFinite(e.p));
  const order = [...idx].sort((x, y) => x.p - y.p);
  const m = order.length;
  const out: (number | null)[] = ps.map(() => null);
  let running = 0;
  order.forEach((e, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * e.p));
    out[e.i] = running;
  });
  return out;
}

/** Resamples of the item bootstrap behind kappaEstimate (as BOOTSTRAP_RESAMPLES). */
const KAPPA_RESAMPLES = 2000;

/**
 * Cohen's kappa with a 95% interval from a seeded bootstrap over items (the rated items are the units), or the reason
 * it has none: fewer than MIN_KAPPA_ITEMS items, or kappa undefined (both raters used one label). With `clusters` (one
 * cluster id per rated item, e.g. the prompt of each sampled answer) the bootstrap resamples whole clusters, since answers
 * to one prompt are not independent; then the minimum is MIN_KAPPA_CLUSTERS clusters.
 * Interval: BCa (Efron 1987; bias from the share of resamples below the estimate, acceleration from the leave-one-unit-out
 * jackknife) with the normal quantile expanded to sqrt(k/(k − 1)) · t_{k−1} for k units, as Hesterberg (2015) expands the
 * percentile interval (the combination is ours). The plain percentile interval covered 0.875-0.934 at 10-20 prompts on
 * the grid of docs/statistics.md.
 */
export const MIN_KAPPA_ITEMS = 10;
/**
 * Fewest prompts (clusters) for the prompt bootstrap's interval: at 10 prompts it covered 0.921 with a rare label
 * (unsafe share 0.1, 2000 simulated datasets), at 20 prompts 0.947-0.968 (scripts/stats-coverage.ts, docs/statistics.md).
 */
export const MIN_KAPPA_CLUSTERS = 20;
export function kappaEstimate(
  labelsA: readonly string[],
  labelsB: readonly string[],
  opts?: { seed?: number; level?: number; clusters?: readonly string[] },
): Estimate {
  const level = opts?.level ?? DEFAULT_CONFIDENCE;
  const n = labelsA.length;
  const k = cohensKappa(labelsA, labelsB);
  const groups = new Map<string, number[]>();
  (opts?.clusters ?? labelsA.map((_, i) => String(i))).forEach((c, i) => groups.set(c, [...(groups.get(c) ?? []), i]));
  const units = [...groups.values()];
  const clustered = units.length < n;
  const unitName = clustered ? "clusters" : "items";
  const base = {
    n,
    clusters: units.length,
    method: `Cohen's kappa; ${Math.round(level * 100)}% BCa interval with a small-sample expansion, ${KAPPA_RESAMPLES} seeded bootstrap resamples of ${clustered ? `${units.length} clusters (all rated items of a cluster together)` : "items"}`,
  };
  if (!Number.isFinite(k.kappa))
    return { ...base, estimate: null, lo: null, hi: null, reason: n ? "kappa undefined: both raters used a single identical label" : "no rated items" };
  if (units.length < MIN_KAPPA_ITEMS)
    return { ...base, estimate: k.kappa, lo: null, hi: null, reason: `n too small for an interval (${units.length} < ${MIN_KAPPA_ITEMS} ${unitName})` };
  if (clustered && units.length < MIN_KAPPA_CLUSTERS)
    return { ...base, estimate: k.kappa, lo: null, hi: null, reason: `too few prompts for an interval (${units.length} < ${MIN_KAPPA_CLUSTERS} clusters)` };
  const rng = createRng(opts?.seed ?? SIGN_FLIP_SEED);
  const samples: number[] = [];
  const a: string[] = [];
  const b: string[] = [];
  for (let r = 0; r < KAPPA_RESAMPLES; r++) {
    a.length = 0;
    b.length = 0;
    for (let i = 0; i < units.length; i++) {
      for (const j of units[Math.floor(rng() * units.length)]) {
        a.push(labelsA[j]);
        b.push(labelsB[j]);
      }
    }
    const x = cohensKappa(a, b).kappa;
    if (Number.isFinite(x)) samples.push(x);
  }
  samples.sort((x, y) => x - y);
  const q = (p: number) => {
    const h = (samples.length - 1) * p;
    const i = Math.floor(h);
    return samples[i] + (h - i) * ((samples[Math.min(i + 1, samples.length - 1)] ?? samples[i]) - samples[i]);
  };
  // Bias correction z0: the share of resamples below the estimate (ties count half), kept off 0 and 1.
  let below = 0;
  for (const x of samples) below += x < k.kappa ? 1 : x === k.kappa ? 0.5 : 0;
  const z0 = normalQuantile(Math.min(1 - 1 / (2 * samples.length), Math.max(1 / (2 * samples.length), below / samples.length)));
  const [pLo, pHi] = expandedBcaLevels(z0, jackknifeAcceleration(labelsA, labelsB, units), units.length, level);
  return { ...base, estimate: k.kappa, lo: q(pLo), hi: q(pHi) };
}

/**
 * The bootstrap quantile levels of kappaEstimate's interval for k units: BCa's Φ(z0 + (z0 ± z)/(1 − a(z0 ± z))) (Efron
 * 1987) with z = sqrt(k/(k − 1)) · t_{k−1}(1 − α/2), Hesterberg's (2015) small-sample expansion, in place of the normal
 * quantile. z0 = 0 and a = 0 give Hesterberg's expanded percentile interval.
 */
export function expandedBcaLevels(z0: number, acceleration: number, k: number, level: number): [number, number] {
  const expanded = Math.sqrt(k / (k - 1)) * tQuantile(1 - (1 - level) / 2, k - 1);
  const adjusted = (zq: number) => normalCdf(z0 + (z0 + zq) / (1 - acceleration * (z0 + zq)));
  return [adjusted(-expanded), adjusted(expanded)];
}

/**
 * BCa acceleration a = Σ (θ̄ − θ_(i))³ / (6 (Σ (θ̄ − θ_(i))²)^1.5) from the leave-one-unit-out kappas θ_(i) (Efron 1987),
 * each computed from the total label counts minus the unit's own (O(labels) per unit). 0 when the jackknife is flat.
 */
function jackknifeAcceleration(labelsA: readonly string[], labelsB: readonly string[], units: number[][]): number {
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let agree = 0;
  labelsA.forEach((x, i) => {
    countA.set(x, (countA.get(x) ?? 0) + 1);
    countB.set(labelsB[i], (countB.get(labelsB[i]) ?? 0) + 1);
    if (x === labelsB[i]) agree++;
  });
  const n = labelsA.length;
  const leaveOut: number[] = [];
  for (const unit of units) {
    const minusA = new Map<string, number>();
    const minusB = new Map<string, number>();
    let unitAgree = 0;
    for (const j of unit) {
      minusA.set(labelsA[j], (minusA.get(labelsA[j]) ?? 0) + 1);
      minusB.set(labelsB[j], (minusB.get(labelsB[j]) ?? 0) + 1);
      if (labelsA[j] === labelsB[j]) unitAgree++;
    }
    const m = n - unit.length;
    if (m <= 0) continue;
    let expected = 0;
    for (const [label, ca] of countA) expected += ((ca - (minusA.get(label) ?? 0)) / m) * (((countB.get(label) ?? 0) - (minusB.get(label) ?? 0)) / m);
    if (expected < 1) leaveOut.push(((agree - unitAgree) / m - expected) / (1 - expected));
  }
  const centre = mean(leaveOut);
  let num = 0;
  let den = 0;
  for (const x of leaveOut) {
    num += (centre - x) ** 3;
    den += (centre - x) ** 2;
  }
  return den > 0 ? num / (6 * den ** 1.5) : 0;
}

/**
 * Work budget of the exact within-cluster permutation distribution, in (support value × cluster value) combinations
 * summed over the convolution; above it Monte Carlo takes over, so a report never spends more than about a second
 * on one test (ours; about 30 ms at most; 40 prompts of 10 binary answers exceed it, 12 prompts of 6 stay well inside).
 */
export const STRATIFIED_EXACT_MAX_WORK = 300_000;

/** Distribution of mean(chosen) − mean(rest) over all ways to choose h of the values (as value → count), or null above `cap` subsets. */
function relabelDistribution(values: number[], h: number, cap: number): Map<number, number> | null {
  const m = values.length;
  let subsets = 1;
  for (let i = 0; i < h; i++) subsets = (subsets * (m - i)) / (i + 1);
  if (subsets > cap) return null;
  const total = values.reduce((s, v) => s + v, 0);
  const out = new Map<number, number>();
  const pick = (start: number, left: number, sum: number) => {
    if (left === 0) {
      const d = sum / h - (total - sum) / (m - h);
      const key = Math.round(d * 1e9) / 1e9;
      out.set(key, (out.get(key) ?? 0) + 1);
      return;
    }
    for (let i = start; i <= m - left; i++) pick(i + 1, left - 1, sum + values[i]);
  };
  pick(0, h, 0);
  return out;
}

/**
 * Stratified (within-cluster) permutation test of "the group label does not matter inside a cluster": the statistic
 * is the sum over clusters of mean(a) − mean(b); its null distribution comes from reassigning the a / b labels within
 * each cluster, keeping each cluster's group sizes (exact when the convolved support stays within
 * STRATIFIED_EXACT_MAX_WORK, else SIGN_FLIP_RESAMPLES seeded relabelings with p = (1 + extreme) / (1 + R)).
 * With one a and one b per cluster it is the sign-flip test. Unlike the sign-flip test it stays exact when the
 * groups inside a cluster differ in size (then mean(a) − mean(b) is not symmetric about 0 under the null).
 */
export function stratifiedPermutationTest(
  clusters: { a: number[]; b: number[] }[],
  opts?: { seed?: number; resamples?: number; exactMaxWork?: number },
): { p: number; exact: boolean; patterns: number } {
  const kept = clusters.filter((c) => c.a.length > 0 && c.b.length > 0);
  const stat = (c: { a: number[]; b: number[] }) => mean(c.a) - mean(c.b);
  const observed = Math.abs(kept.reduce((s, c) => s + stat(c), 0));
  const scale = kept.reduce((s, c) => s + Math.max(...c.a.map(Math.abs), ...c.b.map(Math.abs)), 0);
  if (kept.length === 0 || scale === 0) return { p: 1, exact: true, patterns: 1 };
  const threshold = observed - TIE_TOLERANCE * Math.max(1, scale);
  // Exact: convolve the per-cluster relabeling distributions (binary claims keep the support small).
  const maxWork = opts?.exactMaxWork ?? STRATIFIED_EXACT_MAX_WORK;
  let dist: Map<number, number> | null = new Map([[0, 1]]);
  let patterns = 1;
  let work = 0;
  for (const c of kept) {
    const d = relabelDistribution([...c.a, ...c.b], c.a.length, maxWork - work);
    const subsets = d ? [...d.values()].reduce((s, v) => s + v, 0) : 0;
    work += subsets + dist.size * (d?.size ?? Infinity);
    if (!d || work > maxWork) {
      dist = null;
      break;
    }
    const next = new Map<number, number>();
    for (const [s, n] of dist)
      for (const [x, k] of d) {
        const key = Math.round((s + x) * 1e9) / 1e9;
        next.set(key, (next.get(key) ?? 0) + n * k);
      }
    patterns *= subsets;
    dist = next;
  }
  if (dist) {
    let extreme = 0;
    let total = 0;
    for (const [s, n] of dist) {
      total += n;
      if (Math.abs(s) >= threshold) extreme += n;
    }
    return { p: Math.min(1, extreme / total), exact: true, patterns };
  }
  const resamples = opts?.resamples ?? SIGN_FLIP_RESAMPLES;
  const rng = createRng(opts?.seed ?? SIGN_FLIP_SEED);
  const pools = kept.map((c) => ({ v: [...c.a, ...c.b], h: c.a.length }));
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (const { v, h } of pools) {
      // Partial Fisher-Yates: the first h slots are a uniform random a-group.
      let sa = 0;
      let all = 0;
      for (let i = 0; i < v.length; i++) all += v[i];
      for (let i = 0; i < h; i++) {
        const j = i + Math.floor(rng() * (v.length - i));
        const t = v[i];
        v[i] = v[j];
        v[j] = t;
        sa += v[i];
      }
      s += sa / h - (all - sa) / (v.length - h);
    }
    if (Math.abs(s) >= threshold) extreme++;
  }
  return { p: Math.min(1, (1 + extreme) / (1 + resamples)), exact: false, patterns: resamples };
}

/**
 * Difference between two groups of observations inside the same clusters (for example claim rate on harmful minus
 * on harmless answers of one prompt), when the observations are not paired one to one. Only clusters holding both
 * groups enter (the others are counted in `dropped`); d_c = mean(a) − mean(b) per cluster, estimate = mean of d_c,
 * interval as pairedClusterComparison (t over the d_c, df k − 1; Newcombe when every d_c is equal), p from
 * stratifiedPermutationTest. `valid` is false below MIN_LABEL_CLUSTERS clusters.
 */
export function withinClusterComparison(
  observations: { cluster: string; group: "a" | "b"; value: number }[],
  opts?: { rate?: boolean; seed?: number; level?: number },
): PairedComparison {
  const byCluster = new Map<string, { a: number[]; b: number[] }>();
  for (const o of observations) {
    const c = byCluster.get(o.cluster) ?? { a: [], b: [] };
    c[o.group].push(o.value);
    byCluster.set(o.cluster, c);
  }
  const both = [...byCluster.entries()].filter(([, c]) => c.a.length > 0 && c.b.length > 0);
  const n = both.reduce((s, [, c]) => s + c.a.length + c.b.length, 0);
  const dropped = observations.length - n;
  const c = pairedClusterComparison(
    both.map(([cluster, g]) => ({ cluster, a: mean(g.a), b: mean(g.b) })),
    { rate: opts?.rate, seed: opts?.seed, level: opts?.level, dropped },
  );
  if (both.length < 2) return { ...c, n, dropped };
  const t = stratifiedPermutationTest(
    both.map(([, g]) => g),
    { seed: opts?.seed },
  );
  const test = t.exact
    ? `exact within-cluster permutation test over ${both.length} clusters (${t.patterns} relabelings)`
    : `within-cluster permutation test over ${both.length} clusters (${t.patterns} seeded Monte Carlo relabelings)`;
  return { ...c, n, p: t.p, test };
}
