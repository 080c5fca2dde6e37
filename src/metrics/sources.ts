/**
 * @module metrics/sources: the signatures of the built-in kinds' metric sources, which read through a report's shared
 * `RunReads` (db/queries). Kept apart from metrics/types so that the kind types, which sit below the store, need no
 * store import.
 */
import type { RunReads } from "../db/queries/run-reads";
import type { KindClusters, KindObservations, PairedClusters, SourceRun } from "./types";

/** An observation source that may share the rows a report has read already (`reads`). */
export type BuiltinObservationSource = (d1: D1Database, run: SourceRun, reads?: RunReads) => Promise<KindObservations>;

/** Reads a run's per-item sums (aggregated in SQL) for one suite kind; kinds without one go through their observations. */
export type ClusterSource = (reads: RunReads, run: SourceRun) => Promise<KindClusters>;

/** Pairs two runs of one suite kind on (item, sample) in SQL and sums per item, for every metric both declare. */
export type PairedSource = (reads: RunReads, a: SourceRun, b: SourceRun) => Promise<PairedClusters>;
