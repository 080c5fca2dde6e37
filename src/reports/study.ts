/**
 * @module reports/study: the experiment report for every suite kind, from the metric layer: a matrix of models x
 * metrics (estimate, n, 95% CI), per arm across replicates, every member against the base (paired on items, Holm
 * across each member's metrics), member against member for a chosen metric (Holm across the pairs), the persona
 * matrix beside each constitution's signature, and projectability per arm.
 */
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { getEndpoint } from "../db/queries/endpoints";
import type { RunRow } from "../db/queries/runs";
import { getSuiteVersion } from "../db/queries/suites";
import { runs } from "../db/schema";
import { formatJudgeKey } from "../judges/judge-key";
import {
  aggregateClusters,
  clusteredMean,
  type MetricComparison,
  type MetricEstimate,
  pairedRunDifference,
  runClusters,
  suiteKindOf,
  withHolm,
} from "../metrics/aggregate";
import type { Estimate } from "../metrics/estimators";
import type { KindClusters, MetricInfo } from "../metrics/types";
import { RunReads } from "../db/queries/run-reads";
import { CANONICAL_DIMENSIONS } from "../kinds/persona/format";
import { constitutions, getConstitution } from "../suites/constitutions";
import { projectability } from "../kinds/persona/report";
import type { StudyReport } from "./schemas/experiment";

export interface StudyModel {
  endpointId: string;
  name: string;
  role: "base" | "member";
  arm: string | null;
  replicate: number | null;
  constitution: string | null;
  scope: string | null;
  /** The run each suite kind's figures come from: the newest completed (else newest live) run at the current revision. */
  runs: Record<string, string>;
}

/** Suite kinds that do not evaluate the endpoint. */
const NOT_EVALUATIONS = new Set(["cai", "training-pool", "judge-fixture"]);

async function kindsOf(db: Db, run: RunRow): Promise<string[]> {
  const out: string[] = [];
  for (const id of run.suiteVersionIds) out.push(String(((await getSuiteVersion(db, id))?.meta as Record<string, unknown> | undefined)?.kind));
  return out;
}

/** Per suite kind, the endpoint's newest completed (else newest live) run at its current revision. */
export async function runsByKind(db: Db, endpointId: string): Promise<Map<string, RunRow>> {
  const ep = await getEndpoint(db, endpointId, { includeDeleted: true });
  const rows = await db
    .select()
    .from(runs)
    .where(and(eq(runs.endpointId, endpointId), eq(runs.endpointRevision, ep.revision)))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .all();
  const completed = new Map<string, RunRow>();
  const live = new Map<string, RunRow>();
  for (const r of rows) {
    if (r.status === "cancelled") continue;
    for (const k of await kindsOf(db, r)) {
      if (NOT_EVALUATIONS.has(k)) continue;
      if (r.status === "completed" && !completed.has(k)) completed.set(k, r);
      if (!live.has(k)) live.set(k, r);
    }
  }
  for (const [k, r] of live) if (!completed.has(k)) completed.set(k, r);
  return completed;
}

interface Loaded {
  model: StudyModel;
  byKind: Map<string, RunRow>;
  data: KindClusters;
}

/** A model's per-item sums: each metric from the run of its own kind. */
async function load(db: Db, reads: RunReads, model: Omit<StudyModel, "runs">): Promise<Loaded> {
  const byKind = await runsByKind(db, model.endpointId);
  const data: KindClusters = { metrics: [], clusters: new Map() };
  for (const run of new Set(byKind.values())) {
    const got = await runClusters(db, reads, run);
    for (const m of got.metrics) {
      if (byKind.get(suiteKindOf(m))?.id !== run.id || data.metrics.some((x) => x.id === m.id)) continue;
      data.metrics.push(m);
      data.clusters.set(m.id, got.clusters.get(m.id) ?? []);
    }
  }
  return { model: { ...model, runs: Object.fromEntries([...byKind].map(([k, r]) => [k, r.id])) }, byKind, data };
}

/** Why a metric of two models cannot be paired beyond missing items: the kind's runs used different judges. */
function pairingProblem(a: Loaded, b: Loaded, m: MetricInfo): string | null {
  const ra = a.byKind.get(suiteKindOf(m));
  const rb = b.byKind.get(suiteKindOf(m));
  if (!ra || !rb) return "no run of this kind";
  const ja = ra.config.judge ? formatJudgeKey(ra.config.judge) : null;
  const jb = rb.config.judge ? formatJudgeKey(rb.config.judge) : null;
  if (ja !== jb) return `judges differ (${ja ?? "none"} vs ${jb ?? "none"})`;
  return null;
}

