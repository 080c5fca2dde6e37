/**
 * @module webhooks/training: provider status events. OpenAI-style `fine_tuning.job.succeeded | failed | cancelled`
 * carry only the provider's job id, so the job is fetched from the provider; our generic contract's
 * `training.job.*` events carry the status and the trained model. Unknown event types are ignored with a log line.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { trainingJobs } from "../db/schema";
import type { Env } from "../env";
import { genericStatus } from "../training/providers";
import { getJob, pollProvider, recordProviderStatus } from "../training/jobs";
import type { VerifiedDelivery } from "./deliveries";

export const OPENAI_EVENTS = ["fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"];
export const GENERIC_EVENTS = ["training.job.queued", "training.job.running", "training.job.succeeded", "training.job.failed", "training.job.cancelled"];

export interface Handled {
  outcome: "processed" | "ignored";
  subject: string | null;
  note?: string;
}

function ignored(d: VerifiedDelivery, note: string, subject: string | null = null): Handled {
  console.log(JSON.stringify({ event: "webhook.ignored", source: "training", type: d.type, deliveryId: d.deliveryId, note }));
  return { outcome: "ignored", subject, note };
}

export async function handleTrainingEvent(env: Env, db: Db, d: VerifiedDelivery): Promise<Handled> {
  if (OPENAI_EVENTS.includes(d.type)) {
    const providerJobId = typeof d.data.id === "string" ? d.data.id : null;
    if (!providerJobId) return ignored(d, "no job id in data.id");
    const job = await db
      .select()
      .from(trainingJobs)
      .where(and(eq(trainingJobs.provider, "openai"), eq(trainingJobs.providerJobId, providerJobId)))
      .get();
    if (!job) return ignored(d, `no training job of ours has provider job ${providerJobId}`);
    // The event says only that something happened: the job itself is the truth.
    await pollProvider(env, db, job, "webhook");
    return { outcome: "processed", subject: job.id };
  }
  if (GENERIC_EVENTS.includes(d.type)) {
    const jobId = typeof d.data.job_id === "string" ? d.data.job_id : null;
    const job = jobId ? await getJob(db, jobId).catch(() => null) : null;
    if (!job || job.provider !== "generic") return ignored(d, `no generic training job ${jobId}`);
    if (job.providerJobId && d.data.provider_job_id !== undefined && d.data.provider_job_id !== job.providerJobId) {
      return ignored(d, `provider job ${String(d.data.provider_job_id)} is not job ${job.id}'s (${job.providerJobId})`, job.id);
    }
    const status = genericStatus({ ...d.data, status: d.data.status ?? d.type.slice("training.job.".length) });
    await recordProviderStatus(env, db, job, status, "webhook", { deliveryId: d.deliveryId });
    return { outcome: "processed", subject: job.id };
  }
  return ignored(d, "unknown event type");
}
