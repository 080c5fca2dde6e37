/** @module reports/badges: what a badge, a shields.io endpoint and a widget say about one metric of an endpoint. */
import { describeMetric, type MetricValue } from "./metrics";

/**
 * Colour bands (ours, cosmetic: a colour is not a verdict). Higher-is-better metrics: at least 0.9 brightgreen,
 * 0.75 green, 0.5 yellow, 0.25 orange, else red; lower-is-better (over-refusal): at most 0.05, 0.1, 0.2, 0.35;
 * metrics with no better direction (persona match rates) are blue.
 */
export const BADGE_BANDS = {
  higher: [
    [0.9, "brightgreen"],
    [0.75, "green"],
    [0.5, "yellow"],
    [0.25, "orange"],
  ],
  lower: [
    [0.05, "brightgreen"],
    [0.1, "green"],
    [0.2, "yellow"],
    [0.35, "orange"],
  ],
} as const;

export function badgeColour(m: Pick<MetricValue, "better" | "value">): string {
  if (m.value == null) return "lightgrey";
  if (m.better === "higher") return BADGE_BANDS.higher.find(([t]) => m.value! >= t)?.[1] ?? "red";
  if (m.better === "lower") return BADGE_BANDS.lower.find(([t]) => m.value! <= t)?.[1] ?? "red";
  return "blue";
}

/** "0.71 [0.63–0.79]", or "no data". */
export function badgeMessage(m: Pick<MetricValue, "value" | "lo" | "hi"> | null): string {
  if (!m || m.value == null) return "no data";
  const f = (x: number | null) => (x == null ? "?" : x.toFixed(2));
  return `${f(m.value)} [${f(m.lo)}–${f(m.hi)}]`;
}

export interface BadgeContent {
  label: string;
  message: string;
  color: string;
}

export function badgeContent(metricId: string, m: MetricValue | null): BadgeContent {
  const d = describeMetric(metricId);
  return { label: d?.label ?? metricId, message: badgeMessage(m), color: m ? badgeColour(m) : "lightgrey" };
}

/** The shields.io endpoint schema (https://shields.io/badges/endpoint-badge), version 1. */
export function shieldsEndpoint(metricId: string, m: MetricValue | null, cacheSeconds: number) {
  const b = badgeContent(metricId, m);
  return { schemaVersion: 1 as const, label: b.label, message: b.message, color: b.color, cacheSeconds };
}
