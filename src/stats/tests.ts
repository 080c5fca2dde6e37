/** @module stats/tests — hypothesis tests and association measures: paired t, exact McNemar, Fisher exact, two-proportion z, Holm, Spearman, Cohen's kappa, Newcombe difference interval. */

import { mean, sd } from "./descriptive.ts";
import { binomialCdf, hypergeometricLogPmf, normalCdf, tQuantile, tSf } from "./distributions.ts";
import { assertConfidence, DEFAULT_CONFIDENCE, wilson, zCritical } from "./intervals.ts";

/** Relative tolerance when collecting tables "as or less probable" than the observed one in Fisher's exact test (R's fisher.test uses 1 + 1e-7). */
const FISHER_RELATIVE_TOLERANCE = 1e-7;
/** Variance inflation for the Fisher z of Spearman's rho: SE = sqrt(1.06 / (n − 3)) (Fieller, Hartley & Pearson 1957, Biometrika 44:470-481). */
const SPEARMAN_FISHER_Z_VARIANCE = 1.06;

/** Result of a two-sided paired t-test with the t-interval of the mean difference. */
export interface PairedTTestResult {
  t: number;
  df: number;
  pValue: number;
  meanDiff: number;
  lo: number;
  hi: number;
}

/**
 * Two-sided one-sample t-test of mean(diffs) = 0 (the paired t-test when diffs[i] = a[i] − b[i]), with the
 * confidence interval of the mean difference. Fewer than two differences give NaN; zero spread gives t = ±Infinity
 * (p = 0), or t = 0 and p = 1 when every difference is 0.
 */
export function pairedTTest(diffs: ArrayLike<number>, confidence: number = DEFAULT_CONFIDENCE): PairedTTestResult {
  assertConfidence(confidence);
  const n = diffs.length;
  const meanDiff = mean(diffs);
  const df = n - 1;
  if (n < 2) return { t: NaN, df, pValue: NaN, meanDiff, lo: NaN, hi: NaN };
  const se = sd(diffs) / Math.sqrt(n);
  const half = tQuantile(1 - (1 - confidence) / 2, df) * se;
  let t: number;
  if (se === 0) t = meanDiff === 0 ? 0 : meanDiff > 0 ? Infinity : -Infinity;
  else t = meanDiff / se;
  const pValue = Math.min(1, 2 * tSf(Math.abs(t), df));
  return { t, df, pValue, meanDiff, lo: meanDiff - half, hi: meanDiff + half };
}

/**
 * Exact McNemar test (two-sided) on the discordant pairs: b = yes→no, c = no→yes. p = min(1, 2·P(X <= min(b, c)))
 * with X ~ Binomial(b + c, 1/2); p = 1 when there are no discordant pairs.
 */
export function mcnemarExact(b: number, c: number): { b: number; c: number; pValue: number } {
  if (!(b >= 0 && c >= 0)) throw new RangeError(`mcnemarExact needs non-negative counts, got ${b}, ${c}`);
  const n = b + c;
  if (n === 0) return { b, c, pValue: 1 };
  return { b, c, pValue: Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5)) };
}

/**
 * Two-sided Fisher exact test for the 2×2 table [[a, b], [c, d]]: the summed probability of every table with the
 * same margins that is no more probable than the observed one (relative tolerance 1e-7, as in R's fisher.test).
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  if (![a, b, c, d].every((x) => Number.isInteger(x) && x >= 0)) {
    throw new RangeError(`fisherExact needs non-negative integer counts, got ${a}, ${b}, ${c}, ${d}`);
  }
  const row1 = a + b;
  const col1 = a + c;
  const total = a + b + c + d;
  const minA = Math.max(0, row1 + col1 - total);
  const maxA = Math.min(row1, col1);
  const observed = hypergeometricLogPmf(a, total, col1, row1);
  const cutoff = observed + Math.log1p(FISHER_RELATIVE_TOLERANCE);
  let p = 0;
  for (let x = minA; x <= maxA; x++) {
    const l = hypergeometricLogPmf(x, total, col1, row1);
    if (l <= cutoff) p += Math.exp(l);
  }
  return Math.min(1, p);
}

/** Result of a two-proportion z-test with the Wald interval of the difference p1 − p2. */
export interface TwoProportionResult {
  diff: number;
  z: number;
  pValue: number;
  lo: number;
  hi: number;
}

/**
 * Two-sided two-proportion z-test of p1 = p2 (pooled standard error) with the Wald interval of p1 − p2 (unpooled
 * standard error, clipped to [−1, 1]). Prefer fisherExact for small counts.
 */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number, confidence: number = DEFAULT_CONFIDENCE): TwoProportionResult {
  const zc = zCritical(confidence);
  if (!(n1 > 0 && n2 > 0)) return { diff: NaN, z: NaN, pValue: NaN, lo: NaN, hi: NaN };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const diff = p1 - p2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  let z: number;
  if (se0 === 0) z = diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
  else z = diff / se0;
  const pValue = Math.min(1, 2 * normalCdf(-Math.abs(z)));
  const se1 = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { diff, z, pValue, lo: Math.max(-1, diff - zc * se1), hi: Math.min(1, diff + zc * se1) };
}

