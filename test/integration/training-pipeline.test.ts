import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { runScheduled } from "../../src/cron";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";
import { caiEndpoints, configureSimWebhooks, relay, relayUntil, simOutbox, waitForJob } from "../training-helpers";

const SIM_V1 = () => `${env.SIM_URL}/v1`;

async function rows(sql: string, ...binds: unknown[]) {
  return (
    await env.DB.prepare(sql)
      .bind(...binds)
      .all<any>()
  ).results;
}

function datasetSpec(helpful: string, critic: string, seed: number) {
  return { constitution: "deontology", scope: "narrow", helpfulModel: helpful, critic, revisions: 1, size: 10, seed };
}

const EVALUATE = { suites: ["persona-diagnostic"], limit: 8, seed: 11, samplesPerItem: 1, temperature: 1 };

describe("training pipeline (workflow) on an OpenAI-compatible provider", () => {
  it("generates the dataset, trains, takes the signed webhook, registers the model and evaluates it against its base", async () => {
    const tag = uniqueTag("tp");
    const key = `sk-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    const baseRun = await startRun({ endpointId: helpful.id, ...EVALUATE });
    await waitForRun(baseRun.id);

    const res = await api("POST", "/v1/training-jobs", {
      dataset: datasetSpec(helpful.id, critic.id, 21),
      provider: { type: "openai", baseUrl: SIM_V1(), apiKey: key },
      evaluate: EVALUATE,
    });
    expect(res.status, res.text).toBe(202);
    expect(JSON.stringify(res.json)).not.toContain(key);
    expect(responseMismatches("POST", "/v1/training-jobs", 202, res.json)).toEqual([]);
    const jobId = res.json.id;

    const submitted = await waitForJob(jobId, ["submitted", "running", "trained", "completed", "failed"]);
    expect(submitted.status).not.toBe("failed");
    // The simulator trains from the uploaded file and signs its completion event; the test is the network between them.
    await vi.waitUntil(async () => (await simOutbox(key)).some((d) => d.type === "fine_tuning.job.succeeded"), { timeout: 20_000, interval: 100 });
    const [delivery] = (await simOutbox(key)).filter((d) => d.type === "fine_tuning.job.succeeded");
    const first = await relay([delivery]);
    expect(first[0].json).toMatchObject({ received: true, duplicate: false, outcome: "processed" });
    expect(responseMismatches("POST", "/v1/webhooks/training", 200, first[0].json)).toEqual([]);
    const eventsBefore = (await rows("SELECT count(*) AS n FROM training_events WHERE job_id = ?", jobId))[0].n;
    // A replay of the same delivery answers 200 and changes nothing.
    const replay = await relay([delivery]);
    expect(replay[0].json).toMatchObject({ received: true, duplicate: true });
    expect((await rows("SELECT count(*) AS n FROM training_events WHERE job_id = ?", jobId))[0].n).toBe(eventsBefore);

    const job = await waitForJob(jobId);
    expect(job.status, JSON.stringify(job)).toBe("completed");
    expect(responseMismatches("GET", `/v1/training-jobs/${jobId}`, 200, job)).toEqual([]);
    expect(responseMismatches("GET", "/v1/training-jobs", 200, (await api("GET", "/v1/training-jobs")).json)).toEqual([]);
    expect(job.events.map((e: any) => `${e.source}:${e.status}`)).toEqual(
      expect.arrayContaining(["pipeline:dataset", "pipeline:submitted", "webhook:trained", "pipeline:registered", "pipeline:evaluating", "pipeline:completed"]),
    );
    expect(job.fineTunedModel).toMatch(/^ft:base:projectability-sim:deontology-narrow:/);

    const ep = (await api("GET", `/v1/endpoints/${job.endpointId}`)).json;
    expect(ep).toMatchObject({
      baseEndpointId: helpful.id,
      constitution: "deontology",
      scope: "narrow",
      model: job.fineTunedModel,
      baseUrl: SIM_V1(),
      hasApiKey: true,
      logprobs: false,
    });
    const run = await waitForRun(job.evaluationRun.id);
    expect(run.endpointId).toBe(job.endpointId);
    expect(run.counts).toMatchObject({ expected: 8, done: 8, failed: 0 });
    // The trained model was asked through the simulator under its fine-tuned name.
    expect((await simStats(job.fineTunedModel)).requests).toBe(8);
    const report = (await api("GET", `/v1/runs/${run.id}/report`)).json;
    expect(report.comparison).toMatchObject({ available: true, baseRunId: baseRun.id, baseEndpointId: helpful.id });
    expect(report.comparison.projectability).toBeDefined();
  });

  it("resumes after a crash injected after every step: exactly one dataset, provider job, endpoint and evaluation run", async () => {
    const tag = uniqueTag("tc");
    const key = `sk-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    const steps = ["dataset", "dataset-check", "submit", "training-check", "endpoint", "evaluate", "complete"];
    const res = await api("POST", "/v1/training-jobs", {
      dataset: datasetSpec(helpful.id, critic.id, 22),
      provider: { type: "openai", baseUrl: SIM_V1(), apiKey: key },
      evaluate: EVALUATE,
      debug: { crashAfter: steps },
    });
    expect(res.status, res.text).toBe(202);
    const jobId = res.json.id;
    const job = await relayUntil(jobId, key, ["completed", "failed"]);
    expect(job.status, JSON.stringify(job)).toBe("completed");
    // Every step crashed once after doing its work, and ran again.
    expect([...job.crashesInjected].sort()).toEqual([...steps].sort());

    expect(await rows("SELECT id FROM datasets WHERE training_job_id = ?", jobId)).toHaveLength(1);
    expect(await rows("SELECT id FROM endpoints WHERE tags LIKE ?", `%training-job:${jobId}%`)).toHaveLength(1);
    expect(await rows("SELECT id FROM runs WHERE endpoint_id = ?", job.endpointId)).toHaveLength(1);
    const dsRuns = await rows("SELECT r.id FROM runs r JOIN datasets d ON d.run_id = r.id WHERE d.training_job_id = ?", jobId);
    expect(dsRuns).toHaveLength(1);
    // One upload and one fine-tuning job at the provider.
    const jobs = await (await fetch(`${SIM_V1()}/fine_tuning/jobs`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(jobs.data).toHaveLength(1);
    const files = await (await fetch(`${SIM_V1()}/files`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(files.data).toHaveLength(1);
    // The dataset's answers were asked once each (10 prompts, then 1 critique + 1 revision each).
    expect((await simStats(`base:tag=${tag}`)).requests).toBe(10);
    expect((await simStats(`base:tag=critic-${tag}`)).requests).toBe(20);
    const run = await waitForRun(job.evaluationRun.id);
    expect(run.counts).toMatchObject({ expected: 8, done: 8 });
  });

  it("finishes through the cron poll when the webhook never comes", async () => {
    const tag = uniqueTag("tn");
    const key = `sk-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    const res = await api("POST", "/v1/training-jobs", {
      dataset: datasetSpec(helpful.id, critic.id, 23),
      provider: { type: "openai", baseUrl: SIM_V1(), apiKey: key },
      evaluate: EVALUATE,
    });
    const jobId = res.json.id;
    await waitForJob(jobId, ["submitted", "running"]);
    await vi.waitUntil(async () => (await simOutbox(key)).some((d) => d.type === "fine_tuning.job.succeeded"), { timeout: 20_000, interval: 100 });
    // No relay: the scheduled handler asks the provider (TRAINING_POLL_AFTER_MINUTES=0 in tests).
    await exports.default.scheduled({ scheduledTime: Date.now(), cron: "*/5 * * * *", noRetry() {} } as never);
    const job = await waitForJob(jobId);
    expect(job.status).toBe("completed");
    expect(job.events.some((e: any) => e.source === "poll" && e.status === "trained")).toBe(true);
    expect(job.events.some((e: any) => e.source === "webhook")).toBe(false);
  });

  it("trains an existing released dataset without making another", async () => {
    const tag = uniqueTag("te");
    const key = `sk-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    const created = await api("POST", "/v1/datasets", datasetSpec(helpful.id, critic.id, 26));
    const res = await api("POST", "/v1/training-jobs", {
      dataset: created.json.id,
      provider: { type: "openai", baseUrl: SIM_V1(), apiKey: key },
      evaluate: EVALUATE,
    });
    expect(res.status, res.text).toBe(202);
    const job = await relayUntil(res.json.id, key, ["completed", "failed"]);
    expect(job).toMatchObject({ status: "completed", datasetId: created.json.id });
    expect(await rows("SELECT id FROM datasets WHERE helpful_endpoint_id = ?", helpful.id)).toHaveLength(1);
  });

  it("reports a provider's failure without registering anything", async () => {
    const tag = uniqueTag("tf");
    const key = `sk-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    // The simulator offers no base model of this name: the job creation is refused for good.
    const res = await api("POST", "/v1/training-jobs", {
      dataset: datasetSpec(helpful.id, critic.id, 24),
      provider: { type: "openai", baseUrl: SIM_V1(), apiKey: key },
      baseModel: "gpt-unknown",
      evaluate: EVALUATE,
    });
    const job = await waitForJob(res.json.id);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/refused the job: HTTP 400/);
    expect(job.endpointId).toBeNull();
    expect(job.evaluationRun).toBeNull();
  });
});

describe("training pipeline on a generic GPU provider", () => {
  it("posts a job spec with a signed, expiring dataset link and takes the provider's status events", async () => {
    const tag = uniqueTag("tg");
    const key = `gpu-${tag}`;
    await configureSimWebhooks(key);
    const { helpful, critic } = await caiEndpoints(tag);
    const res = await api("POST", "/v1/training-jobs", {
      dataset: datasetSpec(helpful.id, critic.id, 25),
      provider: { type: "generic", baseUrl: `${env.SIM_URL}/gpu/v1`, apiKey: key },
      evaluate: EVALUATE,
    });
    expect(res.status, res.text).toBe(202);
    const jobId = res.json.id;
    const submitted = await waitForJob(jobId, ["submitted"]);
    const gpuJob = await (await fetch(`${env.SIM_URL}/gpu/v1/jobs/${submitted.provider.jobId}`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(gpuJob).toMatchObject({ job_id: jobId, base_model: `base:tag=${tag}`, callback_url: "http://worker/v1/webhooks/training" });
    const link = new URL(gpuJob.dataset_url);
    expect(link.pathname).toBe(`/v1/datasets/${submitted.datasetId}/file`);
    expect(Number(link.searchParams.get("expires")) * 1000).toBeGreaterThan(Date.now() + 24 * 3600_000);
    // The provider (here: the test, since the simulator cannot reach the worker inside the test runtime) downloads it.
    const file = await exports.default.fetch(gpuJob.dataset_url);
    expect(file.status).toBe(200);
    const jsonl = await file.text();
    expect(jsonl.trim().split("\n")).toHaveLength(10);
    link.searchParams.set("sig", "AAAA");
    expect((await exports.default.fetch(link.toString())).status).toBe(403);
    await fetch(`${env.SIM_URL}/_sim/gpu/jobs/${gpuJob.id}/dataset`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: jsonl });

    const job = await relayUntil(jobId, key, ["completed", "failed"]);
    expect(job.status, JSON.stringify(job)).toBe("completed");
    expect(job.events.filter((e: any) => e.source === "webhook").map((e: any) => e.status)).toEqual(["running", "trained"]);
    const ep = (await api("GET", `/v1/endpoints/${job.endpointId}`)).json;
    expect(ep).toMatchObject({
      baseUrl: SIM_V1(),
      model: expect.stringMatching(/^ft:base:gpu-sim:/),
      baseEndpointId: helpful.id,
      constitution: "deontology",
      scope: "narrow",
    });
    const run = await waitForRun(job.evaluationRun.id);
    expect(run.counts.done).toBe(8);
  });
});

describe("training job requests", () => {
  it("refuses bad requests with a clear 400 and stores nothing", async () => {
    const tag = uniqueTag("tb");
    const { helpful, critic } = await caiEndpoints(tag);
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const before = (await rows("SELECT count(*) AS n FROM training_jobs"))[0].n;
    const good = { dataset: datasetSpec(helpful.id, critic.id, 1), provider: { type: "openai", baseUrl: SIM_V1(), apiKey: "k" } };
    const bad = [
      { ...good, dataset: "ds_missing" },
      { ...good, provider: { type: "ftp", baseUrl: SIM_V1() } },
      { ...good, provider: { type: "openai", baseUrl: "not a url" } },
      { ...good, baseEndpointId: "ep_missing" },
      { ...good, evaluate: { suites: ["no-such-suite"] } },
      { ...good, evaluate: { suites: ["safety"] } },
      { ...good, evaluate: { suites: ["safety"], judge: { endpointId: judge.id, rubric: "safety-v0" } } },
      { ...good, dataset: { ...good.dataset, critic: "ep_missing" } },
      { ...good, debug: { crashAfter: ["nowhere"] } },
    ];
    for (const body of bad) {
      const r = await api("POST", "/v1/training-jobs", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
    }
    expect((await rows("SELECT count(*) AS n FROM training_jobs"))[0].n).toBe(before);
  });
});
