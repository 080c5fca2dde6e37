import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

describe("faults, retries and the dead-letter queue", () => {
  it("with 30% injected faults every unit ends done or failed-with-reason exactly once", async () => {
    const tag = uniqueTag("f");
    // timeout faults hang 4 s; the worker's test timeout is 1.5 s.
    const model = `base:fault=0.3,retryAfter=0,hang=4000,tag=${tag}`;
    const ep = await registerSim(`faulty-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 3, limit: 60 });
    const done = await waitForRun(run.id, 55_000);
    expect(done.counts.done + done.counts.failed).toBe(60);
    expect(done.counts.pending).toBe(0);

    const rows = await env.DB.prepare(
      "SELECT u.status, u.last_error, (SELECT count(*) FROM responses r WHERE r.unit_id = u.id) AS stored FROM units u WHERE u.run_id = ?",
    )
      .bind(run.id)
      .all<{ status: string; last_error: string | null; stored: number }>();
    expect(rows.results).toHaveLength(60);
    for (const r of rows.results) {
      if (r.status === "done") expect(r.stored).toBe(1);
      else {
        expect(r.status).toBe("failed");
        expect(r.stored).toBe(0);
        expect(r.last_error).toBeTruthy();
      }
    }
    const stats = await simStats(model);
    expect(stats.uniqueRequestIds).toBe(60);
    expect(stats.requests).toBeGreaterThan(60);
    const f = stats.faults;
    expect(f.rate_limit + f.server_error + f.timeout + f.malformed).toBeGreaterThan(5);
  });

  it("a unit that never succeeds is recorded as failed with its error after the last retry", async () => {
    const tag = uniqueTag("d");
    const model = `base:fault=1,faults=server_error,tag=${tag}`;
    const ep = await registerSim(`dead-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, seed: 3, limit: 4 });
    const done = await waitForRun(run.id, 55_000);
    expect(done.counts).toMatchObject({ expected: 4, done: 0, failed: 4, pending: 0 });
    const raw = await api("GET", `/v1/runs/${run.id}/responses`);
    for (const r of raw.json.responses) expect(r.lastError).toMatch(/retries exhausted: HTTP 500/);
    // 1 delivery + max_retries redeliveries per message, each calling the one unit once.
    expect((await simStats(model)).requests).toBeGreaterThanOrEqual(4 * 2);
  });
});
