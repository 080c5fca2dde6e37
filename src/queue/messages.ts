/** @module queue/messages: every queue message kind, versioned and validated. */
import { z } from "zod";

/**
 * Units one work message carries. A few calls per message keeps a batch of 100 messages busy enough to fill an
 * endpoint's concurrency locally (miniflare delivers one batch at a time) while staying "a few model calls"
 * per message (platform-limits guide, Workers: 6 simultaneous connections per invocation).
 */
export const UNITS_PER_MESSAGE = 10;
/** Units planned per plan message: 100 work messages, the most one `sendBatch` takes (Queues limits). */
export const PLAN_CHUNK_UNITS = UNITS_PER_MESSAGE * 100;

export const planMessage = z.object({
  v: z.literal(1),
  kind: z.literal("plan"),
  runId: z.string(),
  offset: z.number().int().min(0),
  count: z.number().int().min(1).max(PLAN_CHUNK_UNITS),
});

export const workMessage = z.object({
  v: z.literal(1),
  kind: z.literal("work"),
  runId: z.string(),
  unitIds: z.array(z.string()).min(1).max(UNITS_PER_MESSAGE),
});

export const queueMessage = z.discriminatedUnion("kind", [planMessage, workMessage]);

export type PlanMessage = z.infer<typeof planMessage>;
export type WorkMessage = z.infer<typeof workMessage>;
export type QueueMessage = z.infer<typeof queueMessage>;

/** Queues' per-call limit on sendBatch (platform-limits guide: 100 messages or 256 KB). */
export const SEND_BATCH_MAX = 100;

/** Sends messages in batches of at most SEND_BATCH_MAX. */
export async function sendAll(queue: Queue<unknown>, bodies: QueueMessage[], delaySeconds = 0): Promise<void> {
  for (let i = 0; i < bodies.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(bodies.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body, delaySeconds })));
  }
}

/** Work messages for a list of unit ids, UNITS_PER_MESSAGE each. */
export function workMessages(runId: string, unitIds: string[]): WorkMessage[] {
  const out: WorkMessage[] = [];
  for (let i = 0; i < unitIds.length; i += UNITS_PER_MESSAGE) out.push({ v: 1, kind: "work", runId, unitIds: unitIds.slice(i, i + UNITS_PER_MESSAGE) });
  return out;
}

/**
 * The chaos script's duplicate deliveries: with DUPLICATE_DELIVERIES=1 every work message is sent twice (as two
 * sends, so each copy is its own delivery). Never set in production; the consumer must call each unit's model once.
 */
export function withDuplicateDeliveries<E extends { WORK_QUEUE: Queue<unknown>; DUPLICATE_DELIVERIES?: string }>(env: E): E {
  if (env.DUPLICATE_DELIVERIES !== "1") return env;
  const queue = env.WORK_QUEUE;
  const isWork = (body: unknown) => !!body && typeof body === "object" && (body as { kind?: unknown }).kind === "work";
  const twice = {
    send: async (body: unknown, options?: QueueSendOptions) => {
      await queue.send(body, options);
      if (isWork(body)) await queue.send(body, options);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest<unknown>>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      await queue.sendBatch(list, options);
      const work = list.filter((m) => isWork(m.body));
      if (work.length) await queue.sendBatch(work, options);
    },
  } as unknown as Queue<unknown>;
  return { ...env, WORK_QUEUE: twice };
}
