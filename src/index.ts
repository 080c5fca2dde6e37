/** @module index: the worker: HTTP API, queue consumers, and the per-endpoint rate gate. */
import type { Env } from "./env";
import { createApp } from "./http/app";
import { handleDeadLetters, handleWorkQueue } from "./queue/consumer";

export { EndpointGate } from "./providers/gate";

const app = createApp();

/** The dead-letter queue's name ends in "-dlq" (wrangler.toml). */
const isDeadLetterQueue = (name: string) => name.endsWith("-dlq");

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (isDeadLetterQueue(batch.queue)) await handleDeadLetters(batch, env);
    else await handleWorkQueue(batch, env);
  },
} satisfies ExportedHandler<Env>;
