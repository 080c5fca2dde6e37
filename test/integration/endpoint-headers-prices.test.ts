/**
 * Endpoints for private model servers and paid APIs: extra static headers (encrypted at rest, never returned,
 * sent on every call, judges included) and prices per million tokens (the report's cost).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

const ACCESS = { "CF-Access-Client-Id": "0123abcd.access", "CF-Access-Client-Secret": "cf-access-secret-value-9f8e7d" };

describe("endpoint headers and prices", () => {
  it("stores headers encrypted, returns only their names, and sends them on every model and judge call", async () => {
    const tag = uniqueTag("hdr");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false, headers: { "X-Judge-Token": "judge-token-value-123" } });
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { headers: ACCESS });
    expect(ep).toMatchObject({ headerNames: ["CF-Access-Client-Id", "CF-Access-Client-Secret"] });
    expect(JSON.stringify(ep)).not.toContain(ACCESS["CF-Access-Client-Secret"]);
    // At rest: ciphertext only.
    const row = await env.DB.prepare("SELECT * FROM endpoints WHERE id = ?").bind(ep.id).first<Record<string, unknown>>();
    expect(String(row!.headers_enc)).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(ACCESS["CF-Access-Client-Secret"]);
    // Anonymous readers see no header names at all; nobody sees values.
    const anon = await api("GET", `/v1/endpoints/${ep.id}`, undefined, { admin: false });
    expect(anon.json.headerNames).toEqual([]);
    expect(anon.text).not.toContain("secret-value");

    const run = await startRun({ endpointId: ep.id, suites: ["safety"], seed: 1, limit: 6, judge: { endpointId: judge.id } });
    await waitForRun(run.id);
    const model = await simStats(`base:tag=${tag}`);
    expect(model.requests).toBe(6);
    expect(model.extraHeaders["cf-access-client-id"]).toEqual({ count: 6, values: [ACCESS["CF-Access-Client-Id"]] });
    expect(model.extraHeaders["cf-access-client-secret"]).toEqual({ count: 6, values: [ACCESS["CF-Access-Client-Secret"]] });
    const j = await simStats(`judge:tag=${tag}`);
    expect(j.extraHeaders["x-judge-token"].count).toBe(j.requests);
    expect(j.extraHeaders["cf-access-client-id"]).toBeUndefined();

    // PATCH replaces them as a whole; null removes them.
    const patched = await api("PATCH", `/v1/endpoints/${ep.id}`, { headers: { "CF-Access-Client-Id": "other.access" } });
    expect(patched.json.headerNames).toEqual(["CF-Access-Client-Id"]);
    expect((await api("PATCH", `/v1/endpoints/${ep.id}`, { headers: null })).json.headerNames).toEqual([]);
  });

  it("rejects reserved, malformed or multi-line headers and bad prices, changing nothing", async () => {
    const tag = uniqueTag("hbad");
    const base = { name: `x-${tag}`, baseUrl: `${env.SIM_URL}/v1`, model: "base" };
    for (const extra of [
      { headers: { Authorization: "Bearer x" } },
      { headers: { "Bad Name": "x" } },
      { headers: { "X-Ok": "a\r\nInjected: yes" } },
      { headers: { "X-A": "1", "x-a": "2" } },
      { pricePerMillionInputTokens: -1 },
    ]) {
      const res = await api("POST", "/v1/endpoints", { ...base, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
    }
    expect((await api("GET", "/v1/endpoints")).json.endpoints.some((e: any) => e.name === base.name)).toBe(false);
  });

  it("the run report states tokens and cost per model and per judge at the prices pinned when the run started", async () => {
    const tag = uniqueTag("cost");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false, pricePerMillionInputTokens: 1, pricePerMillionOutputTokens: 2 });
    const ep = await registerSim(`m-${tag}`, `base:tag=${tag}`, { pricePerMillionInputTokens: 3, pricePerMillionOutputTokens: 15 });
    expect(ep).toMatchObject({ pricePerMillionInputTokens: 3, pricePerMillionOutputTokens: 15 });
    const run = await startRun({ endpointId: ep.id, suites: ["safety"], seed: 1, limit: 6, judge: { endpointId: judge.id } });
    await waitForRun(run.id);
    // A later price change does not rewrite the cost of a finished run.
    await api("PATCH", `/v1/endpoints/${ep.id}`, { pricePerMillionInputTokens: 300 });
    const usage = (await api("GET", `/v1/runs/${run.id}/report`)).json.usage;
    const { results } = await env.DB.prepare(
      "SELECT r.endpoint_id AS e, sum(r.prompt_tokens) AS i, sum(r.completion_tokens) AS o, count(*) AS n FROM responses r WHERE r.run_id = ? GROUP BY r.endpoint_id",
    )
      .bind(run.id)
      .all<{ e: string; i: number; o: number; n: number }>();
    const model = usage.rows.find((r: any) => r.role === "model");
    const judged = usage.rows.find((r: any) => r.role === "judge");
    const m = results.find((r) => r.e === ep.id)!;
    const jj = results.find((r) => r.e === judge.id)!;
    expect(model).toMatchObject({ endpointId: ep.id, calls: m.n, inputTokens: m.i, outputTokens: m.o });
    expect(model.cost).toBeCloseTo((3 * m.i + 15 * m.o) / 1e6, 12);
    expect(judged).toMatchObject({ endpointId: judge.id, calls: jj.n, inputTokens: jj.i, outputTokens: jj.o });
    expect(judged.cost).toBeCloseTo((1 * jj.i + 2 * jj.o) / 1e6, 12);
    expect(usage.total.cost).toBeCloseTo(model.cost + judged.cost, 12);
    // Without prices the cost is unknown (null), never 0.
    const free = await registerSim(`f-${tag}`, `base:tag=${tag}f`);
    const r2 = await startRun({ endpointId: free.id, seed: 1, limit: 8 });
    await waitForRun(r2.id);
    const u2 = (await api("GET", `/v1/runs/${r2.id}/report`)).json.usage;
    expect(u2.rows[0].inputTokens).toBeGreaterThan(0);
    expect(u2.rows[0].cost).toBeNull();
    expect(u2.total.cost).toBeNull();
  });
});
