import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import type { WorkMessage } from "../../src/queue/messages";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

async function unitIdsOf(runId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM units WHERE run_id = ? ORDER BY id").bind(runId).all<{ id: string }>();
  return results.map((r) => r.id);
}

describe("at-least-once delivery", () => {
  it("a message delivered twice stores one row and calls the model once", async () => {
    const tag = uniqueTag("dup");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`dup-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 11, limit: 8 });
    await waitForRun(run.id);
    const ids = await unitIdsOf(run.id);
    expect(ids).toHaveLength(8);
    expect((await simStats(model)).requests).toBe(8);

    // Redeliver every unit, twice over, in one batch and then again in a second batch.
    const body: WorkMessage = { v: 1, kind: "work", runId: run.id, unitIds: ids.slice(0, 5) };
    const body2: WorkMessage = { v: 1, kind: "work", runId: run.id, unitIds: ids.slice(5) };
    for (let round = 0; round < 2; round++) {
      const batch = createMessageBatch("projectability-work", [
        { id: `a${round}`, timestamp: new Date(), attempts: 1, body },
        { id: `b${round}`, timestamp: new Date(), attempts: 1, body },
        { id: `c${round}`, timestamp: new Date(), attempts: 2, body: body2 },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.sort()).toEqual([`a${round}`, `b${round}`, `c${round}`]);
      expect(result.retryMessages).toEqual([]);
    }
    expect((await simStats(model)).requests).toBe(8);
    const stored = await env.DB.prepare("SELECT count(*) AS n, count(DISTINCT unit_id) AS d FROM responses WHERE run_id = ?").bind(run.id).first<{ n: number; d: number }>();
    expect(stored).toEqual({ n: 8, d: 8 });
  });

  it("concurrent duplicate work for a fresh unit still stores exactly one response", async () => {
    const tag = uniqueTag("dup2");
    const model = `base:latency=50,tag=${tag}`;
    const ep = await registerSim(`dup2-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 12, limit: 4 });
    await waitForRun(run.id);
    // Reset the units to pending (as if the first delivery died after calling the model) and deliver twice at once.
    await env.DB.prepare("DELETE FROM responses WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("UPDATE units SET status = 'pending' WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("UPDATE runs SET status = 'running' WHERE id = ?").bind(run.id).run();
    const ids = await unitIdsOf(run.id);
    const body: WorkMessage = { v: 1, kind: "work", runId: run.id, unitIds: ids };
    const deliver = async (id: string) => {
      const batch = createMessageBatch("projectability-work", [{ id, timestamp: new Date(), attempts: 1, body }]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      return getQueueResult(batch, ctx);
    };
    await Promise.all([deliver("x"), deliver("y")]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM responses WHERE run_id = ?").bind(run.id).first<{ n: number }>();
    expect(stored?.n).toBe(4);
    expect((await api("GET", `/v1/runs/${run.id}`)).json.counts).toMatchObject({ done: 4, pending: 0 });
  });

  it("an unreadable message is acked and logged, not retried forever", async () => {
    const batch = createMessageBatch("projectability-work", [{ id: "junk", timestamp: new Date(), attempts: 1, body: { hello: "world" } }]);
    const ctx = createExecutionContext();
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["junk"]);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});
