/**
 * End to end: a narrowly safety-trained model that also gets safer on categories it never saw is reported as
 * emergent alignment; one that improves only where it was trained is not.
 */
import { describe, expect, it } from "vitest";
import { ExperimentReport } from "../../src/reports/schemas/experiment";
import { api, registerSim, uniqueTag, waitForRun } from "../helpers";
import { responseMismatches } from "../support/declared";

describe("emergent-alignment experiment", () => {
  it("labels generalising narrow training as emergent alignment, and local-only training not", async () => {
    const tag = uniqueTag("exp");
    const judge = await registerSim(`judge-${tag}`, `judge:tag=${tag}`, { logprobs: false });
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`, { logprobs: false });
    const deon1 = await registerSim(`deon1-${tag}`, `deontology:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology", logprobs: false });
    const deon2 = await registerSim(`deon2-${tag}`, `deontology:refusal=-0.05,tag=${tag}`, {
      baseEndpointId: base.id,
      constitution: "deontology",
      logprobs: false,
    });
    const local = await registerSim(`local-${tag}`, `narrow_local:tag=${tag}`, { baseEndpointId: base.id, logprobs: false });

    const bad = await api("POST", "/v1/experiments", {
      name: `x-${tag}`,
      baseEndpointId: base.id,
      members: [{ endpointId: local.id, scope: "narrow", trainedCategories: ["nope"] }],
    });
    expect(bad.status).toBe(400);

    const exp = await api("POST", "/v1/experiments", {
      name: `narrow-${tag}`,
      baseEndpointId: base.id,
      members: [
        { endpointId: deon1.id, constitution: "deontology", scope: "narrow", replicate: 1 },
        { endpointId: deon2.id, constitution: "deontology", scope: "narrow", replicate: 2 },
        { endpointId: local.id, scope: "narrow", arm: "local-only" },
      ],
    });
    expect(exp.status, exp.text).toBe(201);
    expect(responseMismatches("POST", "/v1/experiments", 201, exp.json)).toEqual([]);
    for (const path of ["/v1/experiments", `/v1/experiments/${exp.json.id}`]) {
      const read = await api("GET", path);
      expect(responseMismatches("GET", path, 200, read.json), path).toEqual([]);
    }
    expect(exp.json.members[0].trainedCategories).toEqual(["harassment_bullying", "illegal_activities"]);

    const started = await api("POST", `/v1/experiments/${exp.json.id}/runs`, { judge: { endpointId: judge.id }, seed: 2026 });
    expect(started.status, started.text).toBe(202);
    expect(responseMismatches("POST", `/v1/experiments/${exp.json.id}/runs`, 202, started.json)).toEqual([]);
    expect(started.json.runs).toHaveLength(4);
    for (const r of started.json.runs) expect((await waitForRun(r.runId, 58_000)).status).toBe("completed");

    // The body is the declared OpenAPI response schema, strictly (the safety matrix and effects included).
    const report = ExperimentReport.parse((await api("GET", `/v1/experiments/${exp.json.id}/report`, undefined, { admin: false })).json) as any;
    expect(report.matrix).toHaveLength(4);
    expect(report.categories).toHaveLength(10);
    for (const row of report.matrix) for (const c of row.categories) expect(c.n).toBeGreaterThanOrEqual(36);

    const byName = Object.fromEntries(report.effects.map((e: any) => [e.name, e]));
    const generalising = byName[`deon1-${tag}`];
    expect(generalising.outsideScope.diff).toBeGreaterThan(0.2);
    expect(generalising.outsideScope.test).toMatch(/McNemar/);
    expect(generalising.heldOut.pHolm).toBeLessThan(0.05);
    expect(generalising.label).toBe("emergent alignment");
    expect(byName[`deon2-${tag}`].label).toBe("emergent alignment");

    const localOnly = byName[`local-${tag}`];
    expect(localOnly.all.diff).toBeGreaterThan(0);
    const trainedDiffs = localOnly.perCategory.filter((c: any) => c.trained).map((c: any) => c.diff);
    expect(trainedDiffs).toHaveLength(2);
    expect((trainedDiffs[0] + trainedDiffs[1]) / 2).toBeGreaterThan(0.1);
    expect(localOnly.label).toBe("no emergent alignment shown");
    expect(Math.abs(localOnly.outsideScope.diff)).toBeLessThan(0.1);

    // Two replicates of the deontology arm: the interval over finetuning runs sits beside the item-level one.
    const arm = report.arms.find((a: any) => a.arm === "deontology/narrow");
    expect(arm.replicates).toBe(2);
    expect(arm.outsideScope.method).toMatch(/replicate/);
    expect(report.arms.find((a: any) => a.arm === "local-only").outsideScope).toBeNull();

    const text = await api("GET", `/v1/experiments/${exp.json.id}/report?format=text`, undefined, { admin: false });
    expect(text.headers.get("content-type")).toMatch(/text\/plain/);
    expect(text.text).toContain("harassment_bullying");
    expect(text.text).toContain("emergent alignment");
  });
});
