/**
 * @module queue/run-lifecycle: the three steps every caller that (re)starts a run takes, written once: plan a
 * stored run again while its first-stage units are not all stored (a crash between the insert and the plan
 * messages), re-enqueue the units that have no stored answer, and resume a run (failed units get a fresh start).
 * Used by http/runs.ts (resume), rescore/rescore.ts, datasets/datasets.ts and training/jobs.ts. Duplicate plan or
 * work messages are harmless: unit inserts ignore conflicts and the consumer checks each unit before calling.
 */
import { and, count, eq, isNull, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { responses, runs, units } from "../db/schema";
import type { Env } from "../env";
import { sendAll, workMessages } from "./messages";
import { planMessages } from "./planner";

/** Sends the plan again when fewer first-stage units are stored than the run expects; true when it did. */
export async function ensurePlanned(env: Pick<Env, "WORK_QUEUE">, db: Db, run: { id: string; expectedUnits: number }): Promise<boolean> {
  const planned = await db
    .select({ n: count() })
    .from(units)
    .where(and(eq(units.runId, run.id), eq(units.stage, 0)))
    .get();
  if ((planned?.n ?? 0) >= run.expectedUnits) return false;
  await sendAll(env.WORK_QUEUE, planMessages(run.id, run.expectedUnits));
  return true;
}

/**
 * Re-sends the work of every unit that is not done and has no stored response (`pendingOnly`: only `pending` ones,
 * leaving failed units alone). A unit marked done without a response cannot exist: both are written in one batch.
 */
export async function reenqueueUnanswered(env: Pick<Env, "WORK_QUEUE">, db: Db, runId: string, opts: { pendingOnly?: boolean } = {}): Promise<number> {
  const missing = await db
    .select({ id: units.id })
    .from(units)
    .leftJoin(responses, and(eq(responses.runId, units.runId), eq(responses.unitId, units.id)))
    .where(and(eq(units.runId, runId), opts.pendingOnly ? eq(units.status, "pending") : ne(units.status, "done"), isNull(responses.unitId)))
    .all();
  if (missing.length)
    await sendAll(
      env.WORK_QUEUE,
      workMessages(
        runId,
        missing.map((m) => m.id),
      ),
    );
  return missing.length;
}

/** Resumes a run: running again, failed units pending with a fresh attempt count, the plan completed, unanswered units re-sent. */
export async function resumeRun(env: Pick<Env, "WORK_QUEUE">, db: Db, run: { id: string; expectedUnits: number }): Promise<number> {
  const at = new Date().toISOString();
  await db.update(runs).set({ status: "running", completedAt: null, updatedAt: at }).where(eq(runs.id, run.id));
  // Failed units get a fresh start; units with a stored response are never asked again.
  await db
    .update(units)
    .set({ status: "pending", attempts: 0, updatedAt: at })
    .where(and(eq(units.runId, run.id), eq(units.status, "failed")));
  await ensurePlanned(env, db, run);
  return reenqueueUnanswered(env, db, run.id);
}
