/**
 * @module cron: the scheduled handler (wrangler.toml [triggers]). Each tick: finishes datasets whose generation run
 * completed without its hook running, asks providers about training jobs whose webhook never came, restarts or fails
 * pipelines whose workflow instance is missing or errored, starts the re-scores that are due, and sweeps stalled runs
 * (src/queue/sweep.ts).
 */
import { config, DEFAULT_POLL_AFTER_MINUTES } from "./config";
import { and, eq, inArray, ne } from "drizzle-orm";
import { getDb } from "./db/client";
import { datasets, runs, trainingJobs } from "./db/schema";
import { kickGenerationRun } from "./datasets/datasets";
import { finishDatasetsOfRuns } from "./datasets/export";
import type { Env } from "./env";
import { sweepStalledRuns } from "./queue/sweep";
import { scheduledRescores } from "./rescore/rescore";
import { failJob, pollProvider, startPipeline } from "./training/jobs";
import { pruneDeliveries } from "./webhooks/deliveries";

export { DEFAULT_POLL_AFTER_MINUTES };
/** A generation run with no unit change for this long has lost its messages; its pending work is sent again (ours). */
export const STALLED_AFTER_MINUTES = 10;
const OPEN_JOB_STATES = ["pending", "dataset", "submitted", "running", "trained"];

async function step(name: string, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    console.error(JSON.stringify({ event: "cron.error", step: name, error: err instanceof Error ? err.message : String(err) }));
    return null;
  }
}

export async function runScheduled(env: Env, scheduledTime: number) {
  const db = getDb(env.DB);
  const datasetsDone = await step("datasets", async () => {
    const rows = await db
      .select({ runId: datasets.runId })
      .from(datasets)
      .innerJoin(runs, eq(runs.id, datasets.runId))
      .where(and(eq(datasets.status, "generating"), ne(runs.status, "running")))
      .all();
    const finished = (
      await finishDatasetsOfRuns(
        env,
        db,
        rows.map((r) => r.runId!),
      )
    ).length;
    // Generation runs that stopped moving (a lost queue message): send their pending work again.
    const stalledBefore = new Date(scheduledTime - STALLED_AFTER_MINUTES * 60_000).toISOString();
    const open = await db
      .select()
      .from(datasets)
      .innerJoin(runs, eq(runs.id, datasets.runId))
      .where(and(eq(datasets.status, "generating"), eq(runs.status, "running")))
      .all();
    for (const { datasets: ds } of open) {
      const last = await env.DB.prepare("SELECT max(updated_at) AS at FROM units WHERE run_id = ?").bind(ds.runId).first<{ at: string | null }>();
      if ((last?.at ?? ds.createdAt) < stalledBefore)
        console.warn(JSON.stringify({ event: "dataset.stalled", datasetId: ds.id, resent: await kickGenerationRun(env, db, ds) }));
    }
    return finished;
  });
  const polled = await step("training", async () => {
    const cutoff = new Date(scheduledTime - config(env).trainingPollAfterMinutes * 60_000).toISOString();
    const open = await db.select().from(trainingJobs).where(inArray(trainingJobs.status, OPEN_JOB_STATES)).all();
    let n = 0;
    for (const job of open) {
      await step(`job ${job.id}`, async () => {
        let status: string | null = null;
        try {
          status = (await (await env.TRAINING_PIPELINE.get(job.id)).status()).status;
        } catch {
          status = null;
        }
        if (status === null) await startPipeline(env, job.id);
        else if (status === "errored" || status === "terminated") await failJob(env, job.id, `the pipeline workflow ${status}`);
        else if ((job.status === "submitted" || job.status === "running") && job.providerJobId && (job.lastEventAt ?? job.updatedAt) <= cutoff) {
          await pollProvider(env, db, job);
          n++;
        }
      });
    }
    return n;
  });
  const rescored = await step("rescore", () => scheduledRescores(env, db, scheduledTime));
  // Delivery ids older than the replay window can no longer be replayed (their timestamps are refused).
  const pruned = await step("webhook-deliveries", () => pruneDeliveries(db, scheduledTime));
  // Every run that stopped moving (a dead-lettered plan, lost work messages): re-plan, re-enqueue, complete.
  const swept = (await step("sweep", () => sweepStalledRuns(env, db))) as Awaited<ReturnType<typeof sweepStalledRuns>> | null;
  const summary = {
    event: "cron.tick",
    datasetsFinished: datasetsDone,
    jobsPolled: polled,
    rescores: Array.isArray(rescored) ? rescored.filter((r) => r.created).length : null,
    runsReplanned: swept?.replanned.length ?? null,
    unitsResent: swept ? swept.resent.reduce((a, r) => a + r.units, 0) : null,
  };
  console.log(JSON.stringify(summary));
  return { datasetsFinished: datasetsDone, jobsPolled: polled, rescores: rescored, deliveriesPruned: pruned, swept };
}
