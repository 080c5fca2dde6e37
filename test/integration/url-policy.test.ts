/**
 * URL policy: the URLs we send a bearer key to are https (plain http only for ALLOW_HTTP_HOSTS, here the
 * simulator's 127.0.0.1), carry no userinfo and no key-like query parameter; a training provider's serving URL is
 * held to the same policy, and the provider's key goes only to the provider's own host.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { datasets, endpoints, trainingJobs } from "../../src/db/schema";
import { decryptSecret, encryptSecret } from "../../src/lib/crypto";
import { urlPolicyViolation } from "../../src/lib/url-policy";
import { recordProviderStatus, registerEndpoint } from "../../src/training/jobs";
import { api, registerSim, uniqueTag } from "../helpers";

const BAD_URLS = [
  ["http://models.example.com/v1", /must be https/],
  ["https://user:pass@models.example.com/v1", /user name or password/],
  ["https://models.example.com/v1?api-key=sk-123", /key-like query parameter \(api-key\)/],
  ["https://models.example.com/v1?apikey=sk-123", /key-like/],
  ["https://models.example.com/v1?access_token=abc", /key-like/],
  ["https://models.example.com/v1?Password=abc", /key-like/],
  ["ftp://models.example.com/v1", /./],
] as const;

describe("endpoint URL policy", () => {
  it("refuses plain http, userinfo and key-like query parameters with a 400 and stores nothing", async () => {
    const tag = uniqueTag("up");
    for (const [baseUrl, why] of BAD_URLS) {
      const name = `url-${tag}-${BAD_URLS.findIndex((b) => b[0] === baseUrl)}`;
      const res = await api("POST", "/v1/endpoints", { name, baseUrl, model: "m" });
      expect(res.status, baseUrl).toBe(400);
      expect(res.json.error.code).toBe("invalid_request");
      expect(res.json.error.message, baseUrl).toMatch(why);
      // The refused URL's secret is not echoed back.
      expect(res.text).not.toContain("sk-123");
      expect(res.text).not.toContain("pass@");
      expect((await env.DB.prepare("SELECT count(*) AS n FROM endpoints WHERE name = ?").bind(name).first<{ n: number }>())!.n).toBe(0);
    }
    // https with an ordinary query parameter, and the allow-listed simulator over http, are accepted.
    expect(
      (await api("POST", "/v1/endpoints", { name: `ok-${tag}`, baseUrl: "https://models.example.com/v1?api-version=2024-10-21", model: "m" })).status,
    ).toBe(201);
    const sim = await registerSim(`sim-${tag}`, `base:tag=${tag}`);
    const patched = await api("PATCH", `/v1/endpoints/${sim.id}`, { baseUrl: "https://models.example.com/v1?token=abc" });
    expect(patched.status).toBe(400);
    expect(patched.json.error.message).toMatch(/key-like/);
    expect((await api("GET", `/v1/endpoints/${sim.id}`)).json.baseUrl).toBe(`${env.SIM_URL}/v1`);
  });

  it("allows plain http only for the listed hosts", () => {
    expect(urlPolicyViolation("http://127.0.0.1:8080/v1", ["127.0.0.1", "localhost"])).toBeNull();
    expect(urlPolicyViolation("http://localhost/v1", ["127.0.0.1", "localhost"])).toBeNull();
    expect(urlPolicyViolation("http://127.0.0.1:8080/v1", [])).toMatch(/must be https/);
    expect(urlPolicyViolation("http://10.0.0.1/v1", ["127.0.0.1"])).toMatch(/must be https/);
    expect(urlPolicyViolation("https://api.openai.com/v1", [])).toBeNull();
  });

  it("refuses a training job whose provider URL breaks the policy", async () => {
    const res = await api("POST", "/v1/training-jobs", {
      dataset: "ds_missing",
      provider: { type: "openai", baseUrl: "http://trainer.example.com/v1", apiKey: "sk-x" },
      evaluate: { suites: ["persona-diagnostic"] },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/provider\.baseUrl must be https/);
  });
});

/** A trained job row, as the pipeline leaves it before the provider's status arrives. */
async function trainedJob(tag: string, providerBaseUrl: string) {
  const db = getDb(env.DB);
  const base = await registerSim(`ft-base-${tag}`, `base:tag=${tag}`);
  const dsId = `ds_${tag}`;
  await db.insert(datasets).values({
    id: dsId,
    status: "released",
    spec: {},
    constitution: "deontology",
    constitutionVersion: 1,
    scope: "narrow",
    categories: [],
    seed: 1,
    helpfulEndpointId: base.id,
    criticEndpointId: base.id,
  });
  const id = `tj_${tag}`;
  await db.insert(trainingJobs).values({
    id,
    status: "running",
    datasetId: dsId,
    provider: "openai",
    providerBaseUrl,
    providerApiKeyEnc: await encryptSecret("sk-provider-key", env.ENCRYPTION_KEY),
    providerJobId: `ftjob-${tag}`,
    baseEndpointId: base.id,
    baseModel: "base",
    evaluate: {},
  });
  return (await db.select().from(trainingJobs).where(eq(trainingJobs.id, id)).get())!;
}

describe("serving URLs reported by a training provider", () => {
  it("fails the job instead of storing a serving URL that breaks the policy", async () => {
    const tag = uniqueTag("sv");
    const job = await trainedJob(tag, "https://trainer.example.com/v1");
    const after = await recordProviderStatus(
      env,
      getDb(env.DB),
      job,
      { state: "succeeded", raw: "succeeded", model: { name: "ft:m", baseUrl: "https://serve.example.com/v1?api-key=sk-leak" } },
      "poll",
    );
    expect(after.status).toBe("failed");
    expect(after.servingBaseUrl).toBeNull();
    expect(after.error).toMatch(/serving URL \(https:\/\/serve\.example\.com\) must not carry a key-like query parameter/);
    expect(after.error).not.toContain("sk-leak");
  });

  it("attaches the provider's key only when the model is served on the provider's host", async () => {
    for (const [serving, keyed] of [
      ["https://trainer.example.com/v1", true],
      ["https://elsewhere.example.net/v1", false],
    ] as const) {
      const tag = uniqueTag("sk");
      const job = await trainedJob(tag, "https://trainer.example.com/v1");
      const after = await recordProviderStatus(
        env,
        getDb(env.DB),
        job,
        { state: "succeeded", raw: "succeeded", model: { name: `ft:${tag}`, baseUrl: serving } },
        "poll",
      );
      expect(after.status).toBe("trained");
      const endpointId = await registerEndpoint(env, job.id);
      const row = (await getDb(env.DB).select().from(endpoints).where(eq(endpoints.id, endpointId)).get())!;
      expect(row.baseUrl).toBe(serving);
      if (keyed) expect(await decryptSecret(row.apiKeyEnc!, env.ENCRYPTION_KEY)).toBe("sk-provider-key");
      else expect(row.apiKeyEnc, serving).toBeNull();
    }
  });
});
