/**
 * @module reports/overview: the leaderboard's overview: models x headline metrics of every kind, from the metric
 * layer, each with n and its 95% CI, and a tie group per metric. Unlike the groups below it, the overview puts
 * figures from different suite versions, judges and temperatures side by side: it is a map, the groups are the rankings.
 */
import type { Db } from "../db/client";
import type { MetricInfo } from "../metrics/types";
import { layerMetrics, latestRunsByKind, type MetricValue } from "./metrics";

export interface OverviewCell extends Pick<MetricValue, "value" | "lo" | "hi" | "n" | "clusters" | "ciMethod" | "runId"> {
  endpointId: string;
  metric: string;
  /** 1 = the best group; rows whose CI overlaps the group leader's share its number (ours). Null where no direction is better. */
  tieGroup: number | null;
}

/** Tie groups: best first, a row joins the current group while its 95% CI overlaps the leader's (ours; the groups below use bootstrap rank intervals). */
export function ciTieGroups(rows: { key: string; value: number; lo: number | null; hi: number | null }[], better: "higher" | "lower"): Map<string, number> {
  const sorted = [...rows].sort((a, b) => (better === "higher" ? b.value - a.value : a.value - b.value));
  const out = new Map<string, number>();
  let group = 0;
  let leader: (typeof rows)[number] | null = null;
  for (const r of sorted) {
    const overlaps = leader && r.lo != null && r.hi != null && leader.lo != null && leader.hi != null && r.lo <= leader.hi && leader.lo <= r.hi;
    if (!overlaps) {
      group++;
      leader = r;
    }
    out.set(r.key, group);
  }
  return out;
}

export async function leaderboardOverview(db: Db, d1: D1Database, eps: { id: string; name: string; revision: string }[]) {
  const metrics: Pick<MetricInfo, "id" | "label" | "kind" | "better">[] = [];
  const cells: OverviewCell[] = [];
  for (const ep of eps) {
    const byKind = await latestRunsByKind(db, ep);
    const seen = new Set<string>();
    for (const run of new Set(byKind.values())) {
      for (const m of await layerMetrics(db, d1, run)) {
        const kind = m.kind === "projectability" ? "persona" : m.kind === "self_report" ? "self-report" : m.kind;
        if (byKind.get(kind)?.id !== run.id || seen.has(m.id) || !m.headline) continue;
        seen.add(m.id);
        if (!metrics.some((x) => x.id === m.id)) metrics.push({ id: m.id, label: m.label, kind: m.kind, better: m.better });
        cells.push({ endpointId: ep.id, metric: m.id, value: m.value, lo: m.lo, hi: m.hi, n: m.n, clusters: m.clusters, ciMethod: m.ciMethod, runId: m.runId, tieGroup: null });
      }
    }
  }
  for (const m of metrics) {
    if (!m.better) continue;
    const mine = cells.filter((c) => c.metric === m.id && c.value != null);
    const groups = ciTieGroups(mine.map((c) => ({ key: c.endpointId, value: c.value!, lo: c.lo, hi: c.hi })), m.better);
    for (const c of mine) c.tieGroup = groups.get(c.endpointId) ?? null;
  }
  const order = ["persona", "projectability", "safety", "misalignment", "consistency", "self_report"];
  metrics.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.id.localeCompare(b.id));
  const withData = new Set(cells.map((c) => c.endpointId));
  return {
    models: eps.filter((e) => withData.has(e.id)).map((e) => ({ endpointId: e.id, name: e.name })),
    metrics,
    cells,
    tieRule: "per metric, best first: a row shares the leader's tie group while its 95% CI overlaps the leader's (ours); none for metrics where neither direction is better",
    note: "figures from different suite versions, judges or temperatures can sit side by side here; the groups below compare like with like",
  };
}
