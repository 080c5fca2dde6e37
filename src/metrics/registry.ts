/** @module metrics/registry: which observation source each suite kind has (one line per kind). */
import { consistencyObservations, misalignmentObservations, personaObservations, safetyObservations, selfReportObservations } from "./observations";
import type { ObservationSource } from "./types";

export const OBSERVATION_SOURCES: Record<string, ObservationSource> = {
  persona: personaObservations,
  safety: safetyObservations,
  misalignment: misalignmentObservations,
  "self-report": selfReportObservations,
  consistency: consistencyObservations,
};
