/** Nothing stuck: dead-lettered plans, lost work messages and a restarted rate gate. */
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { runScheduled } from "../../src/cron";
import worker from "../../src/index";
import { EndpointGate } from "../../src/providers/gate";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

async function deliverDeadLetters(bodies: unknown[]) {
  const batch = createMessageBatch(
    "projectability-dlq",
    bodies.map((body, i) => ({ id: `dlq${i}`, timestamp: new Date(), attempts: 7, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("stuck runs", () => {
  it("a dead-lettered plan message marks the run with a reason and the cron re-plans it", async () => {
    const tag = uniqueTag("dlqplan");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`dlqplan-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 21, limit: 6 });
    await waitForRun(run.id);
    // As if the plan message never got through: no units, the run still running.
    await env.DB.prepare("DELETE FROM responses WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("DELETE FROM units WHERE run_id = ?").bind(run.id).run();
    await env.DB.prepare("UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?").bind(run.id).run();
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await deliverDeadLetters([{ v: 1, kind: "plan", runId: run.id, offset: 0, count: 6 }]);
    spy.mockRestore();
    expect(result.ackAll).toBe(true);
    const marked = await env.DB.prepare("SELECT status, stall_reason FROM runs WHERE id = ?")
      .bind(run.id)
      .first<{ status: string; stall_reason: string | null }>();
    expect(marked).toMatchObject({ status: "running" });
    expect(marked!.stall_reason).toMatch(/plan slice at offset 0 reached the dead-letter queue/);

    const tick = await runScheduled(env, Date.now());
    expect(tick.swept?.replanned).toContain(run.id);
    const done = await waitForRun(run.id);
    expect(done.counts).toMatchObject({ done: 6, pending: 0 });
    const after = await env.DB.prepare("SELECT stall_reason FROM runs WHERE id = ?").bind(run.id).first<{ stall_reason: string | null }>();
    expect(after!.stall_reason).toBeNull();
  });

  it("the cron re-enqueues pending units that lost their message, and leaves fresh or leased ones alone", async () => {
    const tag = uniqueTag("sweep");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`sweep-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 22, limit: 6 });
    await waitForRun(run.id);
    const ids = (await env.DB.prepare("SELECT id FROM units WHERE run_id = ? ORDER BY id").bind(run.id).all<{ id: string }>()).results.map((r) => r.id);
    const [lost1, lost2, fresh, leased] = ids;
    await env.DB.prepare("DELETE FROM responses WHERE unit_id IN (?, ?, ?, ?)").bind(lost1, lost2, fresh, leased).run();
    const hourAgo = new Date(Date.now() - 3600_000).toISOString();
    await env.DB.prepare("UPDATE units SET status = 'pending', updated_at = ? WHERE id IN (?, ?)").bind(hourAgo, lost1, lost2).run();
    await env.DB.prepare("UPDATE units SET status = 'pending' WHERE id = ?").bind(fresh).run();
    await env.DB.prepare(
      "UPDATE units SET status = 'pending', updated_at = ?, lease_id = 'busy', lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds') WHERE id = ?",
    )
      .bind(hourAgo, leased)
      .run();
    await env.DB.prepare("UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?").bind(run.id).run();
    const before = (await simStats(model)).requests;
    // What `npm start` lists to resume after a local stop.
    const listed = await api("GET", "/v1/runs?status=running&limit=200");
    expect(listed.json.runs.map((r: { id: string }) => r.id)).toContain(run.id);
    expect(listed.json.runs.every((r: { status: string }) => r.status === "running" || r.status === "planning")).toBe(true);

    const tick = await runScheduled(env, Date.now());
    expect(tick.swept?.resent).toContainEqual({ runId: run.id, units: 2 });
    await vi.waitUntil(
      async () =>
        (await env.DB.prepare("SELECT count(*) AS n FROM units WHERE id IN (?, ?) AND status = 'done'").bind(lost1, lost2).first<{ n: number }>())!.n === 2,
      { timeout: 15_000, interval: 100 },
    );
    expect((await simStats(model)).requests - before).toBe(2);
    const rest = await env.DB.prepare("SELECT id, status FROM units WHERE id IN (?, ?)").bind(fresh, leased).all<{ id: string; status: string }>();
    expect(rest.results.every((r) => r.status === "pending")).toBe(true);
    expect((await api("GET", `/v1/runs/${run.id}`)).json.status).toBe("running");
  });

  it("the rate gate keeps its window and open leases across a restart", async () => {
    const stub = env.ENDPOINT_GATE.get(env.ENDPOINT_GATE.idFromName(uniqueTag("gate")));
    const limits = { maxConcurrency: 10, requestsPerMinute: 3 };
    const grants = [];
    for (let i = 0; i < 3; i++) grants.push(await stub.acquire(limits, 30_000, 0));
    expect(grants.every((g) => g.granted)).toBe(true);
    await stub.release((grants[0] as { leaseId: string }).leaseId);
    await runInDurableObject(stub, async (_instance, state) => {
      // A fresh instance over the same storage is what an eviction or a deploy leaves.
      const restarted = new EndpointGate(state, env);
      expect(await restarted.snapshot()).toMatchObject({ inFlight: 2, startedLastMinute: 3, limits });
      const next = await restarted.acquire(limits, 30_000, 0);
      expect(next.granted).toBe(false);
      expect((next as { waitMs: number }).waitMs).toBeGreaterThan(50_000);
    });
  });
});
