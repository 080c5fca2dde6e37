import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../src/cron";
import { getDb } from "../../src/db/client";
import { rescoreCheckpoint, slotStart } from "../../src/rescore/rescore";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";
import { postWebhook } from "../training-helpers";

const SECRET = () => env.RESCORE_WEBHOOK_SECRET!;

async function runsOf(endpointId: string) {
  return (
    await env.DB.prepare("SELECT id, endpoint_revision AS revision, seed, item_limit AS lim, config FROM runs WHERE endpoint_id = ? ORDER BY created_at")
      .bind(endpointId)
      .all<any>()
  ).results;
}

describe("re-scoring a new checkpoint", () => {
  it("bumps the revision and re-runs the suites with the last run's settings; a replay or a retried delivery does neither twice", async () => {
    const tag = uniqueTag("rc");
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`);
    const first = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], limit: 8, seed: 3 });
    await waitForRun(first.id);

    const id = `msg_${tag}`;
    const res = await postWebhook("/v1/webhooks/rescore", SECRET(), { type: "rescore.checkpoint", data: { endpointId: ep.id } }, { id });
    expect(res.status, res.text).toBe(200);
    expect(responseMismatches("POST", "/v1/webhooks/rescore", 200, res.json)).toEqual([]);
    expect(res.json.result).toMatchObject({ endpointId: ep.id, revision: "r2", previousRevision: "r1", created: true });
    expect((await api("GET", `/v1/endpoints/${ep.id}`)).json.revision).toBe("r2");
    const run = await waitForRun(res.json.result.runId);
    expect(run).toMatchObject({ endpointRevision: "r2", limit: 8, seed: 3, status: "completed" });
    expect((await api("GET", `/v1/endpoints/${ep.id}/report`)).json.run.id).toBe(run.id);

    const replay = await postWebhook("/v1/webhooks/rescore", SECRET(), { type: "rescore.checkpoint", data: { endpointId: ep.id } }, { id });
    expect(replay.json).toEqual({ received: true, duplicate: true });
    // The same delivery processed again (a crash before it was marked processed): same run, no second bump.
    const again = await rescoreCheckpoint(env, getDb(env.DB), { endpointId: ep.id }, `rescore:${id}`);
    expect(again).toMatchObject({ runId: run.id, revision: "r2", created: false });
    expect((await api("GET", `/v1/endpoints/${ep.id}`)).json.revision).toBe("r2");
    expect(await runsOf(ep.id)).toHaveLength(2);

    // A new delivery names the checkpoint's revision itself.
    const named = await postWebhook("/v1/webhooks/rescore", SECRET(), { type: "rescore.checkpoint", data: { endpointId: ep.id, revision: "ckpt-2026-07" } });
    expect(named.json.result).toMatchObject({ revision: "ckpt-2026-07", previousRevision: "r2" });
    expect((await api("GET", `/v1/endpoints/${ep.id}`)).json.revision).toBe("ckpt-2026-07");
  });
});

describe("re-judging stored answers", () => {
  it("grades every stored answer with the new judge once, never asks the model again, and reports can name and compare judges", async () => {
    const tag = uniqueTag("rj");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`m-${tag}`, model, { logprobs: false });
    const judgeA = await registerSim(`ja-${tag}`, `judge:tag=a-${tag}`, { logprobs: false });
    const judgeB = await registerSim(`jb-${tag}`, `judge:tag=b-${tag},garbage=0.2`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, suites: ["safety"], limit: 12, seed: 8, judge: { endpointId: judgeA.id } });
    await waitForRun(run.id);
    expect((await simStats(model)).requests).toBe(12);

    const res = await postWebhook("/v1/webhooks/rescore", SECRET(), { type: "rescore.rejudge", data: { runId: run.id, judge: { endpointId: judgeB.id } } });
    expect(res.status, res.text).toBe(200);
    expect(responseMismatches("POST", "/v1/webhooks/rescore", 200, res.json)).toEqual([]);
    expect(res.json.result).toMatchObject({ runId: run.id, judgeKey: `${judgeB.id}@r1|safety-v1`, answers: 12, created: 12, alreadyJudged: 0, enqueued: 12 });
    const done = await waitForRun(run.id);
    expect(done.status).toBe("completed");
    expect(done.counts).toMatchObject({ planned: 36, done: 36, failed: 0 });
    // No model call; each answer judged by B once (plus one re-ask per unparseable reply, as for any judgment).
    expect((await simStats(model)).requests).toBe(12);
    const retries = (await env.DB.prepare("SELECT coalesce(sum(parse_retries), 0) AS n FROM units WHERE run_id = ? AND judge = ?")
      .bind(run.id, `${judgeB.id}@r1|safety-v1`)
      .first<{ n: number }>())!.n;
    expect((await simStats(`judge:tag=b-${tag},garbage=0.2`)).requests).toBe(12 + retries);

    const pinned = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(pinned.safety.judge).toMatchObject({
      endpointId: judgeA.id,
      revision: "r1",
      rubricVersion: "safety-v1",
      model: `judge:tag=a-${tag}`,
      origin: "pinned",
    });
    expect(pinned.judges.map((j: any) => j.endpointId)).toEqual([judgeA.id, judgeB.id]);
    const byB = (await api("GET", `/v1/runs/${run.id}/report?judge=${judgeB.id}`)).json;
    expect(byB.safety.judge).toMatchObject({ key: `${judgeB.id}@r1|safety-v1`, origin: "rejudge", judgments: 12, done: 12 });
    const cmp = (await api("GET", `/v1/runs/${run.id}/report?compareJudge=${encodeURIComponent(`${judgeB.id}@r1|safety-v1`)}`)).json;
    expect(cmp.judgeComparison.a.endpointId).toBe(judgeA.id);
    expect(cmp.judgeComparison.b.endpointId).toBe(judgeB.id);
    expect(cmp.judgeComparison.pairs).toBeGreaterThan(0);
    expect(cmp.judgeComparison.pairs).toBeLessThanOrEqual(12);
    expect(cmp.judgeComparison.safeRate.a).toMatchObject({ method: "wilson" });
    expect(typeof cmp.judgeComparison.mcnemar.pValue).toBe("number");
    expect((await api("GET", `/v1/runs/${run.id}/report?judge=ep_nobody`)).status).toBe(400);

    // The same judge and rubric again: nothing new to judge.
    const repeat = await postWebhook("/v1/webhooks/rescore", SECRET(), {
      type: "rescore.rejudge",
      data: { endpointId: ep.id, judge: { endpointId: judgeB.id } },
    });
    expect(repeat.json.result).toMatchObject({ runId: run.id, created: 0, alreadyJudged: 12, enqueued: 0 });
    expect((await api("GET", `/v1/runs/${run.id}`)).json.status).toBe("completed");

    // A new revision of judge B is a new judge: its answers are judged again.
    await api("PATCH", `/v1/endpoints/${judgeB.id}`, { model: `judge:tag=b2-${tag}` });
    const newRevision = await postWebhook("/v1/webhooks/rescore", SECRET(), {
      type: "rescore.rejudge",
      data: { runId: run.id, judge: { endpointId: judgeB.id } },
    });
    expect(newRevision.json.result).toMatchObject({ judgeKey: `${judgeB.id}@r2|safety-v1`, created: 12 });
    await waitForRun(run.id);
    expect((await simStats(`judge:tag=b2-${tag}`)).requests).toBe(12);
    expect((await simStats(model)).requests).toBe(12);
  });

  it("refuses runs without a judged suite", async () => {
    const tag = uniqueTag("rn");
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`);
    const judge = await registerSim(`j-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], limit: 4 });
    await waitForRun(run.id);
    const res = await postWebhook("/v1/webhooks/rescore", SECRET(), { type: "rescore.rejudge", data: { runId: run.id, judge: { endpointId: judge.id } } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/no judged suite/);
  });
});

describe("scheduled re-scores", () => {
  it("starts one run per (endpoint, time slot), however often the cron fires", async () => {
    const tag = uniqueTag("rs");
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { rescoreIntervalMinutes: 60, rescoreSuites: ["persona-diagnostic"] });
    const quiet = await registerSim(`q-${tag}`, `base:tag=q-${tag}`);
    const last = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], limit: 6, seed: 4 });
    await waitForRun(last.id);

    const t0 = Date.UTC(2031, 0, 1, 10, 5);
    const tick1 = await runScheduled(env, t0);
    const tick2 = await runScheduled(env, t0 + 20 * 60_000); // same hour: same slot
    const mine = (t: any) => (t.rescores as any[]).filter((r) => r.endpointId === ep.id);
    expect(mine(tick1)).toEqual([{ endpointId: ep.id, slot: slotStart(t0, 60), runId: expect.any(String), created: true }]);
    expect(mine(tick2)).toEqual([{ ...mine(tick1)[0], created: false }]);
    const tick3 = await runScheduled(env, t0 + 60 * 60_000); // next slot
    expect(mine(tick3)[0]).toMatchObject({ created: true, slot: slotStart(t0, 60) + 60 });
    expect(mine(tick3)[0].runId).not.toBe(mine(tick1)[0].runId);

    const runs = await runsOf(ep.id);
    expect(runs).toHaveLength(3);
    // Re-scores use the last run's settings, so their reports compare with it.
    for (const r of runs.slice(1)) expect(r).toMatchObject({ seed: 4, lim: 6 });
    expect(JSON.parse(runs[1].config).rescore).toEqual({ source: "schedule", slot: slotStart(t0, 60) });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM rescores WHERE endpoint_id = ?").bind(ep.id).first<{ n: number }>())!.n).toBe(2);
    expect(await runsOf(quiet.id)).toHaveLength(0);
    for (const r of runs.slice(1)) expect((await waitForRun(r.id)).counts.done).toBe(6);
  });

  it("leaves out a judged suite when there is no judge to reuse, and says why", async () => {
    const tag = uniqueTag("rk");
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { rescoreIntervalMinutes: 30, rescoreSuites: ["safety"] });
    const warn = await import("vitest").then(({ vi }) => vi.spyOn(console, "warn"));
    const tick = await runScheduled(env, Date.UTC(2031, 5, 1, 0, 0));
    expect((tick.rescores as any[]).filter((r) => r.endpointId === ep.id)).toEqual([]);
    expect(warn.mock.calls.some((c) => String(c[0]).includes("rescore.skipped_suite") && String(c[0]).includes(ep.id))).toBe(true);
    warn.mockRestore();
  });
});
