/** @module metrics/types: the metric layer's types (types only, so every kind and the registry can import them without a loop). */

/** One scored observation: a value of a named metric for one sample of one item (the item is the cluster). */
export interface Observation {
  /** e.g. "persona.deontology.match", "misalignment.share", "safety.hate.safe" */
  metric: string;
  runId: string;
  /** The cluster: samples of one item are not independent. Pairing between runs is on (item, sample). */
  item: string;
  sample: string;
  value: number;
}

export type Better = "higher" | "lower" | null;

/** What a metric is: its suite kind, label, direction, whether it is a rate (intervals clipped to [0, 1]) and whether it heads the overview. */
export interface MetricInfo {
  id: string;
  /** The built-in kinds' names; a kind added through its `observations` uses its own. */
  kind: "persona" | "projectability" | "safety" | "misalignment" | "consistency" | "self_report" | (string & {});
  label: string;
  better: Better;
  rate: boolean;
  headline: boolean;
  /** A short note on what the figure is (ours, or the paper it follows). */
  definition: string;
}

/** The observations of one run for one suite kind, and the metrics they make. */
export interface KindObservations {
  metrics: MetricInfo[];
  observations: Observation[];
}

/** The run a source reads: its id and its pinned judge. */
export interface SourceRun {
  id: string;
  config: { judge?: { endpointId: string; revision: string; rubricVersion: string } | null };
}

/**
 * Turns a run's stored units into observations, one per (item, sample) (one function per suite kind): what a paired
 * comparison of two runs needs. A kind declares one of these (SuiteKind.observations); the built-in kinds' sources,
 * which also share a report's reads, are typed in metrics/sources.ts.
 */
export type ObservationSource = (d1: D1Database, run: SourceRun) => Promise<KindObservations>;

/** One cluster (item) of a metric: its number of observations and their sum. The estimators need no more. */
export interface ClusterSum {
  item: string;
  n: number;
  sum: number;
}

/** The per-item sums of one run for one suite kind, and the metrics they make (the run report's input). */
export interface KindClusters {
  metrics: MetricInfo[];
  clusters: Map<string, ClusterSum[]>;
}

/** One cluster (item) of a metric in two runs, over the (item, sample) pairs both have: m pairs and each run's sum. */
export interface PairedSum {
  item: string;
  m: number;
  a: number;
  b: number;
}

/** Per metric of two runs: the paired per-item sums and `dropped` (observations of either run without a partner). */
export type PairedClusters = Map<string, { clusters: PairedSum[]; dropped: number }>;
