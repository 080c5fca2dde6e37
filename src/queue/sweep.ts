/**
 * @module queue/sweep: finds runs that stopped moving and sends their work again. A run stalls when a message is
 * lost (a plan message dead-lettered, wrangler dev stopped with messages in memory, a send that failed): its units
 * stay pending with no live message. Sending work twice is safe: a unit already stored or leased is never called again.
 */
import { and, count, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { chunk, type Db } from "../db/client";
import { completeIfFinished } from "../db/queries/runs";
import { runs, units } from "../db/schema";
import type { Env } from "../env";
import { sendAll, workMessages } from "./messages";
import { planMessages } from "./planner";
import { afterRunsCompleted } from "./run-hooks";

/**
 * A pending unit that has not changed for this long, and whose lease is free or expired, has no live message (ours:
 * longer than any retry backoff a unit sees in practice, base 2 s doubled over 6 retries, and than a gate deferral).
 */
export const STALLED_AFTER_SECONDS = 10 * 60;

export interface SweepResult {
  /** Runs whose plan was sent again (a dead-lettered plan message, or first-stage units missing). */
  replanned: string[];
  /** Runs with pending units re-enqueued, and how many units. */
  resent: { runId: string; units: number }[];
  /** Runs found finished and marked completed. */
  completed: string[];
}

/** The sweep's threshold: the STALLED_AFTER_SECONDS var when set (tests and the chaos script shrink it), else ours. */
export function stalledAfterSeconds(env: Env): number {
  const v = Number(env.STALLED_AFTER_SECONDS);
  return env.STALLED_AFTER_SECONDS !== undefined && env.STALLED_AFTER_SECONDS !== "" && Number.isFinite(v) && v >= 0 ? v : STALLED_AFTER_SECONDS;
}

/**
 * One sweep over every running run: re-plans runs whose plan is incomplete and not moving (or marked by the dead-letter
 * consumer), re-enqueues pending units that have not changed for `stalledAfterSeconds` and hold no live lease (and
 * touches them, so the next sweep waits again), and completes runs with nothing left.
 */
export async function sweepStalledRuns(env: Env, db: Db, stalledAfter: number = stalledAfterSeconds(env)): Promise<SweepResult> {
  const out: SweepResult = { replanned: [], resent: [], completed: [] };
  const cutoff = sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`-${stalledAfter} seconds`})`;
  const live = await db.select().from(runs).where(eq(runs.status, "running")).all();
  for (const run of live) {
    const firstStage =
      (
        await db
          .select({ n: count() })
          .from(units)
          .where(and(eq(units.runId, run.id), eq(units.stage, 0)))
          .get()
      )?.n ?? 0;
    if (firstStage < run.expectedUnits) {
      const last = await env.DB.prepare("SELECT max(created_at) AS at FROM units WHERE run_id = ?1").bind(run.id).first<{ at: string | null }>();
      const quiet = await env.DB.prepare("SELECT (?1 < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?2)) AS quiet")
        .bind(last?.at ?? run.updatedAt, `-${stalledAfter} seconds`)
        .first<{ quiet: number }>();
      if (run.stallReason || quiet?.quiet) {
        // Planning is idempotent (insert-if-absent), so the whole plan is sent again.
        await sendAll(env.WORK_QUEUE, planMessages(run.id, run.expectedUnits));
        await db
          .update(runs)
          .set({ stallReason: null, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
          .where(eq(runs.id, run.id));
        out.replanned.push(run.id);
      }
    } else if (run.stallReason) {
      await db
        .update(runs)
        .set({ stallReason: null })
        .where(and(eq(runs.id, run.id), isNotNull(runs.stallReason)));
    }
    const stalled = await db
      .select({ id: units.id })
      .from(units)
      .where(
        and(
          eq(units.runId, run.id),
          eq(units.status, "pending"),
          sql`${units.updatedAt} < ${cutoff}`,
          sql`(${units.leaseUntil} IS NULL OR ${units.leaseUntil} <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
        ),
      )
      .all();
    if (stalled.length) {
      const ids = stalled.map((u) => u.id);
      await sendAll(env.WORK_QUEUE, workMessages(run.id, ids));
      for (const part of chunk(ids, 90))
        await db
          .update(units)
          .set({ updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))` })
          .where(and(eq(units.runId, run.id), inArray(units.id, part), eq(units.status, "pending")));
      out.resent.push({ runId: run.id, units: ids.length });
    }
    if (await completeIfFinished(db, run.id)) out.completed.push(run.id);
  }
  await afterRunsCompleted(env, db, out.completed);
  if (out.replanned.length || out.resent.length) console.warn(JSON.stringify({ event: "sweep.stalled", replanned: out.replanned, resent: out.resent }));
  return out;
}
