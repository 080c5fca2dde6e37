/**
 * @module queue/run-hooks: work that follows a run's completion (a dataset's generation run finishes the dataset).
 * Never throws: a failure is logged and the cron sweep (src/cron.ts) finishes the job later.
 */
import type { Db } from "../db/client";
import { finishDatasetsOfRuns } from "../datasets/export";
import type { Env } from "../env";

export async function afterRunsCompleted(env: Env, db: Db, runIds: string[]): Promise<void> {
  if (!runIds.length) return;
  try {
    await finishDatasetsOfRuns(env, db, runIds);
  } catch (err) {
    console.error(JSON.stringify({ event: "run_hooks.error", runIds, error: err instanceof Error ? err.message : String(err) }));
  }
}
