/**
 * @module training/pipeline: the durable dataset -> training -> endpoint -> evaluation sequence, as a Cloudflare
 * Workflow (instance id = training job id). Each step's result is stored by the Workflows engine; a step that dies
 * midway runs again, and every step is idempotent (training/jobs.ts), so a crash at any point resumes without
 * duplicating the dataset, the provider job, the endpoint or the evaluation run. Waits use `step.waitForEvent`: the
 * dataset finaliser and the training webhook send the events; a timed-out wait looks again on its own.
 */
import { config } from "../config";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import type { Env } from "../env";
import { completeJob, datasetState, failJob, pipelineDataset, registerEndpoint, startEvaluation, submitJob, trainingState } from "./jobs";

/** Waits for the dataset before looking again without an event (ours: generation takes minutes to hours). */
export const DATASET_WAIT_SECONDS = 600;
/** Waits for the training webhook before asking the provider (ours: fine-tuning takes tens of minutes to hours). */
export const TRAINING_WAIT_SECONDS = 3600;
/** Most waits per phase (ours: keeps an instance under the Workflows step limit; about 33 h of generation, 8 days of training). */
export const MAX_WAITS = 200;
/** Retries of a failed step, with exponential backoff from PIPELINE_RETRY_DELAY_MS (ours). */
export const STEP_RETRIES = 10;

function seconds(env: Env, fallback: number): number {
  return config(env).pipelineWaitSeconds ?? fallback;
}

export class TrainingPipeline extends WorkflowEntrypoint<Env, { jobId: string }> {
  async run(event: WorkflowEvent<{ jobId: string }>, step: WorkflowStep): Promise<Record<string, unknown>> {
    const env = this.env;
    const { jobId } = event.payload;
    const cfg: WorkflowStepConfig = {
      retries: { limit: STEP_RETRIES, delay: config(env).pipelineRetryDelayMs, backoff: "exponential" },
      timeout: "10 minutes",
    };

    const ds = await step.do("dataset", cfg, () => pipelineDataset(env, jobId));
    let dsStatus = ds.status;
    let done: number | null = null;
    for (let i = 0; dsStatus === "generating"; i++) {
      if (i >= MAX_WAITS) dsStatus = "timed out";
      else {
        await waitFor(step, `dataset-ready-${i}`, "dataset-finished", seconds(env, DATASET_WAIT_SECONDS));
        const previous: number | null = done;
        const checked: { status: string; done: number | null } = await step.do(`dataset-check-${i}`, cfg, () => datasetState(env, jobId, previous));
        dsStatus = checked.status;
        done = checked.done;
      }
    }
    if (dsStatus !== "released") return step.do("fail-dataset", cfg, () => failJob(env, jobId, `dataset ${ds.datasetId} was not released (${dsStatus})`));

    const submitted = await step.do("submit", cfg, () => submitJob(env, jobId));
    if (submitted.status === "failed") return submitted;

    let state = await step.do("training-check-0", cfg, () => trainingState(env, jobId, false));
    for (let i = 1; state === "submitted" || state === "running"; i++) {
      if (i > MAX_WAITS) return step.do("fail-training-timeout", cfg, () => failJob(env, jobId, "no word from the provider in the allowed time"));
      await waitFor(step, `training-finished-${i}`, "training-finished", seconds(env, TRAINING_WAIT_SECONDS));
      state = await step.do(`training-check-${i}`, cfg, () => trainingState(env, jobId, true));
    }
    if (state !== "trained") return { status: state };

    const endpointId = await step.do("endpoint", cfg, () => registerEndpoint(env, jobId));
    const runId = await step.do("evaluate", cfg, () => startEvaluation(env, jobId));
    await step.do("complete", cfg, () => completeJob(env, jobId));
    return { status: "completed", endpointId, runId };
  }
}

/** Waits for an event; a timeout is normal (the next step looks again), so it is swallowed. */
async function waitFor(step: WorkflowStep, name: string, type: string, timeoutSeconds: number): Promise<void> {
  try {
    await step.waitForEvent(name, { type, timeout: timeoutSeconds * 1000 });
  } catch {
    // Timed out: look again without the event.
  }
}