/**
 * Holm (1979) step-down adjusted p-values, returned in the input order: the i-th smallest of m p-values is multiplied
 * by (m − i + 1), made monotone non-decreasing and capped at 1. NaN entries stay NaN and do not count towards m.
 */
export function holm(pValues: readonly number[]): number[] {
  const order = pValues
    .map((p, i) => ({ p, i }))
    .filter((e) => !Number.isNaN(e.p))
    .sort((x, y) => x.p - y.p);
  const m = order.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  order.forEach((e, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * e.p));
    out[e.i] = running;
  });
  return out;
}

/** Ranks 1..n with ties given their average rank. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && values[idx[end + 1]] === values[idx[start]]) end++;
    const r = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[idx[k]] = r;
    start = end + 1;
  }
  return ranks;
}

/** Pearson correlation; NaN when either variable has zero variance or n < 2. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`pearson needs equal lengths, got ${x.length} and ${y.length}`);
  const n = x.length;
  if (n < 2) return NaN;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Spearman rank correlation: Pearson correlation of the average ranks (ties handled). NaN if a variable is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new RangeError(`spearman needs equal lengths, got ${x.length} and ${y.length}`);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Spearman's rho with its confidence interval and p-value. */
export interface SpearmanResult {
  rho: number;
  lo: number;
  hi: number;
  n: number;
  pValue: number;
}

/**
 * Spearman's rho with a Fisher-z interval using SE = sqrt(1.06 / (n − 3)) (Fieller, Hartley & Pearson 1957) and a
 * two-sided p-value from t = rho·sqrt((n − 2) / (1 − rho²)) on n − 2 degrees of freedom. The interval needs n >= 4,
 * the p-value n >= 3; otherwise they are NaN.
 */
export function spearmanInterval(x: ArrayLike<number>, y: ArrayLike<number>, confidence: number = DEFAULT_CONFIDENCE): SpearmanResult {
  const zc = zCritical(confidence);
  const rho = spearman(x, y);
  const n = x.length;
  let lo = NaN;
  let hi = NaN;
  let pValue = NaN;
  if (!Number.isNaN(rho)) {
    if (Math.abs(rho) === 1) {
      if (n >= 4) lo = hi = rho;
      if (n >= 3) pValue = 0;
    } else {
      if (n >= 4) {
        const z = Math.atanh(rho);
        const se = Math.sqrt(SPEARMAN_FISHER_Z_VARIANCE / (n - 3));
        lo = Math.tanh(z - zc * se);
        hi = Math.tanh(z + zc * se);
      }
      if (n >= 3) {
        const t = rho * Math.sqrt((n - 2) / (1 - rho * rho));
        pValue = Math.min(1, 2 * tSf(Math.abs(t), n - 2));
      }
    }
  }
  return { rho, lo, hi, n, pValue };
}

/**
 * Cohen's (1960) kappa for two raters labelling the same items: (p_o − p_e) / (1 − p_e) with p_e from the raters'
 * marginal label frequencies. kappa is NaN when p_e = 1 (both raters used a single identical label) or n = 0.
 */
export function cohensKappa(labelsA: readonly string[], labelsB: readonly string[]): { kappa: number; agreement: number; n: number } {
  if (labelsA.length !== labelsB.length) {
    throw new RangeError(`cohensKappa needs equal lengths, got ${labelsA.length} and ${labelsB.length}`);
  }
  const n = labelsA.length;
  if (n === 0) return { kappa: NaN, agreement: NaN, n };
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (labelsA[i] === labelsB[i]) agree++;
    countA.set(labelsA[i], (countA.get(labelsA[i]) ?? 0) + 1);
    countB.set(labelsB[i], (countB.get(labelsB[i]) ?? 0) + 1);
  }
  const agreement = agree / n;
  let expected = 0;
  for (const [label, ca] of countA) expected += (ca / n) * ((countB.get(label) ?? 0) / n);
  const kappa = expected === 1 ? NaN : (agreement - expected) / (1 - expected);
  return { kappa, agreement, n };
}

/**
 * Newcombe (1998) hybrid score interval for p1 − p2 of two independent proportions (method 10): combines the Wilson
 * intervals (l1, u1) and (l2, u2) as lo = d − sqrt((p1 − l1)² + (u2 − p2)²), hi = d + sqrt((u1 − p1)² + (p2 − l2)²).
 */
export function newcombeDiffInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence: number = DEFAULT_CONFIDENCE,
): { estimate: number; lo: number; hi: number } {
  assertConfidence(confidence);
  if (!(n1 > 0 && n2 > 0)) return { estimate: NaN, lo: NaN, hi: NaN };
  const w1 = wilson(x1, n1, confidence);
  const w2 = wilson(x2, n2, confidence);
  const p1 = w1.estimate;
  const p2 = w2.estimate;
  const d = p1 - p2;
  const lo = d - Math.sqrt((p1 - w1.lo) ** 2 + (w2.hi - p2) ** 2);
  const hi = d + Math.sqrt((w1.hi - p1) ** 2 + (p2 - w2.lo) ** 2);
  return { estimate: d, lo, hi };
}
