/** @module stats/descriptive — mean, sample variance, standard deviation and type-7 quantiles. */

/** Arithmetic mean; NaN for an empty input. */
export function mean(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  return sum / n;
}

/** Sample variance (denominator n - 1, two-pass for numerical stability); NaN when n < 2. */
export function variance(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let ss = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - m;
    ss += d * d;
    s += d;
  }
  // Corrected two-pass formula (Chan, Golub & LeVeque 1983): removes the rounding error left in the mean.
  return (ss - (s * s) / n) / (n - 1);
}

/** Sample standard deviation (square root of the n - 1 variance); NaN when n < 2. */
export function sd(values: ArrayLike<number>): number {
  return Math.sqrt(variance(values));
}

/**
 * Quantile of already ascending-sorted values by linear interpolation between order statistics
 * (Hyndman & Fan 1996 type 7, the default of R and NumPy). NaN for an empty input.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0 || !(p >= 0 && p <= 1)) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Ascending numeric copy of `values` (the input is left untouched). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Quantile with linear interpolation (Hyndman & Fan 1996 type 7); `p` in [0, 1]. NaN for an empty input. */
export function quantile(values: ArrayLike<number>, p: number): number {
  return quantileSorted(sortedCopy(values), p);
}

/** Median (type-7 quantile at 0.5). */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}
