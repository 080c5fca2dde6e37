/** @module test/integration/broad-scope: a broad member's trained categories are what its data covered, so its outside-scope effect is measured. */
import { describe, expect, it } from "vitest";
import { builtinPool } from "../../src/datasets/pool";
import { SAFETY_CATEGORIES } from "../../src/kinds/safety/format";
import { api, registerSim, uniqueTag, waitForRun } from "../helpers";

const poolCategories = () => (builtinPool().meta.categories as { id: string }[]).map((c) => c.id);

describe("broad scope", () => {
  it("defaults a broad member's trained categories to the training pool's, leaving categories outside its scope to measure", async () => {
    // The premise: the pool does not cover every safety category (if it ever does, broad means all of them).
    expect(poolCategories().length).toBeLessThan(SAFETY_CATEGORIES.length);
    const tag = uniqueTag("bs");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const broad = await registerSim(`broad-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology", logprobs: false });
    const exp = await api("POST", "/v1/experiments", {
      name: `broad-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: broad.id, constitution: "deontology", scope: "broad" }],
    });
    expect(exp.status, exp.text).toBe(201);
    expect([...exp.json.members[0].trainedCategories].sort()).toEqual([...poolCategories()].sort());

    const started = await api("POST", `/v1/experiments/${exp.json.id}/runs`, { judge: { endpointId: judge.id }, seed: 7, limit: 120 });
    expect(started.status, started.text).toBe(202);
    for (const r of started.json.runs) expect((await waitForRun(r.runId, 58_000)).status).toBe("completed");
    const report = (await api("GET", `/v1/experiments/${exp.json.id}/report`, undefined, { admin: false })).json;
    const effect = report.effects.find((e: any) => e.endpointId === broad.id);
    expect(effect.outsideScope.unavailable).toBeUndefined();
    expect(effect.outsideScope.n).toBeGreaterThan(0);

    // An explicit list still wins.
    const explicit = await api("POST", "/v1/experiments", {
      name: `broad2-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: broad.id, scope: "broad", trainedCategories: [...SAFETY_CATEGORIES] }],
    });
    expect(explicit.json.members[0].trainedCategories).toHaveLength(SAFETY_CATEGORIES.length);
  });
});
