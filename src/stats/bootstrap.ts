/** @module stats/bootstrap — seeded nonparametric bootstrap: percentile intervals, cluster bootstrap of a mean, paired bootstrap of a mean difference. */

import { mean, quantileSorted, sortedCopy } from "./descriptive.ts";
import { assertConfidence, DEFAULT_CONFIDENCE } from "./intervals.ts";
import { createRng } from "./rng.ts";

/** Resamples per bootstrap; 2000 keeps Monte Carlo error of 95% percentile bounds small (Efron & Tibshirani 1993, §19.3, recommend >= 1000 for percentile intervals). */
export const BOOTSTRAP_RESAMPLES = 2000;
/** Fixed default seed so that published reports are reproducible bit for bit (docs/statistics.md). */
export const BOOTSTRAP_SEED = 20260608;
/** Relative tolerance when comparing |resampled − estimate| with |estimate| for the bootstrap p-value, so float noise does not break exact ties. */
const P_VALUE_TIE_TOLERANCE = 1e-10;

/** Bootstrap settings: number of resamples and the seed of the generator. */
export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
}

/** Bootstrap settings plus the confidence level of the percentile interval. */
export interface BootstrapIntervalOptions extends BootstrapOptions {
  confidence?: number;
}

/** Percentile-bootstrap interval of a mean of cluster means. */
export interface ClusterBootstrapResult {
  estimate: number;
  lo: number;
  hi: number;
  clusters: number;
  n: number;
}

/** Paired-bootstrap interval of mean(a − b) with a two-sided bootstrap p-value. */
export interface PairedBootstrapResult {
  estimate: number;
  lo: number;
  hi: number;
  n: number;
  pValue: number;
  resamples: number;
}

/** n indices drawn uniformly with replacement from 0..n-1. */
export function resampleIndices(rng: () => number, n: number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = Math.floor(rng() * n);
  return idx;
}

/** Percentile interval (Efron 1979): the type-7 quantiles at α/2 and 1 − α/2 of the bootstrap samples. */
export function percentileInterval(samples: ArrayLike<number>, confidence: number = DEFAULT_CONFIDENCE): { lo: number; hi: number } {
  assertConfidence(confidence);
  const sorted = sortedCopy(samples);
  const alpha = 1 - confidence;
  return { lo: quantileSorted(sorted, alpha / 2), hi: quantileSorted(sorted, 1 - alpha / 2) };
}

function resolveResamples(opts?: BootstrapOptions): number {
  const r = opts?.resamples ?? BOOTSTRAP_RESAMPLES;
  if (!Number.isInteger(r) || r < 1) throw new RangeError(`resamples must be a positive integer, got ${r}`);
  return r;
}

/**
 * Runs `statistic` once per resample with one shared seeded generator and collects the results. The statistic
 * draws its own resample from `rng` (e.g. with resampleIndices), which is what allows paired and per-stratum schemes.
 */
export function bootstrap(statistic: (rng: () => number) => number, opts?: BootstrapOptions): { samples: Float64Array } {
  const resamples = resolveResamples(opts);
  const rng = createRng(opts?.seed ?? BOOTSTRAP_SEED);
  const samples = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) samples[i] = statistic(rng);
  return { samples };
}

/**
 * Cluster bootstrap of a mean of cluster means: clusters are resampled with replacement (values inside a cluster stay
 * together) and the percentile interval of the resampled means is returned. Empty clusters are ignored; fewer than
 * two clusters give NaN bounds.
 */
export function clusterBootstrapMean(clusters: ArrayLike<number>[], opts?: BootstrapIntervalOptions): ClusterBootstrapResult {
  const confidence = opts?.confidence ?? DEFAULT_CONFIDENCE;
  assertConfidence(confidence);
  const means: number[] = [];
  let n = 0;
  for (const c of clusters) {
    if (c.length === 0) continue;
    means.push(mean(c));
    n += c.length;
  }
  const k = means.length;
  const estimate = mean(means);
  if (k < 2) return { estimate, lo: NaN, hi: NaN, clusters: k, n };
  const { samples } = bootstrap((rng) => {
    let s = 0;
    for (let i = 0; i < k; i++) s += means[Math.floor(rng() * k)];
    return s / k;
  }, opts);
  const { lo, hi } = percentileInterval(samples, confidence);
  return { estimate, lo, hi, clusters: k, n };
}

/**
 * Paired bootstrap of mean(a − b) where a[i] and b[i] belong to the same item: items are resampled with replacement.
 * Returns the percentile interval and a two-sided p-value from the centred bootstrap distribution: the share of
 * resamples with |diff* − estimate| >= |estimate|, floored at 1 / (resamples + 1). Fewer than two pairs give NaN
 * bounds and p-value.
 */
export function pairedBootstrapMeanDiff(a: ArrayLike<number>, b: ArrayLike<number>, opts?: BootstrapIntervalOptions): PairedBootstrapResult {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  const confidence = opts?.confidence ?? DEFAULT_CONFIDENCE;
  assertConfidence(confidence);
  const resamples = resolveResamples(opts);
  const n = a.length;
  const diffs = new Float64Array(n);
  for (let i = 0; i < n; i++) diffs[i] = a[i] - b[i];
  const estimate = mean(diffs);
  if (n < 2) return { estimate, lo: NaN, hi: NaN, n, pValue: NaN, resamples };
  const { samples } = bootstrap(
    (rng) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += diffs[Math.floor(rng() * n)];
      return s / n;
    },
    { ...opts, resamples },
  );
  const { lo, hi } = percentileInterval(samples, confidence);
  const threshold = Math.abs(estimate) * (1 - P_VALUE_TIE_TOLERANCE);
  let extreme = 0;
  for (let i = 0; i < resamples; i++) if (Math.abs(samples[i] - estimate) >= threshold) extreme++;
  const pValue = Math.max(extreme / resamples, 1 / (resamples + 1));
  return { estimate, lo, hi, n, pValue, resamples };
}
