/** @module index: the worker: HTTP API, queue consumers, the cron tick, the training workflow and the per-endpoint rate gate. */
import type { Env } from "./env";
import { runScheduled } from "./cron";
import { createApp } from "./http/app";
import { handleDeadLetters, handleWorkQueue } from "./queue/consumer";
import { withDuplicateDeliveries } from "./queue/messages";

export { EndpointGate } from "./providers/gate";
export { TrainingPipeline } from "./training/pipeline";

const app = createApp();

/** The dead-letter queue's name ends in "-dlq" (wrangler.toml). */
const isDeadLetterQueue = (name: string) => name.endsWith("-dlq");

// DUPLICATE_DELIVERIES=1 (the chaos script) sends every work message twice, from every producer.
export default {
  fetch: (req, env, ctx) => app.fetch(req, withDuplicateDeliveries(env), ctx),
  async queue(batch, env) {
    if (isDeadLetterQueue(batch.queue)) await handleDeadLetters(batch, withDuplicateDeliveries(env));
    else await handleWorkQueue(batch, withDuplicateDeliveries(env));
  },
  async scheduled(controller, env) {
    await runScheduled(withDuplicateDeliveries(env), controller.scheduledTime);
  },
} satisfies ExportedHandler<Env>;
