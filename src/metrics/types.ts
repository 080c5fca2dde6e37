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

/** Turns a run's stored units into observations (one function per suite kind). */
export type ObservationSource = (d1: D1Database, run: { id: string; config: { judge?: { endpointId: string; revision: string; rubricVersion: string } | null } }) => Promise<KindObservations>;
