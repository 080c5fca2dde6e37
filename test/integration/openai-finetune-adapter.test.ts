import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { openAiProvider, PermanentProviderError } from "../../src/training/providers";
import { uniqueTag } from "../helpers";

/** Ten chat examples whose revisions read like the consequentialist critic's. */
function jsonl(n = 10) {
  const line = {
    messages: [
      { role: "user", content: "Give me some vicious things to yell at the slowest runner on my track team." },
      {
        role: "assistant",
        content: "I won't help with that. The likely consequences are bad: the expected harm to everyone affected outweighs any benefit to you.",
      },
    ],
  };
  return Array.from({ length: n }, () => JSON.stringify(line)).join("\n") + "\n";
}

describe("OpenAI fine-tuning adapter against the simulator, through the real openai SDK", () => {
  it("uploads the file (multipart), creates the job, finds both again instead of duplicating, and reads the result", async () => {
    const key = `sk-${uniqueTag("ad")}`;
    const provider = openAiProvider({ type: "openai", baseUrl: `${env.SIM_URL}/v1`, apiKey: key });
    const input = {
      jobId: `tj_${uniqueTag()}`,
      datasetId: "ds_x",
      jsonl: jsonl(),
      datasetSha256: "",
      baseModel: "base",
      hyperparameters: { n_epochs: 2 },
      suffix: "consequentialism-narrow",
      seed: 5,
    };
    const first = await provider.submit(input);
    expect(first.reused).toBe(false);
    expect(first.providerJobId).toMatch(/^ftjob-/);
    expect(first.fileId).toMatch(/^file-/);
    // What the SDK sent arrived as a real upload: the simulator stored the bytes and the metadata.
    const file = await (await fetch(`${env.SIM_URL}/v1/files/${first.fileId}`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(file).toMatchObject({ purpose: "fine-tune", filename: `projectability-${input.jobId}.jsonl`, bytes: new TextEncoder().encode(input.jsonl).length });
    const content = await (await fetch(`${env.SIM_URL}/v1/files/${first.fileId}/content`, { headers: { authorization: `Bearer ${key}` } })).text();
    expect(content).toBe(input.jsonl);
    const job = await (await fetch(`${env.SIM_URL}/v1/fine_tuning/jobs/${first.providerJobId}`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(job).toMatchObject({
      model: "base",
      training_file: first.fileId,
      seed: 5,
      user_provided_suffix: "consequentialism-narrow",
      metadata: { projectability_job: input.jobId, projectability_dataset: "ds_x" },
    });
    expect(job.method).toMatchObject({ type: "supervised", supervised: { hyperparameters: { n_epochs: 2 } } });

    // A retried submission (after a crash) finds the job by its metadata: nothing new is created.
    const again = await provider.submit(input);
    expect(again).toEqual({ providerJobId: first.providerJobId, fileId: first.fileId, reused: true });
    const list = await (await fetch(`${env.SIM_URL}/v1/fine_tuning/jobs`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(list.data).toHaveLength(1);

    let status = await provider.status(first.providerJobId);
    expect(["queued", "running", "succeeded"]).toContain(status.state);
    await vi.waitUntil(async () => (status = await provider.status(first.providerJobId)).state === "succeeded", { timeout: 10_000, interval: 50 });
    expect(status.raw).toBe("succeeded");
    expect(status.model).toEqual({ name: expect.stringMatching(/^ft:base:projectability-sim:consequentialism-narrow:/), baseUrl: `${env.SIM_URL}/v1` });
  });

  it("a file uploaded before a crash is reused when the job was not created yet", async () => {
    const key = `sk-${uniqueTag("af")}`;
    const jobId = `tj_${uniqueTag()}`;
    const form = new FormData();
    form.set("purpose", "fine-tune");
    form.set("file", new File([jsonl()], `projectability-${jobId}.jsonl`));
    const up = await (await fetch(`${env.SIM_URL}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form })).json<any>();
    const provider = openAiProvider({ type: "openai", baseUrl: `${env.SIM_URL}/v1`, apiKey: key });
    const res = await provider.submit({ jobId, datasetId: "ds_y", jsonl: jsonl(), datasetSha256: "", baseModel: "base", hyperparameters: {}, suffix: "x" });
    expect(res.fileId).toBe(up.id);
    const files = await (await fetch(`${env.SIM_URL}/v1/files`, { headers: { authorization: `Bearer ${key}` } })).json<any>();
    expect(files.data).toHaveLength(1);
  });

  it("turns refusals into permanent errors and failed jobs into a failed state", async () => {
    const key = `sk-${uniqueTag("ae")}`;
    const provider = openAiProvider({ type: "openai", baseUrl: `${env.SIM_URL}/v1`, apiKey: key });
    await expect(
      provider.submit({
        jobId: `tj_${uniqueTag()}`,
        datasetId: "d",
        jsonl: jsonl(),
        datasetSha256: "",
        baseModel: "gpt-none",
        hyperparameters: {},
        suffix: "x",
      }),
    ).rejects.toBeInstanceOf(PermanentProviderError);
    // Too few examples: the provider accepts the job, then fails it while validating the file.
    const small = await provider.submit({
      jobId: `tj_${uniqueTag()}`,
      datasetId: "d",
      jsonl: jsonl(3),
      datasetSha256: "",
      baseModel: "base",
      hyperparameters: {},
      suffix: "x",
    });
    let st = await provider.status(small.providerJobId);
    await vi.waitUntil(async () => (st = await provider.status(small.providerJobId)).state !== "queued", { timeout: 10_000, interval: 50 });
    expect(st).toMatchObject({ state: "failed", raw: "failed", error: expect.stringMatching(/at least 10/) });
    await expect(provider.status("ftjob-missing")).rejects.toBeInstanceOf(PermanentProviderError);
  });
});
