import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

describe("runs API", () => {
  it("validates a run request and creates nothing on error", async () => {
    const ep = await registerSim(uniqueTag("v"), `base:tag=${uniqueTag()}`);
    const before = await count("runs");
    const cases: [unknown, number][] = [
      [{ endpointId: "ep_missing" }, 400],
      [{ endpointId: ep.id, suites: ["no-such-suite"] }, 400],
      [{ endpointId: ep.id, samplesPerItem: 0 }, 400],
      [{ endpointId: ep.id, temperature: 3 }, 400],
      [{ endpointId: ep.id, limit: 0 }, 400],
      [{ endpointId: ep.id, suites: [] }, 400],
      [{ endpointId: ep.id, seed: -1 }, 400],
    ];
    for (const [body, status] of cases) {
      const res = await api("POST", "/v1/runs", body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error.code).toBe("invalid_request");
    }
    expect(await count("runs")).toBe(before);
    expect((await api("POST", "/v1/runs", { endpointId: ep.id }, { admin: false })).status).toBe(401);
    expect((await api("GET", "/v1/runs/run_missing")).status).toBe(404);
  });

  it("limit draws items stratified by dimension and keying, not the first N", async () => {
    const ep = await registerSim(uniqueTag("lim"), `base:tag=${uniqueTag()}`);
    const run = await startRun({ endpointId: ep.id, seed: 4, limit: 24 });
    await waitForRun(run.id);
    const { results } = await env.DB.prepare(
      `SELECT si.dimension, si.keying, count(*) AS n, min(si.position) AS first FROM units u
         JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key
        WHERE u.run_id = ? GROUP BY si.dimension, si.keying`,
    )
      .bind(run.id)
      .all<{ dimension: string; keying: string; n: number; first: number }>();
    expect(results).toHaveLength(8);
    for (const r of results) expect(r.n).toBe(3);
    const positions = await env.DB.prepare(
      "SELECT max(si.position) AS last FROM units u JOIN suite_items si ON si.suite_version_id = u.suite_version_id AND si.item_key = u.item_key WHERE u.run_id = ?",
    )
      .bind(run.id)
      .first<{ last: number }>();
    expect(positions!.last).toBeGreaterThan(24);
  });

  it("samples per item are clustered in the report and the CI says so", async () => {
    const ep = await registerSim(uniqueTag("spi"), `base:logprobs=0,tag=${uniqueTag()}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, seed: 4, limit: 16, samplesPerItem: 3, temperature: 1 });
    await waitForRun(run.id);
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(report.run.scoringMode).toBe("sampled");
    for (const d of report.persona.dimensions) {
      expect(d.items).toBe(4);
      expect(d.n + d.unparseable).toBe(12);
      expect(d.ciMethod).toMatch(/clustered by item/);
    }
  });

  it("compares only with a base run of the same suite version, scoring mode and sampling (else the comparison says why)", async () => {
    const tag = uniqueTag("cmp");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const child = await registerSim(`child-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    const baseRun = await startRun({ endpointId: base.id, seed: 1, limit: 16, samplesPerItem: 2 });
    const childRun = await startRun({ endpointId: child.id, seed: 1, limit: 16, samplesPerItem: 1, compareWithBase: false });
    await waitForRun(baseRun.id);
    await waitForRun(childRun.id);
    // No comparable base run: the report still shows the match rates; only the comparison is unavailable.
    const res = await api("GET", `/v1/runs/${childRun.id}/report`);
    expect(res.status, res.text).toBe(200);
    expect(res.json.comparison.available).toBe(false);
    expect(res.json.comparison.reason).toMatch(/samples per item differ/);
    expect(res.json.persona.dimensions.length).toBeGreaterThan(0);
    // An explicit base that cannot be compared is still the caller's error.
    const explicit = await api("GET", `/v1/runs/${childRun.id}/report?base=${baseRun.id}`);
    expect(explicit.status).toBe(409);

    const baseRun2 = await startRun({ endpointId: base.id, seed: 1, limit: 16, samplesPerItem: 1 });
    await waitForRun(baseRun2.id);
    const ok = await api("GET", `/v1/runs/${childRun.id}/report`);
    expect(ok.status).toBe(200);
    expect(ok.json.comparison).toMatchObject({ available: true, baseRunId: baseRun2.id });
    for (const d of ok.json.comparison.deltas) {
      expect(d.pairedItems).toBe(4);
      expect(d.lo).toBeLessThanOrEqual(d.delta);
      expect(d.pValue).toBeGreaterThan(0);
    }
  });
});
