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

export interface RunProgress {
  /** Units the plan holds (first-stage units: one per item and sample). */
  expected: number;
  /** First-stage units stored so far; planning is finished when this reaches `expected`. */
  plannedFirstStage: number;
  /** Unit rows of every stage (follow-ups such as judge calls are added as answers arrive). */
  planned: number;
  done: number;
  failed: number;
  pending: number;
  retrying: number;
}

export async function runProgress(db: Db, run: RunRow): Promise<RunProgress> {
  const [byStatus, retrying, firstStage] = await Promise.all([
    db.select({ status: units.status, n: count() }).from(units).where(eq(units.runId, run.id)).groupBy(units.status).all(),
    db.select({ n: count() }).from(units).where(and(eq(units.runId, run.id), eq(units.status, "pending"), gt(units.attempts, 0))).get(),
    db.select({ n: count() }).from(units).where(and(eq(units.runId, run.id), eq(units.stage, 0))).get(),
  ]);
  const of = (s: string) => byStatus.find((r) => r.status === s)?.n ?? 0;
  const planned = byStatus.reduce((a, r) => a + r.n, 0);
  return {
    expected: run.expectedUnits,
    plannedFirstStage: firstStage?.n ?? 0,
    planned,
    done: of("done"),
    failed: of("failed"),
    pending: of("pending"),
    retrying: retrying?.n ?? 0,
  };
}

/** Status for display: "planning" until every planned unit row exists. */
export function displayStatus(run: RunRow, p: RunProgress): string {
  if (run.status === "running" && p.plannedFirstStage < p.expected) return "planning";
  return run.status;
}

/** Marks the run completed when its plan is fully stored and no unit is pending. */
export async function completeIfFinished(db: Db, runId: string): Promise<boolean> {
  const pending = await db.select({ id: units.id }).from(units).where(and(eq(units.runId, runId), eq(units.status, "pending"))).limit(1).get();
  if (pending) return false;
  const run = await db.select().from(runs).where(eq(runs.id, runId)).get();
  if (!run || run.status !== "running") return false;
  // Follow-up units (judge calls) are created in the same write as the answer they follow, so once every
  // first-stage unit exists and nothing is pending, nothing more can appear.
  const firstStage = await db.select({ n: count() }).from(units).where(and(eq(units.runId, runId), eq(units.stage, 0))).get();
  if ((firstStage?.n ?? 0) < run.expectedUnits) return false;
  await db
    .update(runs)
    .set({ status: "completed", completedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")));
  return true;
}

/** Why two runs cannot be compared, or null when they can (same suite versions, scoring mode and sampling). */
export function incomparability(a: Pick<RunRow, "suiteVersionIds" | "scoringMode" | "samplesPerItem" | "temperature" | "itemLimit" | "seed">, b: typeof a): string | null {
  const sv = (r: typeof a) => [...r.suiteVersionIds].sort().join(",");
  if (sv(a) !== sv(b)) return `suite versions differ (${sv(a)} vs ${sv(b)})`;
  if (a.scoringMode !== b.scoringMode) return `scoring modes differ (${a.scoringMode} vs ${b.scoringMode})`;
  if (a.samplesPerItem !== b.samplesPerItem) return `samples per item differ (${a.samplesPerItem} vs ${b.samplesPerItem})`;
  if (a.temperature !== b.temperature) return `temperatures differ (${a.temperature} vs ${b.temperature})`;
  if (a.itemLimit !== b.itemLimit || (a.itemLimit != null && a.seed !== b.seed)) return "item limits or sampling seeds differ, so the items differ";
  return null;
}
