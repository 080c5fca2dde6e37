/** @module metrics/registry: the observation source of each built-in suite kind, one line per kind (each in src/kinds/<kind>/metrics.ts). */
import { consistencyObservations } from "../kinds/consistency/metrics";
import { misalignmentObservations } from "../kinds/misalignment/metrics";
import { personaObservations } from "../kinds/persona/metrics";
import { safetyObservations } from "../kinds/safety/metrics";
import { selfReportObservations } from "../kinds/self-report/metrics";
import type { ObservationSource } from "./types";

export const OBSERVATION_SOURCES: Record<string, ObservationSource> = {
  persona: personaObservations,
  safety: safetyObservations,
  misalignment: misalignmentObservations,
  "self-report": selfReportObservations,
  consistency: consistencyObservations,
};
