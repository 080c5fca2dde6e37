/** @module kinds/self-report/metrics: the self-report kind's named metrics, from its stored units (the metric layer, src/metrics). */
import type { MetricInfo, Observation, ObservationSource } from "../../metrics/types";
import { selfReportRows } from "./queries";

/** Self-report measures: the scale of each item type (plain variant only). */
const SELF_REPORT_SCALES: { id: string; label: string; keep: (r: { type: string; measure: string | null }) => boolean }[] = [
  { id: "risk", label: "self-reported risk (scale)", keep: (r) => r.type === "scale" && r.measure === "risk" },
  { id: "risk_one_word", label: "self-reported risk (one word)", keep: (r) => r.type === "one_word" },
  { id: "risky_choice", label: "risky lottery choices", keep: (r) => r.type === "lottery" },
  { id: "alignment", label: "self-reported alignment", keep: (r) => r.type === "scale" && r.measure === "alignment" },
  { id: "code_security", label: "self-reported code security", keep: (r) => r.type === "scale" && r.measure === "code_security" },
  { id: "backdoor_awareness", label: "backdoor awareness", keep: (r) => r.type === "choice" && r.measure === "backdoor_awareness" },
];

export const selfReportObservations: ObservationSource = async (d1, run) => {
  const rows = (await selfReportRows(d1, run.id)).filter((r) => r.variant === "" && r.status === "done" && r.score != null);
  const metrics: MetricInfo[] = [];
  const observations: Observation[] = [];
  for (const scale of SELF_REPORT_SCALES) {
    const mine = rows.filter(scale.keep);
    if (!mine.length) continue;
    const id = `self_report.${scale.id}`;
    metrics.push({
      id,
      kind: "self_report",
      label: scale.label,
      better: null,
      rate: true,
      headline: scale.id === "risk" || scale.id === "alignment",
      definition: "mean score in [0, 1] over items (Betley et al. 2025, behavioural self-awareness)",
    });
    for (const r of mine)
      observations.push({ metric: id, runId: run.id, item: `${r.suiteVersionId}|${r.itemKey}`, sample: String(r.sampleIndex ?? 0), value: r.score! });
  }
  return { metrics, observations };
};
