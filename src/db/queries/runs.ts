/** @module db/queries/runs: run rows and progress, counted from stored unit rows (never from counters). */
import { and, count, eq, gt, sql } from "drizzle-orm";
import { notFound } from "../../lib/errors";
import type { Db } from "../client";
import { runs, units } from "../schema";

export type RunRow = typeof runs.$inferSelect;

export async function getRun(db: Db, id: string): Promise<RunRow> {
  const row = await db.select().from(runs).where(eq(runs.id, id)).get();
  if (!row) throw notFound("run", id);
  return row;
}

/** Units of one stage group: asks (stage 0), judgments (judge and critic calls) or model follow-ups (later model stages). */
export interface StageProgress {
  /** asks: the plan's first-stage units; judgments and follow-ups: the rows created so far (they appear with their parent's answer). */
  expected: number;
  planned: number;
  done: number;
  failed: number;
  pending: number;
}

export interface RunProgress {
  /** Every unit known so far: the plan's first-stage units plus the follow-up units created so far; `done` never exceeds it. */
  expected: number;
  /** Units the plan holds (first-stage units: one per item, variant and sample). */
  expectedFirstStage: number;
  /** First-stage units stored so far; planning is finished when this reaches `expectedFirstStage`. */
  plannedFirstStage: number;
  /** Unit rows of every stage (follow-ups such as judge calls are added as answers arrive). */
  planned: number;
  done: number;
  failed: number;
  pending: number;
  retrying: number;
  /** Per stage group, each with its own expected count. */
  stages: { asks: StageProgress; judgments: StageProgress; followUps: StageProgress };
}

const STAGE_GROUP = sql<string>`CASE WHEN ${units.stage} = 0 THEN 'asks' WHEN ${units.judge} IS NOT NULL THEN 'judgments' ELSE 'followUps' END`;

export async function runProgress(db: Db, run: RunRow): Promise<RunProgress> {
  const [byGroup, retrying] = await Promise.all([
    db.select({ group: STAGE_GROUP, status: units.status, n: count() }).from(units).where(eq(units.runId, run.id)).groupBy(STAGE_GROUP, units.status).all(),
    db
      .select({ n: count() })
      .from(units)
      .where(and(eq(units.runId, run.id), eq(units.status, "pending"), gt(units.attempts, 0)))
      .get(),
  ]);
  const stage = (group: string): StageProgress => {
    const mine = byGroup.filter((r) => r.group === group);
    const of = (s: string) => mine.find((r) => r.status === s)?.n ?? 0;
    const planned = mine.reduce((a, r) => a + r.n, 0);
    return {
      expected: group === "asks" ? Math.max(run.expectedUnits, planned) : planned,
      planned,
      done: of("done"),
      failed: of("failed"),
      pending: of("pending"),
    };
  };
  const stages = { asks: stage("asks"), judgments: stage("judgments"), followUps: stage("followUps") };
  const all = Object.values(stages);
  const sum = (k: keyof StageProgress) => all.reduce((a, s) => a + s[k], 0);
  return {
    expected: sum("expected"),
    expectedFirstStage: run.expectedUnits,
    plannedFirstStage: stages.asks.planned,
    planned: sum("planned"),
    done: sum("done"),
    failed: sum("failed"),
    pending: sum("pending"),
    retrying: retrying?.n ?? 0,
    stages,
  };
}

/** Status for display: "planning" until every planned unit row exists. */
export function displayStatus(run: RunRow, p: RunProgress): string {
  if (run.status === "running" && p.plannedFirstStage < p.expectedFirstStage) return "planning";
  return run.status;
}

/** Marks the run completed when its plan is fully stored and no unit is pending. */
export async function completeIfFinished(db: Db, runId: string): Promise<boolean> {
  const pending = await db
    .select({ id: units.id })
    .from(units)
    .where(and(eq(units.runId, runId), eq(units.status, "pending")))
    .limit(1)
    .get();
  if (pending) return false;
  const run = await db.select().from(runs).where(eq(runs.id, runId)).get();
  if (!run || run.status !== "running") return false;
  // Follow-up units (judge calls) are created in the same write as the answer they follow, so once every
  // first-stage unit exists and nothing is pending, nothing more can appear.
  const firstStage = await db
    .select({ n: count() })
    .from(units)
    .where(and(eq(units.runId, runId), eq(units.stage, 0)))
    .get();
  if ((firstStage?.n ?? 0) < run.expectedUnits) return false;
  await db
    .update(runs)
    .set({ status: "completed", completedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")));
  return true;
}

/** Why two runs cannot be compared, or null when they can (same suite versions, scoring mode and sampling). */
export function incomparability(
  a: Pick<RunRow, "suiteVersionIds" | "scoringMode" | "samplesPerItem" | "temperature" | "itemLimit" | "seed">,
  b: typeof a,
): string | null {
  const sv = (r: typeof a) => [...r.suiteVersionIds].sort().join(",");
  if (sv(a) !== sv(b)) return `suite versions differ (${sv(a)} vs ${sv(b)})`;
  if (a.scoringMode !== b.scoringMode) return `scoring modes differ (${a.scoringMode} vs ${b.scoringMode})`;
  if (a.samplesPerItem !== b.samplesPerItem) return `samples per item differ (${a.samplesPerItem} vs ${b.samplesPerItem})`;
  if (a.temperature !== b.temperature) return `temperatures differ (${a.temperature} vs ${b.temperature})`;
  if (a.itemLimit !== b.itemLimit || (a.itemLimit != null && a.seed !== b.seed)) return "item limits or sampling seeds differ, so the items differ";
  return null;
}
