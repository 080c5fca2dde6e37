/**
 * @module metrics/registry: the metric sources of each built-in suite kind, one line per kind (each in
 * src/kinds/<kind>/metrics.ts): observations (one per item and sample, for paired comparisons), and per-item sums
 * and paired sums aggregated in SQL where the kind has them (the reports' path; other kinds go through their observations).
 */
import { consistencyObservations } from "../kinds/consistency/metrics";
import { misalignmentObservations } from "../kinds/misalignment/metrics";
import { personaClusters, personaObservations, personaPairedClusters } from "../kinds/persona/metrics";
import { safetyObservations } from "../kinds/safety/metrics";
import { selfReportObservations } from "../kinds/self-report/metrics";
import type { BuiltinObservationSource, ClusterSource, PairedSource } from "./sources";

export const OBSERVATION_SOURCES: Record<string, BuiltinObservationSource> = {
  persona: personaObservations,
  safety: safetyObservations,
  misalignment: misalignmentObservations,
  "self-report": selfReportObservations,
  consistency: consistencyObservations,
};

export const CLUSTER_SOURCES: Record<string, ClusterSource> = {
  persona: personaClusters,
};

export const PAIRED_SOURCES: Record<string, PairedSource> = {
  persona: personaPairedClusters,
};
