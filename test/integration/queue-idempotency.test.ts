import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { RESULT_FLUSH_SIZE } from "../../src/queue/consumer";
import type { WorkMessage } from "../../src/queue/messages";
import { SUITE_KINDS } from "../../src/suites/kinds";
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
    const stored = await env.DB.prepare("SELECT count(*) AS n, count(DISTINCT unit_id) AS d FROM responses WHERE run_id = ?")
      .bind(run.id)
      .first<{ n: number; d: number }>();
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
    const before = (await simStats(model)).requests;
    await Promise.all([deliver("x"), deliver("y")]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM responses WHERE run_id = ?").bind(run.id).first<{ n: number }>();
    expect(stored?.n).toBe(4);
    // One call per unit: the second delivery finds each unit leased (or done) and calls nothing.
    const after = await simStats(model);
    expect(after.requests - before).toBe(4);
    expect(after.overlappingIds).toBe(0);
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

async function resetToPending(runId: string) {
  await env.DB.prepare("DELETE FROM responses WHERE run_id = ?").bind(runId).run();
  await env.DB.prepare("UPDATE units SET status = 'pending', lease_id = NULL, lease_until = NULL WHERE run_id = ?").bind(runId).run();
  await env.DB.prepare("UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?").bind(runId).run();
}

async function deliverBatch(messages: { id: string; body: WorkMessage }[]) {
  const batch = createMessageBatch(
    "projectability-work",
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("leases: at most one call per unit", () => {
  it("a unit leased by a live delivery is handed back uncalled; an expired lease is taken over", async () => {
    const tag = uniqueTag("lease");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`lease-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 13, limit: 2 });
    await waitForRun(run.id);
    await resetToPending(run.id);
    const [live, expired] = await unitIdsOf(run.id);
    await env.DB.prepare("UPDATE units SET lease_id = 'other', lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds') WHERE id = ?")
      .bind(live)
      .run();
    await env.DB.prepare("UPDATE units SET lease_id = 'dead', lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds') WHERE id = ?")
      .bind(expired)
      .run();
    const before = (await simStats(model)).requests;
    const result = await deliverBatch([{ id: "m", body: { v: 1, kind: "work", runId: run.id, unitIds: [live, expired] } }]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(["m"]);
    expect((await simStats(model)).requests - before).toBe(1);
    const rows = await env.DB.prepare("SELECT id, status, lease_id FROM units WHERE run_id = ?")
      .bind(run.id)
      .all<{ id: string; status: string; lease_id: string | null }>();
    const byId = new Map(rows.results.map((r) => [r.id, r]));
    expect(byId.get(expired)).toMatchObject({ status: "done", lease_id: null });
    // The live lease is left alone (its holder settles the unit).
    expect(byId.get(live)).toMatchObject({ status: "pending", lease_id: "other" });
  });
});

describe("per-unit isolation", () => {
  it("a scorer or request builder that throws fails its own unit with the reason; the batch goes on", async () => {
    const tag = uniqueTag("iso");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`iso-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 14, limit: 8 });
    await waitForRun(run.id);
    await resetToPending(run.id);
    const ids = await unitIdsOf(run.id);
    const [badScore, badRequest, badPrepare] = ids;
    const stage = SUITE_KINDS.persona.stages.ask;
    const realScore = stage.score;
    const realBuild = stage.buildRequest;
    const score = vi.spyOn(stage, "score");
    const build = vi.spyOn(stage, "buildRequest");
    score.mockImplementation(function (this: unknown, ctx, completion) {
      if (ctx.unit.id === badScore) throw new TypeError("Cannot read properties of null (reading 'trim')");
      return realScore.call(this, ctx, completion);
    });
    build.mockImplementation(function (this: unknown, ctx) {
      if (ctx.unit.id === badRequest) throw new Error("odd item payload");
      return realBuild.call(this, ctx);
    });
    // An infrastructure failure (here: loading what the request needs) retries that unit only.
    stage.prepare = async (_deps, ctx) => {
      if (ctx.unit.id === badPrepare) throw new Error("D1_ERROR: network connection lost");
      return { extra: {} };
    };
    const before = (await simStats(model)).requests;
    let result;
    try {
      result = await deliverBatch([
        { id: "p", body: { v: 1, kind: "work", runId: run.id, unitIds: ids.slice(0, 4) } },
        { id: "q", body: { v: 1, kind: "work", runId: run.id, unitIds: ids.slice(4) } },
      ]);
    } finally {
      score.mockRestore();
      build.mockRestore();
      delete stage.prepare;
    }
    // The message holding the transient unit is retried; the other is acked.
    expect(result.explicitAcks).toEqual(["q"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["p"]);
    // Six units were asked: not the one whose request could not be built, nor the one whose prepare failed.
    expect((await simStats(model)).requests - before).toBe(6);
    const rows = await env.DB.prepare("SELECT id, status, last_error, attempts FROM units WHERE run_id = ?")
      .bind(run.id)
      .all<{ id: string; status: string; last_error: string | null; attempts: number }>();
    const byId = new Map(rows.results.map((r) => [r.id, r]));
    expect(byId.get(badScore)!.status).toBe("failed");
    expect(byId.get(badScore)!.last_error).toMatch(/^score failed: TypeError/);
    expect(byId.get(badRequest)!.status).toBe("failed");
    expect(byId.get(badRequest)!.last_error).toMatch(/^buildRequest failed: Error: odd item payload/);
    expect(byId.get(badPrepare)).toMatchObject({ status: "pending", attempts: 1 });
    expect(byId.get(badPrepare)!.last_error).toMatch(/^prepare failed/);
    for (const id of ids.slice(3)) expect(byId.get(id)!.status).toBe("done");
  });
});

describe("durable progress", () => {
  it("answers are stored in bounded flushes while slower calls of the same batch are still out", async () => {
    const tag = uniqueTag("flush");
    const fast = `base:tag=${tag}`;
    const slow = `base:latency=1200,tag=${tag}s`;
    const fastEp = await registerSim(`flush-${tag}`, fast);
    const slowEp = await registerSim(`flush-slow-${tag}`, slow);
    const fastRun = await startRun({ endpointId: fastEp.id, seed: 15, limit: RESULT_FLUSH_SIZE + 5 });
    const slowRun = await startRun({ endpointId: slowEp.id, seed: 15, limit: 1 });
    await waitForRun(fastRun.id);
    await waitForRun(slowRun.id);
    await resetToPending(fastRun.id);
    await resetToPending(slowRun.id);
    const fastIds = await unitIdsOf(fastRun.id);
    const slowIds = await unitIdsOf(slowRun.id);
    const messages = [{ id: "slow", body: { v: 1, kind: "work", runId: slowRun.id, unitIds: slowIds } as WorkMessage }];
    for (let i = 0; i < fastIds.length; i += 5)
      messages.push({ id: `fast${i}`, body: { v: 1, kind: "work", runId: fastRun.id, unitIds: fastIds.slice(i, i + 5) } });
    let finished = false;
    const delivery = deliverBatch(messages).finally(() => (finished = true));
    let storedMidway = 0;
    await vi.waitUntil(
      async () => {
        const n = (await env.DB.prepare("SELECT count(*) AS n FROM responses WHERE run_id = ?").bind(fastRun.id).first<{ n: number }>())!.n;
        if (!finished) storedMidway = n;
        return n >= RESULT_FLUSH_SIZE || finished;
      },
      { timeout: 10_000, interval: 20 },
    );
    await delivery;
    // At least one flush of RESULT_FLUSH_SIZE answers was durable before the batch ended.
    expect(storedMidway).toBeGreaterThanOrEqual(RESULT_FLUSH_SIZE);
    const all = await env.DB.prepare("SELECT count(*) AS n FROM responses WHERE run_id IN (?, ?)").bind(fastRun.id, slowRun.id).first<{ n: number }>();
    expect(all!.n).toBe(RESULT_FLUSH_SIZE + 6);
  });
});
