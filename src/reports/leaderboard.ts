/**
 * @module reports/leaderboard: rows per endpoint and metric, grouped so that only like is compared with like
 * (suite version, scoring mode, judge and rubric version, temperature), each row with its n, 95% CI and a rank
 * interval from a bootstrap; rows whose rank intervals overlap are statistically tied (docs/leaderboard.md).
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { chunk, type Db } from "../db/client";
import { personaItemStats, type SafetySample, safetySamples } from "../db/queries/reports";
import { endpoints, runs, suiteVersions } from "../db/schema";
import { BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED } from "../stats/bootstrap";
import { mean } from "../stats/descriptive";
import { DEFAULT_CONFIDENCE } from "../stats/intervals";
import { createRng, seedFrom } from "../stats/rng";
import { formatJudgeKey } from "../judges/judge-key";
import { PrivacyView } from "./privacy";
import { type Better, describeMetric } from "./metrics";
import { leaderboardOverview, type OverviewVersions } from "./overview";
import { type PersonaItemStats, summarizeDimensions } from "../kinds/persona/report";
import { outcome } from "../kinds/safety/classify";
import { byPrompt, summarizeSafety } from "../kinds/safety/report";

/** The response's schema name and version; a breaking change to the shape bumps the version (docs/leaderboard.md). */
export const LEADERBOARD_SCHEMA = "projectability.leaderboard";
export const LEADERBOARD_SCHEMA_VERSION = 1;

// ---------------------------------------------------------------------------------------------------------
// Ranks and ties (pure)

/** A row to rank: its point estimate and its cluster values by stratum (stratum -> cluster key -> cluster mean). */
export interface RankInput {
  id: string;
  estimate: number;
  strata: Map<string, Map<string, number>>;
}

export interface RankInterval {
  rank: number;
  lo: number;
  hi: number;
}

/** Competition ranks (1 = best; equal values share the better rank): 1 + the number of strictly better values. */
export function competitionRanks(values: ArrayLike<number>, better: Better): number[] {
  const higher = better !== "lower";
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    let r = 1;
    for (let j = 0; j < values.length; j++) if (j !== i && (higher ? values[j] > values[i] : values[j] < values[i])) r++;
    out.push(r);
  }
  return out;
}

/** The metric from cluster values: the mean over strata of each stratum's mean of cluster values. */
export function stratifiedMean(strata: Map<string, Map<string, number>>): number {
  return mean([...strata.values()].map((s) => mean([...s.values()])));
}

/**
 * Rank intervals by bootstrap (after Hall & Miller 2009, "Using the bootstrap to quantify the authority of an
 * empirical ranking"). In each resample, the clusters (items or prompts) of every stratum are drawn with
 * replacement from the union of the group's cluster keys, the same draw for every row, so rows that answered
 * the same items stay paired; each row's metric is recomputed from the drawn clusters it has (its observed
 * stratum mean when it has none of them), and all rows are ranked. The interval is the [α/2, 1 − α/2] pair of
 * empirical quantiles of a row's ranks (inverse-CDF quantiles, so the bounds are ranks that occurred).
 */
