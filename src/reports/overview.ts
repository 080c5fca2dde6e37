/**
 * @module reports/overview: the leaderboard's overview: models x headline metrics of every kind, from the metric
 * layer, each with n and its 95% CI, and a tie group per column. A column compares like with like: one metric on the
 * same suite versions (by default the latest version of each suite), graded by the same judge and rubric (judged
 * kinds) or with the same scoring mode (unjudged kinds), at the same temperature. A metric measured under several of
 * these gets one column each.
 */
import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getSuiteVersion } from "../db/queries/suites";
import type { RunRow } from "../db/queries/runs";
import { suiteVersions } from "../db/schema";
import { formatJudgeKey } from "../judges/judge-key";
import type { MetricInfo } from "../metrics/types";
import { SUITE_KINDS } from "../suites/kinds";
import { completedRuns, layerMetrics, type MetricValue } from "./metrics";

export interface OverviewCell extends Pick<MetricValue, "value" | "lo" | "hi" | "n" | "clusters" | "ciMethod" | "runId"> {
  endpointId: string;
  metric: string;
  /** The column (`OverviewColumn.id`) the cell sits in. */
  column: string;
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

/** What a column holds fixed, so that its figures compare like with like. */
export interface OverviewComparability {
  suites: string[];
  suiteVersionIds: string[];
  /** The judge key `<endpoint>@<revision>|<rubric>` of a judged kind; null for unjudged kinds. */
  judge: string | null;
  /** The scoring mode of an unjudged kind (logprobs or sampled); null for judged kinds. */
  scoringMode: string | null;
  temperature: number;
}

export interface OverviewColumn extends Pick<MetricInfo, "label" | "kind" | "better"> {
  /** The metric id when the metric has one column; else the metric id and what the column holds fixed. */
  id: string;
  metric: string;
  comparability: OverviewComparability;
}

/** Which suite versions the overview shows: the newest version of each suite (default), or every version. */
export type OverviewVersions = "latest" | "all";
export const OVERVIEW_VERSIONS = ["latest", "all"] as const;

/** The suite kind a metric-layer kind belongs to. */
const suiteKindOf = (k: MetricInfo["kind"]) => (k === "projectability" ? "persona" : k === "self_report" ? "self-report" : k);
/** A kind whose units include a judge's: its figures depend on the judge and rubric. */
const judged = (kind: string) => Object.values(SUITE_KINDS[kind]?.stages ?? {}).some((s) => s.target === "judge");

export async function leaderboardOverview(
  db: Db,
  d1: D1Database,
  eps: { id: string; name: string; revision: string }[],
  versions: OverviewVersions = "latest",
) {
  const versionCache = new Map<string, { suiteId: string; kind: string } | null>();
  const versionOf = async (id: string) => {
    if (!versionCache.has(id)) {
      const v = await getSuiteVersion(db, id);
      versionCache.set(id, v ? { suiteId: v.suiteId, kind: String((v.meta as Record<string, unknown>).kind) } : null);
    }
    return versionCache.get(id)!;
  };
  const newestCache = new Map<string, string | null>();
  const newestVersion = async (suiteId: string) => {
    if (!newestCache.has(suiteId)) {
      const row = await db
        .select({ id: suiteVersions.id })
        .from(suiteVersions)
        .where(eq(suiteVersions.suiteId, suiteId))
        .orderBy(desc(suiteVersions.createdAt), desc(suiteVersions.id))
        .get();
      newestCache.set(suiteId, row?.id ?? null);
    }
    return newestCache.get(suiteId)!;
  };

  const columns = new Map<string, OverviewColumn>();
  const cells: OverviewCell[] = [];
  for (const ep of eps) {
    // Newest first: each (kind, comparability) takes the endpoint's newest completed run at its current revision.
    const rows = await completedRuns(db, ep);
    const taken = new Set<string>();
    const picked: { run: RunRow; kinds: Map<string, { key: string; comparability: OverviewComparability }> }[] = [];
    for (const run of rows) {
      const byKind = new Map<string, { suiteId: string; id: string }[]>();
      for (const id of run.suiteVersionIds) {
        const v = await versionOf(id);
        if (v) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), { suiteId: v.suiteId, id }]);
      }
      const kinds = new Map<string, { key: string; comparability: OverviewComparability }>();
      for (const [kind, vs] of byKind) {
        if (versions === "latest" && (await Promise.all(vs.map(async (v) => (await newestVersion(v.suiteId)) === v.id))).includes(false)) continue;
        const isJudged = judged(kind);
        const comparability: OverviewComparability = {
          suites: vs.map((v) => v.suiteId),
          suiteVersionIds: vs.map((v) => v.id),
          judge: isJudged && run.config.judge ? formatJudgeKey(run.config.judge) : null,
          scoringMode: isJudged ? null : run.scoringMode,
          temperature: run.temperature,
        };
        const key = [
          comparability.suiteVersionIds.join("+"),
          comparability.judge ?? "-",
          comparability.scoringMode ?? "-",
          `t=${comparability.temperature}`,
        ].join("|");
        if (taken.has(`${kind}|${key}`)) continue;
        taken.add(`${kind}|${key}`);
        kinds.set(kind, { key, comparability });
      }
      if (kinds.size) picked.push({ run, kinds });
    }
    for (const { run, kinds } of picked) {
      for (const m of await layerMetrics(db, d1, run)) {
        const at = kinds.get(suiteKindOf(m.kind));
        if (!at || !m.headline) continue;
        const columnKey = `${m.id}|${at.key}`;
        if (!columns.has(columnKey))
          columns.set(columnKey, { id: columnKey, metric: m.id, label: m.label, kind: m.kind, better: m.better, comparability: at.comparability });
        cells.push({
          endpointId: ep.id,
          metric: m.id,
          column: columnKey,
          value: m.value,
          lo: m.lo,
          hi: m.hi,
          n: m.n,
          clusters: m.clusters,
          ciMethod: m.ciMethod,
          runId: m.runId,
          tieGroup: null,
        });
      }
    }
  }

  // A metric with one column keeps its metric id as the column id; several columns are told apart in their labels.
  const byMetric = new Map<string, OverviewColumn[]>();
  for (const col of columns.values()) byMetric.set(col.metric, [...(byMetric.get(col.metric) ?? []), col]);
  const rename = new Map<string, string>();
  for (const [metric, cols] of byMetric) {
    if (cols.length === 1) {
      rename.set(cols[0].id, metric);
      cols[0].id = metric;
      continue;
    }
    const differs = (f: (c: OverviewComparability) => string) => new Set(cols.map((c) => f(c.comparability))).size > 1;
    for (const col of cols) {
      const c = col.comparability;
      const parts = [
        differs((x) => x.suiteVersionIds.join("+")) ? `version ${c.suiteVersionIds.join("+")}` : null,
        differs((x) => x.judge ?? "") ? `judge ${c.judge ?? "none"}` : null,
        differs((x) => x.scoringMode ?? "") ? `${c.scoringMode ?? "no"} scoring` : null,
        differs((x) => String(x.temperature)) ? `temperature ${c.temperature}` : null,
      ].filter((p) => p !== null);
      col.label = `${col.label} (${parts.join(", ")})`;
    }
  }
  for (const c of cells) c.column = rename.get(c.column) ?? c.column;

  const list = [...columns.values()];
  for (const col of list) {
    if (!col.better) continue;
    const mine = cells.filter((c) => c.column === col.id && c.value != null);
    const groups = ciTieGroups(
      mine.map((c) => ({ key: c.endpointId, value: c.value!, lo: c.lo, hi: c.hi })),
      col.better,
    );
    for (const c of mine) c.tieGroup = groups.get(c.endpointId) ?? null;
  }
  const order = ["persona", "projectability", "safety", "misalignment", "consistency", "self_report"];
  list.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.metric.localeCompare(b.metric) || a.id.localeCompare(b.id));
  const withData = new Set(cells.map((c) => c.endpointId));
  return {
    models: eps.filter((e) => withData.has(e.id)).map((e) => ({ endpointId: e.id, name: e.name })),
    /** The columns: one per metric and comparability. */
    metrics: list,
    cells,
    suiteVersions: versions,
    tieRule:
      "per column, best first: a row shares the leader's tie group while its 95% CI overlaps the leader's (ours); none for metrics where neither direction is better",
    note: `each column compares like with like: one suite version (${versions === "latest" ? "the latest of each suite; overviewVersions=all shows older ones" : "every version, each its own column"}), one judge and rubric for judged kinds, one scoring mode for the others, one temperature; a metric measured under several of these has one column each`,
  };
}
