import { describe, expect, it } from "vitest";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

describe("endpoint limits hold across concurrent consumers", () => {
  it("never exceeds maxConcurrency", async () => {
    const tag = uniqueTag("conc");
    const model = `base:latency=60,tag=${tag}`;
    const ep = await registerSim(`conc-${tag}`, model, { maxConcurrency: 3 });
    // Two runs on the same endpoint at once: the gate is per endpoint, not per run or per batch.
    const [a, b] = await Promise.all([startRun({ endpointId: ep.id, seed: 1, limit: 30 }), startRun({ endpointId: ep.id, seed: 2, limit: 30 })]);
    await Promise.all([waitForRun(a.id), waitForRun(b.id)]);
    const stats = await simStats(model);
    expect(stats.requests).toBe(60);
    expect(stats.peakConcurrency).toBeLessThanOrEqual(3);
    expect(stats.peakConcurrency).toBeGreaterThanOrEqual(2);
  });

  it("never exceeds requestsPerMinute; the rest wait without failing", async () => {
    const tag = uniqueTag("rpm");
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`rpm-${tag}`, model, { requestsPerMinute: 6 });
    const run = await startRun({ endpointId: ep.id, seed: 1, limit: 10 });
    await new Promise((r) => setTimeout(r, 3000));
    const stats = await simStats(model);
    expect(stats.requests).toBe(6);
    expect(stats.maxRequestsPerMinute).toBeLessThanOrEqual(6);
    const status = (await api("GET", `/v1/runs/${run.id}`)).json;
    expect(status.counts).toMatchObject({ done: 6, failed: 0, pending: 4 });
    // The deferred units wait for the window, not as failures.
    expect(status.counts.retrying).toBe(0);
    await api("POST", `/v1/runs/${run.id}/cancel`);
  });
});

describe("cancel and resume", () => {
  it("resume re-enqueues only the units without a stored response", async () => {
    const tag = uniqueTag("res");
    const model = `base:latency=100,tag=${tag}`;
    const ep = await registerSim(`res-${tag}`, model, { maxConcurrency: 2 });
    const run = await startRun({ endpointId: ep.id, seed: 5, limit: 40 });
    await new Promise((r) => setTimeout(r, 600));
    const cancelled = (await api("POST", `/v1/runs/${run.id}/cancel`)).json;
    expect(cancelled.status).toBe("cancelled");
    await new Promise((r) => setTimeout(r, 1000));
    const before = (await api("GET", `/v1/runs/${run.id}`)).json.counts.done;
    expect(before).toBeLessThan(40);
    const resumed = await api("POST", `/v1/runs/${run.id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.json.reenqueued).toBe(40 - before);
    const done = await waitForRun(run.id);
    expect(done.counts).toMatchObject({ done: 40, failed: 0 });
    // Every unit was asked exactly once across cancel and resume.
    const stats = await simStats(model);
    expect(stats.uniqueRequestIds).toBe(40);
    expect(stats.requests).toBe(40);
  });
});