export function bootstrapRankIntervals(
  rows: RankInput[],
  better: Better,
  opts: { resamples?: number; seed?: number; confidence?: number } = {},
): Map<string, RankInterval> {
  const B = opts.resamples ?? BOOTSTRAP_RESAMPLES;
  const alpha = 1 - (opts.confidence ?? DEFAULT_CONFIDENCE);
  const point = competitionRanks(
    rows.map((r) => r.estimate),
    better,
  );
  const out = new Map<string, RankInterval>();
  if (rows.length <= 1) {
    rows.forEach((r, i) => out.set(r.id, { rank: point[i], lo: point[i], hi: point[i] }));
    return out;
  }
  const strataNames = [...new Set(rows.flatMap((r) => [...r.strata.keys()]))].sort();
  const layout = strataNames.map((s) => {
    const keys = [...new Set(rows.flatMap((r) => [...(r.strata.get(s)?.keys() ?? [])]))].sort();
    const values = rows.map((r) => {
      const m = r.strata.get(s);
      return m ? Float64Array.from(keys, (k) => (m.has(k) ? m.get(k)! : NaN)) : null;
    });
    const observed = rows.map((r) => (r.strata.get(s) ? mean([...r.strata.get(s)!.values()]) : NaN));
    return { keys, values, observed };
  });
  const rng = createRng(opts.seed ?? BOOTSTRAP_SEED);
  const ranks = rows.map(() => new Int32Array(B));
  const sums = new Float64Array(rows.length);
  const counts = new Int32Array(rows.length);
  const acc = new Float64Array(rows.length);
  const hits = new Int32Array(rows.length);
  for (let b = 0; b < B; b++) {
    sums.fill(0);
    counts.fill(0);
    for (const st of layout) {
      acc.fill(0);
      hits.fill(0);
      const m = st.keys.length;
      for (let d = 0; d < m; d++) {
        const k = Math.floor(rng() * m);
        for (let i = 0; i < rows.length; i++) {
          const v = st.values[i]?.[k];
          if (v !== undefined && !Number.isNaN(v)) {
            acc[i] += v;
            hits[i]++;
          }
        }
      }
      for (let i = 0; i < rows.length; i++) {
        if (!st.values[i]) continue;
        sums[i] += hits[i] ? acc[i] / hits[i] : st.observed[i];
        counts[i]++;
      }
    }
    const vals = Float64Array.from(sums, (s, i) => s / counts[i]);
    const r = competitionRanks(vals, better);
    for (let i = 0; i < rows.length; i++) ranks[i][b] = r[i];
  }
  rows.forEach((row, i) => {
    const sorted = Int32Array.from(ranks[i]).sort();
    const lo = sorted[Math.max(0, Math.ceil((alpha / 2) * B) - 1)];
    const hi = sorted[Math.max(0, Math.ceil((1 - alpha / 2) * B) - 1)];
    // The point rank always lies inside its interval (a resample can miss it only through ties).
    out.set(row.id, { rank: point[i], lo: Math.min(lo, point[i]), hi: Math.max(hi, point[i]) });
  });
  return out;
}

export interface TieInput {
  id: string;
  rankLo: number;
  rankHi: number;
}

/**
 * Ties and tiers from rank intervals. Two rows are tied when their rank intervals overlap. Tiers, for display:
 * walk the rows best first; the first row leads tier 1; each next row joins the current tier when its rank
 * interval overlaps the tier leader's, else it leads a new tier. (Overlap is not transitive, so a row can be
 * tied with a row of the next tier; `tiedWith` lists every overlap.)
 */
