/** @module index: the worker: HTTP API, queue consumers, the cron tick, the training workflow and the per-endpoint rate gate. */
import type { Env } from "./env";
import { runScheduled } from "./cron";
import { createApp } from "./http/app";
import { handleDeadLetters, handleWorkQueue } from "./queue/consumer";

export { EndpointGate } from "./providers/gate";
export { TrainingPipeline } from "./training/pipeline";

const app = createApp();

/** The dead-letter queue's name ends in "-dlq" (wrangler.toml). */
const isDeadLetterQueue = (name: string) => name.endsWith("-dlq");

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (isDeadLetterQueue(batch.queue)) await handleDeadLetters(batch, env);
    else await handleWorkQueue(batch, env);
  },
  async scheduled(controller, env) {
    await runScheduled(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
