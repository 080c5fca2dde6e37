/**
 * @module http/events: `GET /v1/runs/{id}/events`, a run's progress as server-sent events. Each tick reads the
 * stored rows again (no counters in memory), so what the stream says is what GET /v1/runs/{id} would say.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { getDb } from "../db/client";
import { getRun } from "../db/queries/runs";
import type { AppEnv } from "../env";
import { progressSnapshot } from "../reports/progress";
import { visibleRun } from "./privacy";
import { errors, IdParam } from "./schemas";

/** Default milliseconds between two progress events (one D1 read each). */
export const EVENTS_INTERVAL_MS = 1000;
/**
 * A stream ends after this long (ours): a client's EventSource reconnects on its own (the `retry` field), and no
 * invocation keeps polling D1 for a client that went away unnoticed.
 */
export const EVENTS_MAX_SECONDS = 300;
const FINISHED = new Set(["completed", "cancelled"]);

const route = createRoute({
  method: "get",
  path: "/v1/runs/{id}/events",
  summary: "Live progress (server-sent events)",
  description:
    "`event: progress` about every `interval` ms with the counts of GET /v1/runs/{id}, counts per stage, calls per second, ETA and failures by reason (the reasons only with the admin key); `event: done` once the run is completed or cancelled, then the stream ends. A stream also ends after 300 s; EventSource reconnects by itself. Private endpoints' runs answer 404 without the key.",
  request: {
    params: IdParam,
    query: z.object({
      interval: z.coerce
        .number()
        .int()
        .min(200)
        .max(10_000)
        .default(EVENTS_INTERVAL_MS)
        .openapi({ description: "Milliseconds between events (200-10000, default 1000)" }),
    }),
  },
  responses: { 200: { content: { "text/event-stream": { schema: z.string() } }, description: "Server-sent events" }, ...errors },
});

export const eventRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const db = getDb(c.env.DB);
  const { run } = await visibleRun(c, db, c.req.valid("param").id);
  const { interval } = c.req.valid("query");
  const admin = c.get("isAdmin");
  c.header("cache-control", "no-store");
  c.header("x-accel-buffering", "no");
  return streamSSE(c, async (stream) => {
    const deadline = Date.now() + EVENTS_MAX_SECONDS * 1000;
    let seq = 0;
    let current = run;
    for (;;) {
      const snapshot = await progressSnapshot(db, c.env.DB, current, admin);
      const finished = FINISHED.has(snapshot.status);
      await stream.writeSSE({ event: finished ? "done" : "progress", id: String(seq++), data: JSON.stringify(snapshot), retry: interval });
      if (finished || stream.aborted || Date.now() >= deadline) break;
      await stream.sleep(interval);
      if (stream.aborted) break;
      current = await getRun(db, run.id);
    }
  }) as never;
});
