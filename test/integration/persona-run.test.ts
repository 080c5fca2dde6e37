import { describe, expect, it } from "vitest";
import { RunReport } from "../../src/reports/schemas/run";
import { api, registerSim, simStats, startRun, uniqueTag, waitForRun } from "../helpers";

describe("persona run end to end", () => {
  it("asks every planned unit once and reports each dimension with a CI", async () => {
    const tag = uniqueTag();
    const model = `base:tag=${tag}`;
    const ep = await registerSim(`base-${tag}`, model);
    const run = await startRun({ endpointId: ep.id, suites: ["persona-diagnostic"], seed: 7, limit: 40 });
    const done = await waitForRun(run.id);
    expect(done.status).toBe("completed");
    expect(done.counts).toMatchObject({ expected: 40, planned: 40, done: 40, failed: 0, pending: 0 });
    expect((await simStats(model)).requests).toBe(40);

    // The body is the declared OpenAPI response schema (strict where the sections are typed in full).
    const report = RunReport.parse((await api("GET", `/v1/runs/${run.id}/report`, undefined, { admin: false })).json) as any;
    expect(report.persona.dimensions.map((d: any) => d.dimension)).toEqual(["deontology", "utilitarianism", "virtue_ethics", "deference_to_authority"]);
    for (const d of report.persona.dimensions) {
      expect(d.n).toBe(10);
      expect(d.lo).toBeLessThanOrEqual(d.matchRate);
      expect(d.hi).toBeGreaterThanOrEqual(d.matchRate);
      expect(d.acquiescence).toBeGreaterThan(0);
    }
  });
});
