/** @module stats/intervals — Wilson score interval for a proportion, t-interval of a mean, and the cluster (per-item) t-interval. */

import { mean, sd } from "./descriptive.ts";
import { normalQuantile, tQuantile } from "./distributions.ts";

/** Default two-sided confidence level for every interval in the project (docs/statistics.md). */
export const DEFAULT_CONFIDENCE = 0.95;

/** A proportion with its confidence interval. */
export interface ProportionInterval {
  estimate: number;
  lo: number;
  hi: number;
  n: number;
  successes: number;
}

/** A mean with its confidence interval. */
export interface MeanInterval {
  estimate: number;
  lo: number;
  hi: number;
  n: number;
}

/** A mean of cluster means with its confidence interval; `n` counts values, `clusters` counts clusters. */
export interface ClusterMeanInterval extends MeanInterval {
  clusters: number;
}

/** Throws unless `confidence` is strictly between 0 and 1. */
export function assertConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
}

/** Two-sided standard-normal critical value z_{1-α/2} for the given confidence level. */
export function zCritical(confidence: number): number {
  assertConfidence(confidence);
  return normalQuantile(1 - (1 - confidence) / 2);
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927; method 3 of Newcombe 1998, without continuity
 * correction). n = 0 gives estimate NaN and the uninformative interval [0, 1].
 */
export function wilson(successes: number, n: number, confidence: number = DEFAULT_CONFIDENCE): ProportionInterval {
  const z = zCritical(confidence);
  if (!(n >= 0) || !(successes >= 0) || successes > n) {
    throw new RangeError(`wilson needs 0 <= successes <= n, got ${successes}/${n}`);
  }
  if (n === 0) return { estimate: NaN, lo: 0, hi: 1, n, successes };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // The bounds are exactly 0 / 1 at x = 0 / x = n; clamp away rounding noise there.
  const lo = successes === 0 ? 0 : Math.max(0, centre - half);
  const hi = successes === n ? 1 : Math.min(1, centre + half);
  return { estimate: p, lo, hi, n, successes };
}

/**
 * Student t confidence interval of a mean: mean ± t_{n-1} · sd / sqrt(n). With n < 2 the bounds are NaN
 * (the estimate is NaN for n = 0).
 */
export function tMeanInterval(values: ArrayLike<number>, confidence: number = DEFAULT_CONFIDENCE): MeanInterval {
  assertConfidence(confidence);
  const n = values.length;
  const estimate = mean(values);
  if (n < 2) return { estimate, lo: NaN, hi: NaN, n };
  const half = (tQuantile(1 - (1 - confidence) / 2, n - 1) * sd(values)) / Math.sqrt(n);
  return { estimate, lo: estimate - half, hi: estimate + half, n };
}

/**
 * Clustered interval of a mean when several values are drawn per cluster (e.g. several samples per item):
 * the estimate is the mean of the cluster means (each cluster weighs the same) and the interval is the
 * t-interval over the k cluster means with k - 1 degrees of freedom. Empty clusters are ignored.
 */
export function clusterMeanInterval(clusters: ArrayLike<number>[], confidence: number = DEFAULT_CONFIDENCE): ClusterMeanInterval {
  const means: number[] = [];
  let n = 0;
  for (const c of clusters) {
    if (c.length === 0) continue;
    means.push(mean(c));
    n += c.length;
  }
  const t = tMeanInterval(means, confidence);
  return { estimate: t.estimate, lo: t.lo, hi: t.hi, n, clusters: means.length };
}
