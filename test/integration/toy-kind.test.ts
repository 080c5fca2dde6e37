/**
 * @module test/integration/toy-kind: adding a suite kind is one folder (test/fixtures/toy-kind) and one registry line;
 * the generic planner, consumer and metric layer then run it and report its metric everywhere.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { ensureSuiteVersion } from "../../src/db/queries/suites";
import { SUITE_KINDS } from "../../src/suites/kinds";
import { toyKind } from "../fixtures/toy-kind";
import { api, registerSim, startRun, uniqueTag, waitForRun } from "../helpers";

describe("a toy suite kind", () => {
  it("runs through the generic path and its metric appears in the run's metrics, report and exports", async () => {
    SUITE_KINDS.toy = toyKind; // the one registry line
    const tag = uniqueTag("toy");
    const items = Array.from({ length: 4 }, (_, i) => ({
      key: `q${i}`,
      dimension: "toy",
      keying: "",
      payload: { question: `Toy question ${i}: say anything.` },
    }));
    await ensureSuiteVersion(getDb(env.DB), { id: `toy-${tag}`, kind: "toy", title: "toy", source: "import", meta: {}, items });
    const ep = await registerSim(`toy-${tag}`, `base:tag=${tag}`);
    const run = await startRun({ endpointId: ep.id, suites: [`toy-${tag}`], samplesPerItem: 2, seed: 1 });
    expect((await waitForRun(run.id)).counts).toMatchObject({ expected: 8, done: 8 });
    const metrics = (await api("GET", `/v1/runs/${run.id}/metrics`, undefined, { admin: false })).json.metrics;
    expect(metrics.find((m: any) => m.id === "toy.answered")).toMatchObject({ kind: "toy", value: 1, n: 8, clusters: 4 });
    const report = (await api("GET", `/v1/runs/${run.id}/report`, undefined, { admin: false })).json;
    expect(report.metrics.find((m: any) => m.id === "toy.answered")).toMatchObject({ estimate: 1, n: 8 });
    const csv = await api("GET", `/v1/runs/${run.id}/metrics.csv`, undefined, { admin: false });
    expect(csv.text).toContain('"toy.answered"');
  });
});