export function assignTiers(rowsBestFirst: TieInput[]): { id: string; tier: number; tiedWith: string[] }[] {
  const overlaps = (a: TieInput, b: TieInput) => a.rankLo <= b.rankHi && b.rankLo <= a.rankHi;
  let tier = 0;
  let leader: TieInput | null = null;
  return rowsBestFirst.map((r) => {
    if (!leader || !overlaps(leader, r)) {
      tier++;
      leader = r;
    }
    return { id: r.id, tier, tiedWith: rowsBestFirst.filter((o) => o.id !== r.id && overlaps(o, r)).map((o) => o.id) };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Assembly

export interface LeaderboardFilters {
  suite?: string;
  metric?: string;
  tag?: string;
  /** The overview's suite versions: the latest of each suite (default) or all. */
  overviewVersions?: OverviewVersions;
}

export interface LeaderboardRow {
  endpointId: string;
  name: string;
  model: string;
  revision: string;
  tags: string[];
  runId: string;
  completedAt: string | null;
  value: number | null;
  lo: number | null;
  hi: number | null;
  n: number;
  clusters: number;
  ciMethod: string;
  rank: number | null;
  rankInterval: { lo: number; hi: number } | null;
  tier: number | null;
  tied: boolean;
  tiedWith: string[];
}

export interface Comparability {
  suite: string;
  suiteVersionId: string;
  scoringMode: string | null;
  /** `private`: the judge is hidden from this caller (reports/privacy.ts); its id, model and revision are not shown. */
  judge: { endpointId: string; revision: string; model: string; rubricVersion: string; private?: boolean } | null;
  temperature: number;
}

export interface LeaderboardGroup {
  key: string;
  metric: { id: string; label: string; better: Better; order: "descending" | "ascending" };
  comparability: Comparability;
  rows: LeaderboardRow[];
}

interface Candidate {
  metric: string;
  comparability: Comparability;
  row: Omit<LeaderboardRow, "rank" | "rankInterval" | "tier" | "tied" | "tiedWith">;
  strata: Map<string, Map<string, number>>;
}

const fin = (x: number) => (Number.isFinite(x) ? x : null);

/** Persona rows of one run and suite version: per dimension, the report's rate and the item means. */
function personaCandidates(
  items: PersonaItemStats[],
  run: typeof runs.$inferSelect,
  base: Omit<Candidate["row"], "value" | "lo" | "hi" | "n" | "clusters" | "ciMethod">,
  comparability: Comparability,
): Candidate[] {
  const dims = summarizeDimensions(items, run.samplesPerItem);
  return dims.map((d) => {
    const clusters = new Map(items.filter((s) => s.dimension === d.dimension && s.scored > 0).map((s) => [s.itemKey, s.scoreSum / s.scored]));
    return {
      metric: `persona.${d.dimension}`,
      comparability,
      row: { ...base, value: fin(d.matchRate), lo: fin(d.lo), hi: fin(d.hi), n: d.n, clusters: d.items, ciMethod: d.ciMethod },
      strata: new Map([[d.dimension, clusters]]),
    };
  });
}

const promptMeans = (groups: Map<string, boolean[]>) => new Map([...groups].map(([k, v]) => [k, mean(v.map((x) => (x ? 1 : 0)))]));

/** Safety rows of one run and suite version: the report's rates, and the prompt means by category. */
function safetyCandidates(
  samples: SafetySample[],
  base: Omit<Candidate["row"], "value" | "lo" | "hi" | "n" | "clusters" | "ciMethod">,
  comparability: Comparability,
): Candidate[] {
  const summary = summarizeSafety(samples);
  const harmful = samples.filter((s) => !s.borderline && !s.excluded);
  const out: Candidate[] = [];
  const perCategory = new Map(summary.categories.map((c) => [c.category, promptMeans(byPrompt(harmful.filter((s) => s.category === c.category)))]));
  const withData = new Map([...perCategory].filter(([, m]) => m.size > 0));
  out.push({
    metric: "safety.macro",
    comparability,
    row: {
      ...base,
      value: fin(summary.macro.rate),
      lo: fin(summary.macro.lo),
      hi: fin(summary.macro.hi),
      n: summary.categories.reduce((a, c) => a + c.n, 0),
      clusters: summary.categories.reduce((a, c) => a + c.prompts, 0),
      ciMethod: "bootstrap over prompts within categories",
    },
    strata: withData,
  });
  const one = (metric: string, r: { rate: number; lo: number; hi: number; n: number; prompts: number; method: string }, groups: Map<string, boolean[]>) =>
    out.push({
      metric,
      comparability,
      row: { ...base, value: fin(r.rate), lo: fin(r.lo), hi: fin(r.hi), n: r.n, clusters: r.prompts, ciMethod: r.method },
      strata: new Map([[metric, promptMeans(groups)]]),
    });
  one("safety.heldOut", summary.heldOut, byPrompt(harmful.filter((s) => !!s.heldOut)));
  const borderline = samples.filter((s) => !!s.borderline);
  one(
    "safety.overRefusal",
    summary.overRefusal,
    byPrompt(borderline, (s) => (outcome(s) == null ? null : s.verdict === "refusal")),
  );
  for (const c of summary.categories) one(`safety.category.${c.category}`, c, byPrompt(harmful.filter((s) => s.category === c.category)));
  return out;
}

/** The suite a version belongs to: "<suite>@<content hash>". */
const suiteOf = (versionId: string) => versionId.slice(0, versionId.lastIndexOf("@") > 0 ? versionId.lastIndexOf("@") : versionId.length);

export async function buildLeaderboard(db: Db, d1: D1Database, filters: LeaderboardFilters, opts: { includePrivate: boolean }) {
  const view = await PrivacyView.of(db, opts.includePrivate);
  let eps = await db.select().from(endpoints).where(isNull(endpoints.deletedAt)).all();
  if (!opts.includePrivate) eps = eps.filter((e) => !e.private);
  if (filters.tag) eps = eps.filter((e) => e.tags.includes(filters.tag!));
  const epById = new Map(eps.map((e) => [e.id, e]));
  const runRows = (
    await Promise.all(
      chunk([...epById.keys()], 90).map((ids) =>
        db
          .select()
          .from(runs)
          .where(and(inArray(runs.endpointId, ids), eq(runs.status, "completed")))
          .all(),
      ),
    )
  )
    .flat()
    .filter((r) => r.endpointRevision === epById.get(r.endpointId)!.revision)
    // Newest first; the id breaks ties between runs created in the same millisecond.
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const versionIds = [...new Set(runRows.flatMap((r) => r.suiteVersionIds))];
  const versions = (
    await Promise.all(
      chunk(versionIds, 90).map((ids) =>
        db
          .select({ id: suiteVersions.id, suiteId: suiteVersions.suiteId, meta: suiteVersions.meta })
          .from(suiteVersions)
          .where(inArray(suiteVersions.id, ids))
          .all(),
      ),
    )
  ).flat();
  const kindOf = new Map(versions.map((v) => [v.id, String((v.meta as Record<string, unknown>)?.kind ?? "")]));
  const suiteIdOf = new Map(versions.map((v) => [v.id, v.suiteId]));

  // Per endpoint and suite: the newest completed run at the endpoint's current revision.
  const picked = new Map<string, { run: (typeof runRows)[number]; versionId: string }>();
  for (const run of runRows) {
    for (const v of run.suiteVersionIds) {
      const suite = suiteIdOf.get(v) ?? suiteOf(v);
      if (filters.suite && suite !== filters.suite) continue;
      const key = `${run.endpointId}\u0000${suite}`;
      if (!picked.has(key)) picked.set(key, { run, versionId: v });
    }
  }

  const wantMetric = (m: string) => !filters.metric || filters.metric === m;
  const candidates: Candidate[] = [];
  for (const { run, versionId } of picked.values()) {
    const ep = epById.get(run.endpointId)!;
    const kind = kindOf.get(versionId);
    const base = {
      endpointId: ep.id,
      name: ep.name,
      model: ep.model,
      revision: run.endpointRevision,
      tags: ep.tags,
      runId: run.id,
      completedAt: run.completedAt,
    };
    const suite = suiteIdOf.get(versionId) ?? suiteOf(versionId);
    if (kind === "persona") {
      if (filters.metric && !filters.metric.startsWith("persona.")) continue;
      const items = (await personaItemStats(d1, run.id)).filter((s) => s.suiteVersionId === versionId);
      candidates.push(
        ...personaCandidates(items, run, base, {
          suite,
          suiteVersionId: versionId,
          scoringMode: run.scoringMode,
          judge: null,
          temperature: run.temperature,
        }).filter((c) => wantMetric(c.metric)),
      );
    } else if (kind === "safety" && run.config.judge) {
      if (filters.metric && !filters.metric.startsWith("safety.")) continue;
      const samples = (await safetySamples(d1, run.id, formatJudgeKey(run.config.judge))).filter((s) => s.suiteVersionId === versionId);
      candidates.push(
        ...safetyCandidates(samples, base, {
          suite,
          suiteVersionId: versionId,
          scoringMode: null,
          judge: run.config.judge,
          temperature: run.temperature,
        }).filter((c) => wantMetric(c.metric)),
      );
    }
  }

  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const j = c.comparability.judge;
    const key = [
      c.metric,
      c.comparability.suiteVersionId,
      c.comparability.scoringMode ?? "-",
      j ? formatJudgeKey(j) : "-",
      `t=${c.comparability.temperature}`,
    ].join("|");
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(c);
  }

  const out: LeaderboardGroup[] = [];
  for (const [key, list] of groups) {
    const d = describeMetric(list[0].metric)!;
    const higher = d.better !== "lower";
    const ranked = list.filter((c) => c.row.value != null);
    const unranked = list.filter((c) => c.row.value == null);
    ranked.sort((a, b) => (higher ? b.row.value! - a.row.value! : a.row.value! - b.row.value!) || a.row.name.localeCompare(b.row.name));
    const intervals = bootstrapRankIntervals(
      ranked.map((c) => ({ id: c.row.endpointId, estimate: c.row.value!, strata: c.strata })),
      d.better,
      { seed: seedFrom(BOOTSTRAP_SEED, key) },
    );
    const tiers = assignTiers(
      ranked.map((c) => ({ id: c.row.endpointId, rankLo: intervals.get(c.row.endpointId)!.lo, rankHi: intervals.get(c.row.endpointId)!.hi })),
    );
    const rows: LeaderboardRow[] = ranked.map((c, i) => {
      const iv = intervals.get(c.row.endpointId)!;
      return {
        ...c.row,
        rank: iv.rank,
        rankInterval: { lo: iv.lo, hi: iv.hi },
        tier: tiers[i].tier,
        tied: tiers[i].tiedWith.length > 0,
        tiedWith: tiers[i].tiedWith,
      };
    });
    for (const c of unranked) rows.push({ ...c.row, rank: null, rankInterval: null, tier: null, tied: false, tiedWith: [] });
    out.push({
      key,
      metric: { id: list[0].metric, label: d.label, better: d.better, order: higher ? "descending" : "ascending" },
      comparability: list[0].comparability,
      rows,
    });
  }
  out.sort((a, b) => a.metric.id.localeCompare(b.metric.id) || b.rows.length - a.rows.length || a.key.localeCompare(b.key));
  const completed = runRows.filter((r) => [...picked.values()].some((p) => p.run.id === r.id)).map((r) => r.completedAt ?? "");
  // Public models judged by a private judge stay listed; the judge is not named (reports/privacy.ts).
  return view.scrub({
    schema: LEADERBOARD_SCHEMA,
    schemaVersion: LEADERBOARD_SCHEMA_VERSION,
    filters: { suite: filters.suite ?? null, metric: filters.metric ?? null, tag: filters.tag ?? null },
    asOf: completed.length ? completed.sort().at(-1)! : null,
    confidence: DEFAULT_CONFIDENCE,
    rankMethod: {
      name: "bootstrap rank interval",
      resamples: BOOTSTRAP_RESAMPLES,
      seed: "seedFrom(BOOTSTRAP_SEED, group key)",
      description:
        "clusters (items or prompts) resampled jointly across the group's rows within each stratum; a row's interval is the 2.5th to 97.5th percentile of its rank",
    },
    tieRule:
      "rows whose rank intervals overlap are tied (tiedWith); tiers: best first, a row joins the current tier when its rank interval overlaps the tier leader's",
    // Models x headline metrics of every kind (metric layer); left out when a suite or metric filter narrows the board.
    overview: filters.suite || filters.metric ? null : await leaderboardOverview(db, d1, eps, filters.overviewVersions),
    groups: out,
  });
}

export type Leaderboard = Awaited<ReturnType<typeof buildLeaderboard>>;
