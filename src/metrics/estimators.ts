/**
 * @module metrics/estimators: the statistics calls of the metric layer. Every call site in src/metrics goes
 * through here; the methods are the small-sample ones of `src/stats/inference.ts` (issue 11): a boundary-aware
 * cluster interval for rates, a t-interval over cluster means otherwise, and the exact sign-flip test on per-item
 * differences (exact McNemar when every difference is 0 or ±c), with `valid` false below MIN_LABEL_CLUSTERS items.
 * The `...OfSums` forms take per-cluster counts and sums (an SQL GROUP BY), the same estimates without per-unit values.
 */
export {
  clusteredMean,
  clusteredMeanOfSums,
  type Estimate,
  pairedClusterComparison,
  pairedClusterComparisonOfSums,
  type PairedComparison,
} from "../stats/inference";