async function compare(
  reads: RunReads,
  a: Loaded,
  b: Loaded,
  m: MetricInfo,
  family: string,
): Promise<Omit<MetricComparison, "pHolm"> & { endpointId: string; baseEndpointId: string }> {
  const problem = pairingProblem(a, b, m);
  const diff = problem
    ? { estimate: null, n: 0, clusters: 0, lo: null, hi: null, method: "none", reason: problem, p: null, test: "none", valid: false, dropped: 0 }
    : await pairedRunDifference(reads, a.byKind.get(suiteKindOf(m))!, b.byKind.get(suiteKindOf(m))!, m);
  return {
    ...m,
    ...diff,
    runId: a.byKind.get(suiteKindOf(m))?.id ?? "",
    baseRunId: b.byKind.get(suiteKindOf(m))?.id ?? "",
    family,
    endpointId: a.model.endpointId,
    baseEndpointId: b.model.endpointId,
  };
}

export interface StudyMember {
  endpointId: string;
  arm: string;
  replicate: number;
  constitution: string | null;
  scope: string;
}

/** The study section of an experiment report; `compareMetric` adds member-vs-member comparisons of that metric. */
export async function studyReport(
  db: Db,
  d1: D1Database,
  baseEndpointId: string,
  members: StudyMember[],
  opts: { compareMetric?: string } = {},
): Promise<StudyReport> {
  const baseEp = await getEndpoint(db, baseEndpointId, { includeDeleted: true });
  // Rows read once for the whole report: per-item sums, paired sums, and observations where a kind has no sums.
  const reads = new RunReads(d1);
  const base = await load(db, reads, {
    endpointId: baseEp.id,
    name: baseEp.name,
    role: "base",
    arm: null,
    replicate: null,
    constitution: baseEp.constitution ?? null,
    scope: null,
  });
  const loaded: Loaded[] = [];
  for (const m of members) {
    const ep = await getEndpoint(db, m.endpointId, { includeDeleted: true });
    loaded.push(
      await load(db, reads, {
        endpointId: ep.id,
        name: ep.name,
        role: "member",
        arm: m.arm,
        replicate: m.replicate,
        constitution: m.constitution,
        scope: m.scope,
      }),
    );
  }
  const all = [base, ...loaded];
  const metrics: MetricInfo[] = [];
  for (const l of all) for (const m of l.data.metrics) if (!metrics.some((x) => x.id === m.id)) metrics.push(m);
  const order = ["persona", "projectability", "safety", "misalignment", "consistency", "self_report"];
  metrics.sort((x, y) => order.indexOf(x.kind) - order.indexOf(y.kind) || Number(y.headline) - Number(x.headline) || x.id.localeCompare(y.id));

  const cells: (MetricEstimate & { endpointId: string })[] = [];
  for (const l of all)
    for (const e of aggregateClusters(l.byKind.values().next().value?.id ?? "", l.data))
      cells.push({ ...e, runId: l.byKind.get(suiteKindOf(e))?.id ?? "", endpointId: l.model.endpointId });
  const cellOf = (endpointId: string, metric: string) => cells.find((c) => c.endpointId === endpointId && c.id === metric);

  // Per arm: with two or more replicates the replicate is the unit (t-interval over replicate estimates).
  const armNames = [...new Set(members.map((m) => m.arm))];
  const arms = armNames.flatMap((arm) => {
    const mine = loaded.filter((l) => l.model.arm === arm);
    return metrics.flatMap((m) => {
      const values = mine.map((l) => cellOf(l.model.endpointId, m.id)?.estimate).filter((v): v is number => v != null);
      if (!values.length) return [];
      if (values.length >= 2) {
        const e = clusteredMean(
          values.map((v) => [v]),
          { rate: m.rate },
        );
        return [{ arm, metric: m.id, kind: m.kind, replicates: values.length, ...e, method: "t-interval over replicate estimates (replicates are the unit)" }];
      }
      const one = cellOf(mine.find((l) => cellOf(l.model.endpointId, m.id)?.estimate != null)!.model.endpointId, m.id)!;
      return [
        {
          arm,
          metric: m.id,
          kind: m.kind,
          replicates: 1,
          estimate: one.estimate,
          n: one.n,
          clusters: one.clusters,
          lo: one.lo,
          hi: one.hi,
          method: `${one.method} (one replicate: item-level interval)`,
        },
      ];
    });
  });

  // Every member against the base, paired on items; Holm across each member's metrics.
  const vsBase: ReturnType<typeof withHolm<Awaited<ReturnType<typeof compare>>>> = [];
  for (const l of loaded) {
    const family = `vs base: ${l.model.name}`;
    const shared = l.data.metrics.filter((m) => base.data.metrics.some((x) => x.id === m.id));
    const members: Awaited<ReturnType<typeof compare>>[] = [];
    for (const m of shared) members.push(await compare(reads, l, base, m, family));
    vsBase.push(...withHolm(members));
  }

  let memberPairs: ReturnType<typeof withHolm<Awaited<ReturnType<typeof compare>>>> | null = null;
  const chosen = opts.compareMetric ? metrics.find((m) => m.id === opts.compareMetric) : undefined;
  if (chosen) {
    const pairs: Awaited<ReturnType<typeof compare>>[] = [];
    for (let i = 0; i < loaded.length; i++)
      for (let j = i + 1; j < loaded.length; j++) pairs.push(await compare(reads, loaded[i], loaded[j], chosen, `members pairwise: ${chosen.id}`));
    memberPairs = withHolm(pairs);
  }

  // The persona matrix (arms x dimensions) beside each constitution's signature.
  const dims = [...new Set(metrics.filter((m) => m.kind === "persona").map((m) => m.id.split(".")[1]))];
  const persona = {
    dimensions: dims,
    arms: armNames.map((arm) => ({
      arm,
      dimensions: dims.map((d) => {
        const a = arms.find((a) => a.arm === arm && a.metric === `persona.${d}.match`);
        return { dimension: d, ...(a ? figures(a) : NO_FIGURE), replicates: a?.replicates ?? 0 };
      }),
    })),
    base: dims.map((d) => {
      const c = cellOf(base.model.endpointId, `persona.${d}.match`);
      return { dimension: d, ...(c ? figures(c) : NO_FIGURE) };
    }),
    signatures: [...constitutions().values()].map((c) => ({
      constitution: c.id,
      version: c.signature.version,
      weights: c.signature.weights,
      contrasts: c.signature.contrasts,
    })),
  };

  // Projectability (cosine with the own constitution's signature, paired bootstrap against the base; ours) per member and arm.
  const basePersona = base.byKind.get("persona");
  const baseSamples = basePersona ? await reads.personaItems(basePersona.id) : [];
  const perMember = [] as {
    endpointId: string;
    arm: string;
    replicate: number;
    constitution: string | null;
    cosine: StudyReport["projectability"]["members"][number]["cosine"];
    reason?: string;
  }[];
  for (const l of loaded) {
    const own = l.model.constitution ? getConstitution(l.model.constitution) : undefined;
    const run = l.byKind.get("persona");
    const head = { endpointId: l.model.endpointId, arm: l.model.arm!, replicate: l.model.replicate!, constitution: l.model.constitution };
    if (!own) perMember.push({ ...head, cosine: null, reason: "the member declares no constitution" });
    else if (!run || !basePersona) perMember.push({ ...head, cosine: null, reason: "needs persona runs of the member and the base" });
    else {
      const p = projectability(await reads.personaItems(run.id), baseSamples, own);
      perMember.push("unavailable" in p ? { ...head, cosine: null, reason: p.unavailable } : { ...head, cosine: p.cosine });
    }
  }
  const projectabilityPerArm = armNames.map((arm) => {
    const reps = perMember.filter((p) => p.arm === arm && p.cosine);
    if (reps.length >= 2)
      return { arm, replicates: reps.length, ...clusteredMean(reps.map((r) => [r.cosine!.estimate])), method: "t-interval over replicate cosines" };
    if (reps.length === 1)
      return {
        arm,
        replicates: 1,
        estimate: reps[0].cosine!.estimate,
        lo: reps[0].cosine!.lo,
        hi: reps[0].cosine!.hi,
        n: 1,
        clusters: 1,
        method: "paired bootstrap over items (one replicate)",
      };
    return {
      arm,
      replicates: 0,
      estimate: null,
      lo: null,
      hi: null,
      n: 0,
      clusters: 0,
      method: "none",
      reason: perMember.find((p) => p.arm === arm)?.reason ?? "no member",
    };
  });

  return {
    models: all.map((l) => l.model),
    kinds: [...new Set(metrics.map((m) => m.kind))],
    metrics,
    cells,
    arms,
    vsBase,
    compare: opts.compareMetric
      ? chosen
        ? { metric: chosen.id, pairs: memberPairs! }
        : { metric: opts.compareMetric, available: false, reason: "no model has this metric" }
      : null,
    persona,
    projectability: {
      label: "ours: cosine of the delta against the base with the constitution's signature (docs/projectability.md)",
      members: perMember,
      arms: projectabilityPerArm,
    },
    dimensionsCanonical: [...CANONICAL_DIMENSIONS],
    notes: [
      "each cell: estimate with n, clusters (items) and a 95% CI from the metric layer (src/metrics)",
      "arms: with two or more replicates the replicate is the unit; with one, the item-level interval",
      "vs base: member minus base on the (item, sample) pairs both runs have (dropped = observations without a partner); Holm across each member's metrics",
    ],
  };
}

export type { StudyReport };

const NO_FIGURE = { estimate: null, n: 0, clusters: 0, lo: null, hi: null, method: "none", reason: "no estimate" };

/** Only the figures of an estimate (the persona matrix repeats no metric descriptions). */
function figures(e: Estimate): Estimate {
  return { estimate: e.estimate, n: e.n, clusters: e.clusters, lo: e.lo, hi: e.hi, method: e.method, ...(e.reason ? { reason: e.reason } : {}) };
}
