import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";

const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

describe("endpoint registry", () => {
  it("needs the admin key for writes, and a wrong key is rejected", async () => {
    const body = { name: "x", baseUrl: "https://example.test/v1", model: "m" };
    expect((await api("POST", "/v1/endpoints", body, { admin: false })).status).toBe(401);
    const wrong = await api("POST", "/v1/endpoints", body, { admin: false, headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("unauthorized");
  });

  it("answers bad input with a machine-readable 400 and changes nothing", async () => {
    const before = await count("endpoints");
    for (const body of [
      { name: "", baseUrl: "https://example.test/v1", model: "m" },
      { name: "a", baseUrl: "not a url", model: "m" },
      { name: "a", baseUrl: "https://example.test/v1", model: "m", maxConcurrency: 0 },
      { name: "a", baseUrl: "https://example.test/v1", model: "m", constitution: "nihilism" },
      { name: "a", baseUrl: "https://example.test/v1", model: "m", surprise: true },
    ]) {
      const res = await api("POST", "/v1/endpoints", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.details.issues.length).toBeGreaterThan(0);
    }
    const malformed = await api("POST", "/v1/endpoints", "{not json", { headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    const badBase = await api("POST", "/v1/endpoints", { name: "b", baseUrl: "https://example.test/v1", model: "m", baseEndpointId: "ep_missing" });
    expect(badBase.status).toBe(400);
    expect(await count("endpoints")).toBe(before);
  });

  it("encrypts the API key at rest and never returns it", async () => {
    const secret = `sk-test-${uniqueTag("key")}-do-not-leak`;
    const created = await api("POST", "/v1/endpoints", { name: uniqueTag("enc"), baseUrl: "https://example.test/v1", model: "m", apiKey: secret });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(secret);
    expect(created.json.hasApiKey).toBe(true);
    const row = await env.DB.prepare("SELECT * FROM endpoints WHERE id = ?").bind(created.json.id).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(String(row!.api_key_enc)).toMatch(/^v1\./);
    for (const path of ["/v1/endpoints", `/v1/endpoints/${created.json.id}`]) {
      expect((await api("GET", path)).text).not.toContain(secret);
      expect((await api("GET", path)).text).not.toContain("api_key_enc");
    }
  });

  it("rejects a duplicate name, bumps the revision when the model changes, and hides deleted endpoints", async () => {
    const name = uniqueTag("dupe");
    const a = await api("POST", "/v1/endpoints", { name, baseUrl: "https://example.test/v1", model: "m1" });
    expect(a.json.revision).toBe("r1");
    expect((await api("POST", "/v1/endpoints", { name, baseUrl: "https://example.test/v1", model: "m2" })).status).toBe(409);
    const patched = await api("PATCH", `/v1/endpoints/${a.json.id}`, { model: "m2" });
    expect(patched.json).toMatchObject({ model: "m2", revision: "r2" });
    const explicit = await api("PATCH", `/v1/endpoints/${a.json.id}`, { revision: "checkpoint-7" });
    expect(explicit.json.revision).toBe("checkpoint-7");
    expect((await api("PATCH", `/v1/endpoints/${a.json.id}`, { maxConcurrency: -1 })).status).toBe(400);
    const removed = await api("DELETE", `/v1/endpoints/${a.json.id}`);
    expect(removed.status).toBe(200);
    expect(responseMismatches("DELETE", `/v1/endpoints/${a.json.id}`, 200, removed.json)).toEqual([]);
    expect((await api("GET", `/v1/endpoints/${a.json.id}`)).status).toBe(404);
    expect((await api("GET", "/v1/endpoints")).json.endpoints.map((e: any) => e.id)).not.toContain(a.json.id);
    // The name is free again.
    expect((await api("POST", "/v1/endpoints", { name, baseUrl: "https://example.test/v1", model: "m3" })).status).toBe(201);
  });
});

describe("public reads", () => {
  it("an anonymous GET never returns prompts or answer text", async () => {
    const tag = uniqueTag("anon");
    // Without logprobs the simulator answers in words, which are easy to look for.
    const ep = await registerSim(`anon-${tag}`, `base:logprobs=0,tag=${tag}`, { logprobs: false });
    const run = await startRun({ endpointId: ep.id, seed: 9, limit: 12 });
    await waitForRun(run.id);

    const raw = await api("GET", `/v1/runs/${run.id}/responses`);
    expect(raw.status).toBe(200);
    expect(responseMismatches("GET", `/v1/runs/${run.id}/responses`, 200, raw.json)).toEqual([]);
    const answers: string[] = raw.json.responses.map((r: any) => r.answer).filter(Boolean);
    const prompts: string[] = raw.json.responses.map((r: any) => r.request.messages.at(-1).content);
    expect(answers.length).toBe(12);
    expect(answers.some((a) => a.length > 4)).toBe(true);

    expect((await api("GET", `/v1/runs/${run.id}/responses`, undefined, { admin: false })).status).toBe(401);
    for (const path of [
      "/v1/endpoints",
      `/v1/endpoints/${ep.id}`,
      `/v1/endpoints/${ep.id}/report`,
      "/v1/runs",
      `/v1/runs/${run.id}`,
      `/v1/runs/${run.id}/report`,
      "/v1/suites",
      "/v1/suites/persona-diagnostic",
      "/v1/constitutions",
      "/openapi.json",
    ]) {
      const res = await api("GET", path, undefined, { admin: false });
      expect(res.status, path).toBe(200);
      for (const a of answers.filter((x) => x.length > 4)) expect(res.text, `${path} leaks an answer`).not.toContain(a);
      for (const p of prompts) expect(res.text, `${path} leaks a prompt`).not.toContain(p.slice(0, 60));
    }
  });
});

describe("privacy of base comparisons and experiments", () => {
  it("hides a private base from anonymous reports of its finetuned model, and private experiments from listings", async () => {
    const tag = uniqueTag("pv");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { private: true });
    const child = await registerSim(`child-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    const baseRun = await startRun({ endpointId: base.id, seed: 1, limit: 8 });
    const childRun = await startRun({ endpointId: child.id, seed: 1, limit: 8 });
    await waitForRun(baseRun.id);
    await waitForRun(childRun.id);
    const anon = await api("GET", `/v1/runs/${childRun.id}/report`, undefined, { admin: false });
    expect(anon.status).toBe(200);
    expect(anon.json.comparison).toMatchObject({ available: false, reason: "the base endpoint is private" });
    expect(anon.text).not.toContain(baseRun.id);
    expect((await api("GET", `/v1/runs/${childRun.id}/report?base=${baseRun.id}`, undefined, { admin: false })).status).toBe(404);
    const admin = await api("GET", `/v1/runs/${childRun.id}/report`);
    expect(admin.json.comparison).toMatchObject({ available: true, baseRunId: baseRun.id });

    const exp = await api("POST", "/v1/experiments", { name: `pv-${tag}`, baseEndpointId: base.id, members: [{ endpointId: child.id, scope: "narrow" }] });
    expect(exp.status).toBe(201);
    const listed = (await api("GET", "/v1/experiments", undefined, { admin: false })).json.experiments.map((e: any) => e.id);
    expect(listed).not.toContain(exp.json.id);
    expect((await api("GET", `/v1/experiments/${exp.json.id}`, undefined, { admin: false })).status).toBe(404);
    expect((await api("GET", "/v1/experiments")).json.experiments.map((e: any) => e.id)).toContain(exp.json.id);
  });

  it("ignores a provider's own Authorization header on signed webhook routes", async () => {
    const res = await api("POST", "/v1/webhooks/training", "{}", {
      admin: false,
      headers: { authorization: "Bearer provider-token", "content-type": "application/json" },
    });
    // Rejected for its missing signature, not for the bearer token.
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.json)).not.toMatch(/invalid bearer token/);
  });
});
