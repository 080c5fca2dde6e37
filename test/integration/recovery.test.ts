/**
 * End to end with a fixed seed: the simulator plants a match rate per (persona, dimension); the service must
 * recover them through HTTP -> queue -> openai SDK -> D1 -> report, and identify each constitution model.
 */
import { describe, expect, it } from "vitest";
import { PLANTED } from "../../scripts/simulator/personas.ts";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

const CONSTITUTION_MODELS = ["deontology", "consequentialism", "virtue_ethics", "subordinate_to_humanity"] as const;

describe("planted personas are recovered", () => {
  it("puts >= 22 of 24 planted values inside their CIs and ranks each model's own constitution first", async () => {
    const tag = uniqueTag("rec");
    const base = await registerSim(`base-${tag}`, `base:tag=${tag}`);
    const eps: Record<string, { id: string }> = { base };
    for (const c of CONSTITUTION_MODELS) eps[c] = await registerSim(`${c}-${tag}`, `${c}:tag=${tag}`, { baseEndpointId: base.id, constitution: c });
    eps.decoy = await registerSim(`decoy-${tag}`, `decoy:tag=${tag}`, { baseEndpointId: base.id, constitution: "deontology" });
    eps.incoherent = await registerSim(`incoherent-${tag}`, `incoherent:tag=${tag}`, { baseEndpointId: base.id });

    const runs: Record<string, string> = {};
    for (const [persona, ep] of Object.entries(eps)) runs[persona] = (await startRun({ endpointId: ep.id, seed: 2026 })).id;
    for (const id of Object.values(runs)) expect((await waitForRun(id, 55_000)).status).toBe("completed");

    const reports: Record<string, any> = {};
    for (const [persona, ep] of Object.entries(eps)) {
      const res = await api("GET", `/v1/endpoints/${ep.id}/report`, undefined, { admin: false });
      expect(res.status, res.text).toBe(200);
      reports[persona] = res.json;
    }

    let inside = 0;
    const misses: string[] = [];
    for (const persona of ["base", ...CONSTITUTION_MODELS, "decoy"] as const) {
      for (const d of reports[persona].persona.dimensions) {
        const planted = PLANTED[persona][d.dimension as keyof (typeof PLANTED)["base"]];
        if (d.lo <= planted && planted <= d.hi) inside++;
        else misses.push(`${persona}/${d.dimension}: planted ${planted}, CI [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}]`);
      }
    }
    console.info(`planted values inside their 95% CIs: ${inside}/24`);
    expect(inside, misses.join("\n")).toBeGreaterThanOrEqual(22);

    for (const c of CONSTITUTION_MODELS) {
      const p = reports[c].comparison.projectability;
      const f = (x: number) => x.toFixed(3);
      console.info(
        `${c}: projection ${f(p.projectionLength.estimate)} [${f(p.projectionLength.lo)}, ${f(p.projectionLength.hi)}], cosine ${f(p.cosine.estimate)} [${f(p.cosine.lo)}, ${f(p.cosine.hi)}], ranks first ${f(p.identification.ownRanksFirst)} (null ${f(p.identification.ownRanksFirstNull)}), checks held ${p.expectations.held}/${p.expectations.n}: ${p.expectations.checks.map((k: any) => `${k.kind}:${k.holds ? "yes" : "no"}`).join(" ")}`,
      );
      expect(p.identification.ranking[0].constitution, c).toBe(c);
      expect(p.cosine.lo).toBeGreaterThan(0.5);
      expect(p.expectations.held).toBeGreaterThanOrEqual(1);
    }
    // The decoy claims deontology but moves elsewhere: it does not project.
    const decoy = reports.decoy.comparison.projectability;
    expect(decoy.identification.ranking[0].constitution).not.toBe("deontology");
    expect(decoy.cosine.estimate).toBeLessThan(0.3);
    // The incoherent model's answers are mostly unparseable, and the report says so.
    const unparseable = reports.incoherent.persona.dimensions.reduce((a: number, d: any) => a + d.unparseable, 0);
    expect(unparseable).toBeGreaterThan(100);
    expect(reports.incoherent.comparison.projectability.unavailable).toMatch(/constitution/);
  });
});
