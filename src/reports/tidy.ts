/**
 * @module reports/tidy: tidy exports of the metric layer, one row per model x metric x slice, for
 * `pandas.read_csv` / `pandas.read_json(lines=True)` (docs/reports.md#tidy-exports). CSV cells go through the same
 * formula-neutralising writer as the judgments export.
 */
import { csvLine } from "./export";
import type { StudyReport } from "./study";

/** The columns of every tidy export, in order. */
export const TIDY_COLUMNS = [
  "experiment_id",
  "slice",
  "endpoint_id",
  "model",
  "role",
  "arm",
  "replicate",
  "metric",
  "kind",
  "n",
  "clusters",
  "estimate",
  "lo",
  "hi",
  "method",
  "p",
  "p_holm",
  "test",
  "dropped",
  "compared_with",
  "run_id",
  "base_run_id",
  "reason",
] as const;

export type TidyRow = Partial<Record<(typeof TIDY_COLUMNS)[number], string | number | boolean | null>>;

/** One row per model x metric (slice "model"), arm x metric ("arm"), member vs base ("vs_base") and member vs member ("vs_member"). */
export function studyRows(experimentId: string, study: StudyReport): TidyRow[] {
  const model = new Map(study.models.map((m) => [m.endpointId, m]));
  const head = (endpointId: string) => {
    const m = model.get(endpointId);
    return {
      experiment_id: experimentId,
      endpoint_id: endpointId,
      model: m?.name ?? null,
      role: m?.role ?? null,
      arm: m?.arm ?? null,
      replicate: m?.replicate ?? null,
    };
  };
  const rows: TidyRow[] = [];
  for (const c of study.cells)
    rows.push({
      ...head(c.endpointId),
      slice: "model",
      metric: c.id,
      kind: c.kind,
      n: c.n,
      clusters: c.clusters,
      estimate: c.estimate,
      lo: c.lo,
      hi: c.hi,
      method: c.method,
      run_id: c.runId,
      reason: c.reason ?? null,
    });
  for (const a of study.arms)
    rows.push({
      experiment_id: experimentId,
      slice: "arm",
      arm: a.arm,
      replicate: a.replicates,
      metric: a.metric,
      kind: a.kind,
      n: a.n,
      clusters: a.clusters,
      estimate: a.estimate,
      lo: a.lo,
      hi: a.hi,
      method: a.method,
      reason: ("reason" in a ? a.reason : null) ?? null,
    });
  const comparison = (slice: string, c: StudyReport["vsBase"][number]) => ({
    ...head(c.endpointId),
    slice,
    metric: c.id,
    kind: c.kind,
    n: c.n,
    clusters: c.clusters,
    estimate: c.estimate,
    lo: c.lo,
    hi: c.hi,
    method: c.method,
    p: c.p,
    p_holm: c.pHolm,
    test: c.test,
    dropped: c.dropped,
    compared_with: c.baseEndpointId,
    run_id: c.runId,
    base_run_id: c.baseRunId,
    reason: c.reason ?? null,
  });
  for (const c of study.vsBase) rows.push(comparison("vs_base", c));
  for (const c of (study.compare as { pairs?: StudyReport["vsBase"] } | null)?.pairs ?? []) rows.push(comparison("vs_member", c));
  return rows;
}

/** A stream of the rows as CSV (header first) or JSON lines; rows are written as the consumer reads. */
export function tidyStream(rows: TidyRow[], format: "csv" | "jsonl"): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = -1;
  return new ReadableStream({
    pull(controller) {
      if (i === -1 && format === "csv") controller.enqueue(enc.encode(csvLine([...TIDY_COLUMNS])));
      if (i === -1) i = 0;
      const end = Math.min(rows.length, i + 200);
      let chunk = "";
      for (; i < end; i++)
        chunk +=
          format === "csv"
            ? csvLine(TIDY_COLUMNS.map((k) => rows[i][k] ?? null))
            : `${JSON.stringify(Object.fromEntries(TIDY_COLUMNS.map((k) => [k, rows[i][k] ?? null])))}\n`;
      if (chunk) controller.enqueue(enc.encode(chunk));
      if (i >= rows.length) controller.close();
    },
  });
}

export function tidyResponse(rows: TidyRow[], format: "csv" | "jsonl", filename: string): Response {
  return new Response(tidyStream(rows, format), {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}.${format}"`,
    },
  });
}

/** Rows of a run's or an endpoint's metrics (slice "run" or "endpoint"). */
export function metricRows(
  slice: "run" | "endpoint",
  endpoint: { id: string; name: string },
  metrics: {
    id: string;
    kind: string;
    n: number;
    clusters: number | null;
    value: number | null;
    lo: number | null;
    hi: number | null;
    ciMethod: string;
    runId: string;
    reason?: string;
  }[],
): TidyRow[] {
  return metrics.map((m) => ({
    slice,
    endpoint_id: endpoint.id,
    model: endpoint.name,
    metric: m.id,
    kind: m.kind,
    n: m.n,
    clusters: m.clusters,
    estimate: m.value,
    lo: m.lo,
    hi: m.hi,
    method: m.ciMethod,
    run_id: m.runId,
    reason: m.reason ?? null,
  }));
}
