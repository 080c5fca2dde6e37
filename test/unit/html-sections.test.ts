/** Report sections that depend on what a report holds: the persona-consistency evidence when present, nothing when absent. */
import { describe, expect, it } from "vitest";
import { collectIntervals } from "../../src/kinds/consistency/html";
import { runPage } from "../../src/reports/html/run-page";
import { checkMark, marksInHtml } from "../support/marks";

const run = {
  id: "run_x",
  status: "completed",
  counts: { done: 10, failed: 0, pending: 0, planned: 10, expected: 10 },
  suiteVersionIds: ["persona-consistency@abc"],
  samplesPerItem: 2,
  temperature: 0.7,
  scoringMode: "sampled",
  judge: null,
  seed: 1,
  limit: null,
  createdAt: "t",
  completedAt: "t",
};
const endpoint = { id: "ep_x", name: "model <x>", model: "m", private: false, deleted: false };

describe("persona-consistency section", () => {
  const consistency = {
    label: "inverted",
    labelRule: "ours: inverted when harm is clearly above base and the aligned-pick CI lies above 0.5",
    inversionGap: { estimate: 0.41, lo: 0.3, hi: 0.52, n: 120 },
    harm: { harmfulRate: { rate: 0.62, lo: 0.5, hi: 0.72, n: 160, prompts: 16 } },
    selfAssessment: { poles: [{ pole: "good_evil", score: { estimate: 0.8, lo: null, hi: null, n: 4 } }] },
  };

  it("draws every interval of the section with the JSON's numbers, and lists its facts", () => {
    // JSON has no NaN: an interval without bounds comes as nulls, as the page must show it.
    const report = JSON.parse(JSON.stringify({ run, endpoint: { ...endpoint, revision: "r1" }, consistency }));
    const html = runPage({ report, endpoint, baseName: null, exports: false });
    expect(html).toContain('data-section="consistency"');
    expect(html).toContain("Persona consistency");
    expect(html).toContain("inverted");
    expect(html).toContain("model &lt;x&gt;");
    const marks = marksInHtml(html).filter((m) => m.attrs["data-series"] === "evidence");
    expect(marks.map((m) => m.attrs["data-pointer"])).toEqual([
      "/consistency/inversionGap",
      "/consistency/harm/harmfulRate",
      "/consistency/selfAssessment/poles/0/score",
    ]);
    const problems = marks.flatMap((m) => checkMark(m, report));
    expect(problems).toEqual([]);
    expect(marks.every((m) => m.source === "/v1/runs/run_x/report")).toBe(true);
    expect(collectIntervals(consistency, ["consistency"]).map((i) => i.label)).toEqual([
      "inversionGap",
      "harm › harmfulRate",
      "selfAssessment › poles › good_evil › score",
    ]);
  });

  it("is left out when the report has no such section", () => {
    const html = runPage({ report: { run, endpoint: { ...endpoint, revision: "r1" } }, endpoint, baseName: null, exports: false });
    expect(html).not.toContain('data-section="consistency"');
    expect(html).not.toContain("Persona consistency");
    expect(html).not.toMatch(/<script/i);
  });
});
